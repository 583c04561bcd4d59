package director

import (
	"context"
	"errors"
	"io/fs"
	"slices"

	"github.com/lvs-rs/lvs-rs/internal/faultinject"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

// Settings are IPVS's host-wide settings: the connection timeouts
// (IPVS_CMD_GET_CONFIG/SET_CONFIG) and the connection sync daemons
// (IPVS_CMD_GET/NEW/DEL_DAEMON). *ipvs.Client implements it. The host's
// kernel bounds each call by netlinkTimeout, which ends the wait for the
// client and for the kernel's answers but not a request the kernel is
// still handling: Linux 6.1 may block a DEL_DAEMON that comes right after
// the daemon's start for good, inside sendmsg, and that call never
// returns; later calls on the client end at their deadline instead of
// waiting behind it.
type Settings interface {
	Timeouts(ctx context.Context) (ipvs.Timeouts, error)
	// SetTimeouts writes the non-zero fields.
	SetTimeouts(ctx context.Context, t ipvs.Timeouts) error
	Daemons(ctx context.Context) ([]ipvs.Daemon, error)
	NewDaemon(ctx context.Context, d ipvs.Daemon) error
	// DeleteDaemon stops the daemon in state s; ESRCH when none runs.
	DeleteDaemon(ctx context.Context, s ipvs.DaemonState) error
}

var _ Settings = (*ipvs.Client)(nil)

// settings returns the host's IPVS as Settings: nil without IPVS, or
// when the IPVS given in Options does not implement them.
func (k hostKernel) settings() Settings {
	s, _ := k.ipvs.(Settings)
	return s
}

// noSettings is the error of a write to settings that are not there.
func (k hostKernel) noSettings() error {
	if k.ipvs == nil {
		return ErrNoIPVS
	}
	return errors.New("director: the IPVS client in use cannot set timeouts or sync daemons")
}

// Timeouts without IPVS are zero (unknown).
func (k hostKernel) Timeouts(ctx context.Context) (ipvs.Timeouts, error) {
	if s := k.settings(); s != nil {
		ctx, cancel := context.WithTimeout(ctx, netlinkTimeout)
		defer cancel()
		return s.Timeouts(ctx)
	}
	return ipvs.Timeouts{}, nil
}

func (k hostKernel) SetTimeouts(ctx context.Context, t ipvs.Timeouts) error {
	s := k.settings()
	if s == nil {
		return k.noSettings()
	}
	ctx, cancel := context.WithTimeout(ctx, netlinkTimeout)
	defer cancel()
	return faultinject.Write("ipvs: set timeouts "+t.String(), func() error { return s.SetTimeouts(ctx, t) })
}

// Daemons without IPVS: none runs.
func (k hostKernel) Daemons(ctx context.Context) ([]ipvs.Daemon, error) {
	if s := k.settings(); s != nil {
		ctx, cancel := context.WithTimeout(ctx, netlinkTimeout)
		defer cancel()
		return s.Daemons(ctx)
	}
	return nil, nil
}

func (k hostKernel) NewDaemon(ctx context.Context, d ipvs.Daemon) error {
	s := k.settings()
	if s == nil {
		return k.noSettings()
	}
	ctx, cancel := context.WithTimeout(ctx, netlinkTimeout)
	defer cancel()
	return faultinject.Write("start sync daemon "+d.String(), func() error { return s.NewDaemon(ctx, d) })
}

func (k hostKernel) DeleteDaemon(ctx context.Context, st ipvs.DaemonState) error {
	s := k.settings()
	if s == nil {
		return nil // no IPVS, no daemon
	}
	ctx, cancel := context.WithTimeout(ctx, netlinkTimeout)
	defer cancel()
	return faultinject.Write("stop sync daemon "+st.String(), func() error { return s.DeleteDaemon(ctx, st) })
}

// observeSettings reads the sysctls, timeouts and sync daemons that d
// wants or owned records (and, before lvs-rs turns IPv6 forwarding on,
// every device's accept_ra); nothing else, so a director without them
// pays no read.
func observeSettings(ctx context.Context, k Kernel, d Desired, owned Owned, obs *Observed) error {
	obs.Sysctls = map[string]string{}
	var keys []string
	for _, w := range d.Sysctls {
		keys = append(keys, w.Key)
	}
	for _, r := range owned.Sysctls {
		keys = append(keys, r.Key)
	}
	slices.Sort(keys)
	for _, key := range slices.Compact(keys) {
		v, err := k.Sysctl(sysctl.ParseKey(key))
		if errors.Is(err, fs.ErrNotExist) {
			continue // its device is gone
		}
		if err != nil {
			return err
		}
		obs.Sysctls[key] = v
	}
	if err := observeAcceptRA(k, d, obs); err != nil {
		return err
	}
	if d.Timeouts != (ipvs.Timeouts{}) || len(owned.Timeouts) > 0 {
		t, err := k.Timeouts(ctx)
		if err != nil {
			return err
		}
		obs.Timeouts = t
	}
	if len(d.Sync) > 0 || len(owned.Daemons) > 0 {
		ds, err := k.Daemons(ctx)
		if err != nil {
			return err
		}
		obs.Daemons = ds
	}
	return nil
}
