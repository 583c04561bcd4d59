package director

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// TimeoutRow is one IPVS connection timeout the director wants or
// changed, in seconds.
type TimeoutRow struct {
	Name  string `json:"name"`  // tcp, tcp_fin or udp
	Value uint32 `json:"value"` // now (0: unknown, IPVS not loaded)
	Want  uint32 `json:"want,omitempty"`
	Prior uint32 `json:"prior,omitempty"` // before lvs-rs set it (0: not set by lvs-rs)
	Wrote uint32 `json:"wrote,omitempty"`
}

// SyncRow is one connection sync daemon the director wants or started:
// the running daemon's settings when it runs, the wanted ones otherwise.
type SyncRow struct {
	State     string     `json:"state"` // master or backup
	Interface string     `json:"interface"`
	SyncID    uint8      `json:"syncid"`
	Group     netip.Addr `json:"group,omitzero"`
	Port      uint16     `json:"port,omitempty"`
	TTL       uint8      `json:"ttl,omitempty"`
	MaxLen    uint16     `json:"maxlen,omitempty"`
	Wanted    bool       `json:"wanted"`  // the config asks for it
	Running   bool       `json:"running"` // a daemon of this state runs
	Owned     bool       `json:"owned"`   // lvs-rs started the one running
}

// settingRows reports the sysctls, timeouts and sync daemons desired or
// owned, in key, timeout and state order.
func settingRows(d Desired, obs Observed, owned Owned) ([]SysctlRow, []TimeoutRow, []SyncRow) {
	sysctls := []SysctlRow{}
	keys := map[string]bool{}
	wants := sysctlWants(d, obs, owned)
	for _, w := range wants {
		keys[w.Key] = true
	}
	for _, r := range owned.Sysctls {
		keys[r.Key] = true
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range keys {
			if !yield(k) {
				return
			}
		}
	}) {
		sr := SysctlRow{Key: k, Value: obs.Sysctls[k]}
		sr.Want, _ = wantedIn(wants, k)
		if rec, have := ownedSysctl(owned, k); have {
			sr.Prior, sr.Wrote = rec.Prior, rec.Wrote
		}
		sysctls = append(sysctls, sr)
	}
	timeouts := []TimeoutRow{}
	for _, name := range timeoutNames {
		rec, have := ownedTimeout(owned, name)
		want := timeoutOf(d.Timeouts, name)
		if !have && want == 0 {
			continue
		}
		timeouts = append(timeouts, TimeoutRow{Name: name, Value: timeoutOf(obs.Timeouts, name), Want: want, Prior: rec.Prior, Wrote: rec.Wrote})
	}
	sync := []SyncRow{}
	for _, st := range daemonStates {
		want, wok := daemonIn(d.Sync, st)
		rec, mine := daemonIn(owned.Daemons, st)
		have, hok := daemonIn(obs.Daemons, st)
		if !wok && !mine {
			continue
		}
		show := want
		switch {
		case hok:
			show = have
		case !wok:
			show = rec
		}
		sync = append(sync, SyncRow{State: st.String(), Interface: show.Interface, SyncID: show.SyncID, Group: show.Group,
			Port: show.Port, TTL: show.TTL, MaxLen: show.MaxLen, Wanted: wok, Running: hok, Owned: hok && ownsDaemon(owned, have)})
	}
	return sysctls, timeouts, sync
}

// flagsString renders a service's flags other than persistence the way
// ipvsadm does, naming the scheduler flags after an mh scheduler
// ("mh-port") and otherwise after sh ("sh-port").
func flagsString(s ipvs.Service) string {
	f := (s.Flags &^ ipvs.FlagPersistent).String()
	if s.Scheduler == "mh" {
		f = strings.ReplaceAll(f, "sh-", "mh-")
	}
	return f
}

// tunnelString renders a tun destination's encapsulation: "ipip",
// "gue port 6080 csum", "gre remcsum"; "" for other forwarding methods.
func tunnelString(d ipvs.Destination) string {
	if d.Forward != ipvs.Tunnel {
		return ""
	}
	return tunnelDesc(d)
}

// tunnelDesc renders the tunnel fields whatever the forwarding method.
func tunnelDesc(d ipvs.Destination) string {
	out := [...]string{ipvs.TunnelIPIP: "ipip", ipvs.TunnelGUE: "gue", ipvs.TunnelGRE: "gre"}
	s := fmt.Sprintf("type(%d)", d.TunnelType)
	if int(d.TunnelType) < len(out) {
		s = out[d.TunnelType]
	}
	if d.TunnelType == ipvs.TunnelGUE {
		s += fmt.Sprintf(" port %d", d.TunnelPort)
	}
	if d.TunnelFlags&ipvs.TunnelCsum != 0 {
		s += " csum"
	}
	if d.TunnelFlags&ipvs.TunnelRemCsum != 0 {
		s += " remcsum"
	}
	return s
}

// destinationExtras renders a real server's tunnel and thresholds for the
// table: " [gue port 6080, thresholds 1000/800]", or "".
func destinationExtras(d DestinationRow) string {
	var x []string
	if d.Tunnel != "" && d.Tunnel != "ipip" {
		x = append(x, d.Tunnel)
	}
	if d.UpperThreshold != 0 || d.LowerThreshold != 0 {
		x = append(x, fmt.Sprintf("thresholds %d/%d", d.UpperThreshold, d.LowerThreshold))
	}
	if len(x) == 0 {
		return ""
	}
	return " [" + strings.Join(x, ", ") + "]"
}

// writeSettings renders the timeout and sync daemon lines of the table.
func (r *Report) writeSettings(w io.Writer) {
	for _, t := range r.Timeouts {
		line := fmt.Sprintf("ipvs timeout %s = %ds", t.Name, t.Value)
		if t.Want != 0 {
			line += fmt.Sprintf(", want %ds", t.Want)
		}
		if t.Wrote != 0 {
			line += fmt.Sprintf(" (lvs-rs set it to %ds; it was %ds)", t.Wrote, t.Prior)
		}
		fmt.Fprintln(w, line)
	}
	for _, s := range r.Sync {
		state := "not running"
		switch {
		case s.Running && s.Owned:
			state = "running, started by lvs-rs"
		case s.Running:
			state = "running, not started by lvs-rs"
		}
		want := ""
		if !s.Wanted {
			want = ", not configured"
		}
		fmt.Fprintf(w, "sync daemon %s on %s syncid %d: %s%s\n", s.State, s.Interface, s.SyncID, state, want)
	}
}
