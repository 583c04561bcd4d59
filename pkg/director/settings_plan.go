package director

import (
	"cmp"
	"slices"
	"time"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

// TimeoutRecord is what lvs-rs remembers about an IPVS timeout it
// changed: the value found before its first write and the value it wrote,
// in seconds. Stop restores Prior only while the kernel still holds Wrote
// (or Was: as sysctl.Record's, set only before a new value is written
// over one lvs-rs wrote, until it is read back).
type TimeoutRecord struct {
	Name  string `json:"name"` // "tcp", "tcp_fin" or "udp"
	Prior uint32 `json:"prior"`
	Wrote uint32 `json:"wrote"`
	Was   uint32 `json:"was,omitempty"`
}

// holds reports whether sec is a value lvs-rs wrote: Wrote, or Was while
// a write is under way.
func (r TimeoutRecord) holds(sec uint32) bool {
	return sec == r.Wrote || r.Was != 0 && sec == r.Was
}

// timeoutNames are the IPVS timeouts, in the order plans handle them.
var timeoutNames = []string{"tcp", "tcp_fin", "udp"}

// timeoutOf returns the timeout called name in t, in whole seconds.
func timeoutOf(t ipvs.Timeouts, name string) uint32 {
	var d time.Duration
	switch name {
	case "tcp":
		d = t.TCP
	case "tcp_fin":
		d = t.TCPFin
	case "udp":
		d = t.UDP
	}
	return uint32(d / time.Second)
}

// timeoutsWith returns the Timeouts that set name alone to sec seconds.
func timeoutsWith(name string, sec uint32) ipvs.Timeouts {
	d := time.Duration(sec) * time.Second
	switch name {
	case "tcp":
		return ipvs.Timeouts{TCP: d}
	case "tcp_fin":
		return ipvs.Timeouts{TCPFin: d}
	}
	return ipvs.Timeouts{UDP: d}
}

// planSettings plans the host-wide settings: sysctls and timeouts to set,
// sync daemons to start (in the first phase), and in the last phase the
// daemons to stop, then the timeouts and sysctls to restore.
func planSettings(out *[phases][]Change, d Desired, obs Observed, owned Owned) {
	var sys, tmo [phases][]Change
	planSysctls(&sys, d, obs, owned)
	planTimeouts(&tmo, d, obs, owned)
	out[phaseSysctlSet] = concat(out[phaseSysctlSet], sys[phaseSysctlSet], tmo[phaseSysctlSet], planSync(d, obs, owned))
	out[phaseSysctlRestore] = concat(out[phaseSysctlRestore], planSyncStops(d, obs, owned), tmo[phaseSysctlRestore], sys[phaseSysctlRestore])
}

// concat appends the lists to out.
func concat(out []Change, lists ...[]Change) []Change {
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// planSysctls sets each wanted parameter that differs (recording the value
// found, or the prior already recorded) and restores each recorded one no
// longer wanted while it holds what lvs-rs wrote, in key order; the
// accept_ra values that IPv6 forwarding needs (raWants) are set first. A
// recorded parameter whose file is gone (its device was removed) has
// nothing to restore.
func planSysctls(out *[phases][]Change, d Desired, obs Observed, owned Owned) {
	wants := sysctlWants(d, obs, owned)
	for _, w := range wants {
		cur := obs.Sysctls[w.Key]
		if cur == w.Value {
			continue
		}
		r := sysctl.Record{Key: w.Key, Prior: cur, Wrote: w.Value}
		if rec, have := ownedSysctl(owned, w.Key); have {
			r.Prior = rec.Prior // the value before lvs-rs first set it
			if rec.Holds(cur) {
				r.Was = cur // still lvs-rs's should the write not happen
			}
		}
		out[phaseSysctlSet] = append(out[phaseSysctlSet], Change{Kind: SetSysctl, x: &changeDetail{Sysctl: r, Current: cur}})
	}
	recs := slices.Clone(owned.Sysctls)
	slices.SortFunc(recs, func(a, b sysctl.Record) int { return cmp.Compare(a.Key, b.Key) })
	for _, rec := range recs {
		cur, exists := obs.Sysctls[rec.Key]
		if _, want := wantedIn(wants, rec.Key); want || !exists {
			continue
		}
		switch rec.Restore(cur) {
		case sysctl.RestoreWrite:
			out[phaseSysctlRestore] = append(out[phaseSysctlRestore], Change{Kind: RestoreSysctl, x: &changeDetail{Sysctl: rec, Current: cur}})
		case sysctl.RestoreForeign:
			out[phaseSysctlRestore] = append(out[phaseSysctlRestore], Change{Kind: LeaveSysctl, x: &changeDetail{Sysctl: rec, Current: cur}})
		}
	}
}

func ownedSysctl(owned Owned, key string) (sysctl.Record, bool) {
	for _, r := range owned.Sysctls {
		if r.Key == key {
			return r, true
		}
	}
	return sysctl.Record{}, false
}

// planTimeouts does for the IPVS timeouts what planSysctls does for
// sysctls, one change per timeout. A timeout read as 0 is unknown (no
// IPVS): nothing to restore.
func planTimeouts(out *[phases][]Change, d Desired, obs Observed, owned Owned) {
	for _, name := range timeoutNames {
		want, cur := timeoutOf(d.Timeouts, name), timeoutOf(obs.Timeouts, name)
		rec, have := ownedTimeout(owned, name)
		switch {
		case want != 0 && want != cur:
			r := TimeoutRecord{Name: name, Prior: cur, Wrote: want}
			if have {
				r.Prior = rec.Prior
				if rec.holds(cur) {
					r.Was = cur // still lvs-rs's should the write not happen
				}
			}
			out[phaseSysctlSet] = append(out[phaseSysctlSet], Change{Kind: SetTimeout, x: &changeDetail{Timeout: r, TimeoutNow: cur}})
		case want != 0, !have, cur == 0, cur == rec.Prior:
		case rec.holds(cur):
			out[phaseSysctlRestore] = append(out[phaseSysctlRestore], Change{Kind: RestoreTimeout, x: &changeDetail{Timeout: rec, TimeoutNow: cur}})
		default:
			out[phaseSysctlRestore] = append(out[phaseSysctlRestore], Change{Kind: LeaveTimeout, x: &changeDetail{Timeout: rec, TimeoutNow: cur}})
		}
	}
}

func ownedTimeout(owned Owned, name string) (TimeoutRecord, bool) {
	for _, r := range owned.Timeouts {
		if r.Name == name {
			return r, true
		}
	}
	return TimeoutRecord{}, false
}

// daemonStates are the sync daemon roles, in the order plans handle them.
var daemonStates = []ipvs.DaemonState{ipvs.DaemonMaster, ipvs.DaemonBackup}

// daemonIn returns the first daemon of ds in state st.
func daemonIn(ds []ipvs.Daemon, st ipvs.DaemonState) (ipvs.Daemon, bool) {
	i := slices.IndexFunc(ds, func(d ipvs.Daemon) bool { return d.State == st })
	if i < 0 {
		return ipvs.Daemon{}, false
	}
	return ds[i], true
}

// ownsDaemon reports whether the running daemon have is one lvs-rs
// started (a daemon of its state recorded, which have satisfies). While a
// restart is under way the record holds both the daemon running and the
// one replacing it.
func ownsDaemon(owned Owned, have ipvs.Daemon) bool {
	return slices.ContainsFunc(owned.Daemons, func(rec ipvs.Daemon) bool {
		return rec.State == have.State && rec.Satisfies(have)
	})
}

// planSync starts each wanted sync daemon that does not run, and restarts
// one lvs-rs started that runs with other settings (the kernel cannot
// edit a running daemon). A daemon lvs-rs did not start is never stopped:
// starting the wanted one then fails with EEXIST, naming it.
func planSync(d Desired, obs Observed, owned Owned) []Change {
	var out []Change
	for _, st := range daemonStates {
		want, wok := daemonIn(d.Sync, st)
		have, hok := daemonIn(obs.Daemons, st)
		switch {
		case !wok, hok && want.Satisfies(have):
		case hok && ownsDaemon(owned, have):
			out = append(out, Change{Kind: RestartSync, x: &changeDetail{Daemon: want, FromDaemon: have}})
		default:
			out = append(out, Change{Kind: StartSync, x: &changeDetail{Daemon: want, FromDaemon: have}})
		}
	}
	return out
}

// planSyncStops stops each daemon lvs-rs started that is no longer
// wanted; one replaced by hand since is left, with a warning.
func planSyncStops(d Desired, obs Observed, owned Owned) []Change {
	var out []Change
	for _, st := range daemonStates {
		_, wok := daemonIn(d.Sync, st)
		have, hok := daemonIn(obs.Daemons, st)
		rec, mine := daemonIn(owned.Daemons, st)
		switch {
		case wok || !hok || !mine:
		case ownsDaemon(owned, have):
			out = append(out, Change{Kind: StopSync, x: &changeDetail{Daemon: have}})
		default:
			out = append(out, Change{Kind: LeaveSync, x: &changeDetail{Daemon: rec, FromDaemon: have}})
		}
	}
	return out
}
