package director

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/state"
)

// Start converges the director to cfg: VIPs on cfg.Director.Interface,
// ip_forward, and the virtual services with their real servers, edited in
// place where they differ. IPVS availability is checked before any change
// (an error wrapping ErrNoIPVS); a service the config names that exists
// but is not lvs-rs's stops it before any change (ErrForeignService). On a
// failure midway the error names the object and errno, and the state
// records everything created so far: a rerun converges, stop removes it.
func Start(ctx context.Context, cfg *config.Config, o Options) (Result, error) {
	if cfg == nil {
		return Result{}, errors.New("director: start: no configuration")
	}
	if cfg.Director.Interface == "" && len(cfg.VirtualServers) > 0 {
		return Result{}, errors.New("director: start: director.interface is not set")
	}
	store := state.Store{Dir: o.StateDir}
	rec, _, err := loadRecord(store)
	if err != nil {
		return Result{}, err
	}
	owned := rec.owned()
	var warnings []string
	k, _, closeK, err := openKernel(ctx, o, !o.DryRun)
	switch {
	case o.DryRun && errors.Is(err, ErrNoIPVS):
		// A dry run loads no module: plan against the empty table that
		// loading ip_vs would give.
		warnings = append(warnings, "IPVS is not loaded: start will load module ip_vs (modprobe ip_vs)")
	case err != nil:
		return Result{}, err
	default:
		defer closeK()
	}
	h, closeH, err := handle(o)
	if err != nil {
		return Result{}, err
	}
	defer closeH()
	tree := o.sysctl()
	obs, err := observe(k, h, tree, cfg.Director.Interface, owned, true)
	if err != nil {
		return Result{}, err
	}
	if c := Conflicts(cfg, obs, owned); len(c) > 0 {
		names := make([]string, len(c))
		for i, k := range c {
			names[i] = k.String()
		}
		return Result{}, fmt.Errorf("director: %s: %w: refusing to take it over (delete it by hand, or drop it from the config)",
			strings.Join(names, ", "), ErrForeignService)
	}
	d := DesiredFrom(cfg)
	changes := plan(d, obs, owned)
	if o.DryRun {
		res := dryRun(changes)
		res.Warnings = append(warnings, res.Warnings...)
		return res, nil
	}
	if len(changes) == 0 {
		// Nothing to change in the kernel; keep the record in step with
		// the config (it is what status compares against).
		next := recordOf(cfg, settle(owned, obs, d, nil, nil))
		if !sameRecord(next, rec) {
			if err := store.Save(Role, next); err != nil {
				return Result{}, err
			}
		}
		return Result{}, nil
	}
	if err := store.Save(Role, recordOf(cfg, intents(owned, changes))); err != nil {
		return Result{}, err
	}
	errs := executor{k: k, h: h, tree: tree}.apply(ctx, changes)
	res, err := outcome(changes, errs)
	if serr := store.Save(Role, recordOf(cfg, settle(owned, obs, d, changes, errs))); serr != nil {
		err = errors.Join(err, serr)
	}
	return res, err
}
