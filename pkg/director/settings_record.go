package director

import (
	"cmp"
	"slices"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

// takeSetting records what a timeout or sync change makes lvs-rs's.
func (o *Owned) takeSetting(c Change) {
	switch c.Kind {
	case SetTimeout:
		o.Timeouts = slices.DeleteFunc(o.Timeouts, func(r TimeoutRecord) bool { return r.Name == c.Timeout().Name })
		o.Timeouts = append(o.Timeouts, c.Timeout())
	case StartSync:
		o.Daemons = slices.DeleteFunc(o.Daemons, func(d ipvs.Daemon) bool { return d.State == c.Daemon().State })
		o.Daemons = append(o.Daemons, c.Daemon())
	case RestartSync:
		// The daemon running stays lvs-rs's until it is read back gone:
		// a crash or a failed stop between here and its replacement's
		// start must leave it stoppable.
		o.Daemons = slices.DeleteFunc(o.Daemons, func(d ipvs.Daemon) bool {
			return d.State == c.Daemon().State && !d.Satisfies(c.FromDaemon())
		})
		o.Daemons = append(o.Daemons, c.Daemon())
	}
}

// sortedSettings returns o's timeouts and daemons in a stable order
// (timeoutNames, then master before backup, a daemon being restarted
// before its replacement), for the record.
func sortedSettings(o Owned) ([]TimeoutRecord, []ipvs.Daemon) {
	ts, ds := slices.Clone(o.Timeouts), slices.Clone(o.Daemons)
	slices.SortFunc(ts, func(a, b TimeoutRecord) int {
		return cmp.Compare(slices.Index(timeoutNames, a.Name), slices.Index(timeoutNames, b.Name))
	})
	slices.SortStableFunc(ds, func(a, b ipvs.Daemon) int { return cmp.Compare(a.State, b.State) })
	return ts, ds
}

// settleSettings keeps of intended's sysctls and timeouts those holding
// a value lvs-rs wrote, recording that value as the one written (a sysctl
// whose file is gone with its device has nothing to restore), and the
// daemons running as lvs-rs started them.
func settleSettings(intended Owned, after Observed) ([]sysctl.Record, []TimeoutRecord, []ipvs.Daemon) {
	var ss []sysctl.Record
	for _, r := range intended.Sysctls {
		if v, ok := after.Sysctls[r.Key]; ok && r.Holds(v) {
			ss = append(ss, r.Settled(v))
		}
	}
	var ts []TimeoutRecord
	for _, r := range intended.Timeouts {
		if v := timeoutOf(after.Timeouts, r.Name); r.holds(v) {
			r.Wrote, r.Was = v, 0
			ts = append(ts, r)
		}
	}
	var ds []ipvs.Daemon
	for _, d := range intended.Daemons {
		have, ok := daemonIn(after.Daemons, d.State)
		if _, dup := daemonIn(ds, d.State); ok && !dup && d.Satisfies(have) {
			ds = append(ds, d)
		}
	}
	return ss, ts, ds
}
