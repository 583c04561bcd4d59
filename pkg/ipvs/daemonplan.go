package ipvs

import (
	"context"
	"errors"
	"fmt"

	"github.com/lvs-rs/lvs-rs/internal/faultinject"
	"golang.org/x/sys/unix"
)

// DaemonChangeKind says what a DaemonChange does.
type DaemonChangeKind int

// Sync daemon changes.
const (
	DaemonStop  DaemonChangeKind = iota + 1 // stop the daemon in Daemon.State
	DaemonStart                             // start Daemon
)

// String returns "stop" or "start".
func (k DaemonChangeKind) String() string {
	if k == DaemonStop {
		return "stop"
	}
	return "start"
}

// DaemonChange is one step of a sync daemon plan.
type DaemonChange struct {
	Kind   DaemonChangeKind
	Daemon Daemon
}

// String renders "stop sync daemon master on eth1 syncid 1".
func (c DaemonChange) String() string { return fmt.Sprintf("%s sync daemon %v", c.Kind, c.Daemon) }

// PlanDaemons returns the changes that turn the running daemons observed
// into desired: a running daemon whose state is not desired is stopped;
// one that does not satisfy the desired daemon of its state is stopped and
// started again (the kernel cannot edit a running daemon); a missing one
// is started. Stops come first, then starts, master before backup. Of two
// desired daemons with the same state the first counts.
//
// Every observed daemon is the caller's to stop: pass only the daemons
// lvs-rs owns (on stop, desired is what ran before lvs-rs started, often
// nothing).
func PlanDaemons(desired, observed []Daemon) []DaemonChange {
	var stops, starts []DaemonChange
	for _, st := range []DaemonState{DaemonMaster, DaemonBackup} {
		want, wok := daemonIn(desired, st)
		have, hok := daemonIn(observed, st)
		switch {
		case hok && wok && want.Satisfies(have):
		case hok && wok:
			stops = append(stops, DaemonChange{Kind: DaemonStop, Daemon: have})
			starts = append(starts, DaemonChange{Kind: DaemonStart, Daemon: want})
		case hok:
			stops = append(stops, DaemonChange{Kind: DaemonStop, Daemon: have})
		case wok:
			starts = append(starts, DaemonChange{Kind: DaemonStart, Daemon: want})
		}
	}
	return append(stops, starts...)
}

// daemonIn returns the first daemon of ds in state st.
func daemonIn(ds []Daemon, st DaemonState) (Daemon, bool) {
	for _, d := range ds {
		if d.State == st {
			return d, true
		}
	}
	return Daemon{}, false
}

// DaemonKernel is what ApplyDaemons needs from the kernel; *Client
// implements it.
type DaemonKernel interface {
	NewDaemon(ctx context.Context, d Daemon) error
	DeleteDaemon(ctx context.Context, s DaemonState) error
}

// ApplyDaemons performs changes in order, each one kernel write, and
// stops at the first failure. Stopping a daemon that no longer runs
// (ESRCH) succeeds.
func ApplyDaemons(ctx context.Context, k DaemonKernel, changes []DaemonChange) error {
	for _, c := range changes {
		err := faultinject.Write(c.String(), func() error {
			if c.Kind == DaemonStop {
				return k.DeleteDaemon(ctx, c.Daemon.State)
			}
			return k.NewDaemon(ctx, c.Daemon)
		})
		if c.Kind == DaemonStop && errors.Is(err, unix.ESRCH) {
			err = nil
		}
		if err != nil {
			return fmt.Errorf("%v: %w", c, err)
		}
	}
	return nil
}
