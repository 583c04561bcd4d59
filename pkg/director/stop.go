package director

import (
	"context"
	"errors"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/state"
)

// Stop removes what the state record says lvs-rs created: its real
// servers and services (a service that holds real servers someone else
// added stays, with a warning), its VIPs, and restores the sysctls it
// changed unless they were changed since (a warning). It needs no config.
// Nothing applied is success with no changes. It continues past a failure
// and returns every error joined; what could not be removed stays recorded.
func Stop(ctx context.Context, o Options) (Result, error) {
	store := state.Store{Dir: o.StateDir}
	rec, found, err := loadRecord(store)
	if err != nil || !found {
		return Result{}, err
	}
	owned := rec.owned()
	var k Kernel
	if len(owned.Services) > 0 {
		kk, _, closeK, err := openKernel(ctx, o, false)
		switch {
		case errors.Is(err, ErrNoIPVS):
			// No IPVS in the kernel: none of lvs-rs's services exist.
		case err != nil:
			return Result{}, err
		default:
			defer closeK()
			k = kk
		}
	}
	h, closeH, err := handle(o)
	if err != nil {
		return Result{}, err
	}
	defer closeH()
	tree := o.sysctl()
	obs, err := observe(k, h, tree, "", owned, false)
	if err != nil {
		return Result{}, err
	}
	d := DesiredFrom(nil)
	changes := plan(d, obs, owned)
	if o.DryRun {
		return dryRun(changes), nil
	}
	var errs []error
	if len(changes) > 0 {
		errs = executor{k: k, h: h, tree: tree, keepGoing: true}.apply(ctx, changes)
	}
	res, err := outcome(changes, errs)
	left := settle(owned, obs, d, changes, errs)
	if left.empty() {
		err = errors.Join(err, store.Remove(Role))
	} else {
		err = errors.Join(err, store.Save(Role, recordOf(rec.Applied, left)))
	}
	return res, err
}

// dryRun is the Result of a plan that is not applied.
func dryRun(changes []Change) Result {
	res := Result{Changes: changes}
	for _, c := range changes {
		if !c.Writes() {
			res.Warnings = append(res.Warnings, c.String())
		}
	}
	return res
}

var _ Kernel = (*ipvs.Client)(nil)
