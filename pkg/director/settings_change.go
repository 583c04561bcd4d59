package director

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// settingString renders a timeout or sync change as one line.
func (c Change) settingString() string {
	t := c.Timeout()
	switch c.Kind {
	case SetTimeout:
		return fmt.Sprintf("set ipvs timeout %s=%ds (was %ds)", t.Name, t.Wrote, c.TimeoutNow())
	case RestoreTimeout:
		return fmt.Sprintf("restore ipvs timeout %s=%ds", t.Name, t.Prior)
	case LeaveTimeout:
		return fmt.Sprintf("leave ipvs timeout %s=%ds: changed since lvs-rs set it to %ds (it was %ds); not restored",
			t.Name, c.TimeoutNow(), t.Wrote, t.Prior)
	case StartSync:
		if c.FromDaemon().State != 0 {
			return fmt.Sprintf("start sync daemon %v (%v runs and was not started by lvs-rs)", c.Daemon(), c.FromDaemon())
		}
		return fmt.Sprintf("start sync daemon %v", c.Daemon())
	case RestartSync:
		return fmt.Sprintf("restart sync daemon %v as %v", c.FromDaemon(), c.Daemon())
	case StopSync:
		return fmt.Sprintf("stop sync daemon %v", c.Daemon())
	case LeaveSync:
		return fmt.Sprintf("leave sync daemon %v: lvs-rs started %v, replaced since; not stopped", c.FromDaemon(), c.Daemon())
	}
	return string(c.Kind)
}

// settingDrift renders the difference a timeout or sync change would
// repair, for status.
func (c Change) settingDrift() string {
	t := c.Timeout()
	switch c.Kind {
	case SetTimeout:
		return fmt.Sprintf("ipvs timeout %s is %ds, want %ds", t.Name, c.TimeoutNow(), t.Wrote)
	case RestoreTimeout:
		return fmt.Sprintf("ipvs timeout %s was set to %ds by lvs-rs and is no longer wanted (prior %ds)", t.Name, t.Wrote, t.Prior)
	case LeaveTimeout:
		return fmt.Sprintf("ipvs timeout %s is %ds: changed since lvs-rs set it to %ds", t.Name, c.TimeoutNow(), t.Wrote)
	case StartSync:
		if c.FromDaemon().State != 0 {
			return fmt.Sprintf("sync daemon %v is not running: %v runs instead, not started by lvs-rs", c.Daemon(), c.FromDaemon())
		}
		return fmt.Sprintf("sync daemon %v is not running", c.Daemon())
	case RestartSync:
		return fmt.Sprintf("sync daemon %s runs as %v, want %v", c.Daemon().State, c.FromDaemon(), c.Daemon())
	case StopSync:
		return fmt.Sprintf("sync daemon %v was started by lvs-rs and is no longer configured", c.Daemon())
	case LeaveSync:
		return fmt.Sprintf("sync daemon %v was started by lvs-rs as %v and replaced since", c.FromDaemon(), c.Daemon())
	}
	return string(c.Kind)
}

// setting applies a timeout or sync change. Stopping a daemon that no
// longer runs (ESRCH) succeeds.
func (e executor) setting(ctx context.Context, c Change) error {
	switch c.Kind {
	case SetTimeout:
		return e.k.SetTimeouts(ctx, timeoutsWith(c.Timeout().Name, c.Timeout().Wrote))
	case RestoreTimeout:
		return e.k.SetTimeouts(ctx, timeoutsWith(c.Timeout().Name, c.Timeout().Prior))
	case StartSync:
		return e.k.NewDaemon(ctx, c.Daemon())
	case RestartSync:
		if err := e.stopDaemon(ctx, c); err != nil {
			return err
		}
		return e.k.NewDaemon(ctx, c.Daemon())
	case StopSync:
		return e.stopDaemon(ctx, c)
	case LeaveTimeout, LeaveSync:
		return nil
	}
	return errors.New("director: unknown change " + string(c.Kind))
}

// stopDaemon stops the daemon in c.Daemon()'s state; none running is done.
func (e executor) stopDaemon(ctx context.Context, c Change) error {
	if err := e.k.DeleteDaemon(ctx, c.Daemon().State); err != nil && !errors.Is(err, unix.ESRCH) {
		return err
	}
	return nil
}
