package realserver

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"text/tabwriter"

	"github.com/lvs-rs/lvs-rs/pkg/arp"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/tunnel"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
)

// Report is the outcome of Status. Its JSON form is the stable document
// described in doc.go.
type Report struct {
	// Applied: a state record exists (start ran and stop did not).
	Applied bool `json:"applied"`
	// Source is what the kernel was compared against: "config" (a
	// Desired was given), "state" (the last applied one) or "none".
	Source  string      `json:"source"`
	VIPs    []VIPRow    `json:"vips"`
	Sysctls []SysctlRow `json:"sysctls"`
	Tunnel  *TunnelRow  `json:"tunnel,omitempty"`
	GRE     *TunnelRow  `json:"gre,omitempty"`
	FOU     []FOURow    `json:"fou,omitempty"`
	// Route is the first of Routes (the IPv4 one when there are two),
	// kept for readers of a report with one route.
	Route *RouteStatus `json:"route,omitempty"`
	// Routes are the nat default routes wanted, one per family, IPv4
	// first.
	Routes []RouteStatus `json:"routes,omitempty"`
	// Drift lists every difference start would remove, one line each;
	// empty (never null) when the kernel matches.
	Drift []string `json:"drift"`
	// Warnings are what start would leave as is and warn about.
	Warnings []string `json:"warnings,omitempty"`
}

// VIPRow is one binding.
type VIPRow struct {
	VIP    netip.Addr  `json:"vip"`
	Mode   config.Mode `json:"mode"`
	Device string      `json:"device"` // lo, tunl0, gre0; "" for nat (not bound on a real server)
	// Tunnel is a tun binding's tunnel: "ipip", "gue port 6080", "gre".
	Tunnel string `json:"tunnel,omitempty"`
	// Present: the VIP is on Device (always true for nat).
	Present bool `json:"present"`
	// Owner: "lvs-rs" when lvs-rs bound it, "adopted" when it was there
	// before, "" when absent or nat.
	Owner string `json:"owner"`
}

// SysctlRow is one parameter the desired state wants.
type SysctlRow struct {
	Key    string `json:"key"` // net/ipv4/conf/lo/arp_ignore
	Wanted string `json:"wanted"`
	Actual string `json:"actual"` // "-" when the parameter does not exist
	// OK: Actual is Wanted, or a stricter arp_ignore (see arp.Enough).
	OK bool `json:"ok"`
}

// TunnelRow is a fallback device: tunl0, shown when a tun binding through
// it (ipip, gue) is wanted or it is recorded, or gre0 likewise (gre).
type TunnelRow struct {
	Device string `json:"device"`
	Exists bool   `json:"exists"`
	Up     bool   `json:"up"`
	// WasUp: the record says the device was up before lvs-rs.
	WasUp bool `json:"was_up"`
}

// FOURow is a GUE receive port, shown when a gue binding wants it or the
// record holds it.
type FOURow struct {
	Port uint16 `json:"port"`
	// Present: the kernel has a GUE receive port on Port.
	Present bool `json:"present"`
	// Owner: "lvs-rs" when lvs-rs added it, "adopted" when it was there,
	// "" when absent.
	Owner string `json:"owner"`
}

// RouteStatus is a nat default route, shown when wanted.
type RouteStatus struct {
	Gateway netip.Addr `json:"gateway,omitzero"`
	Present bool       `json:"present"`
	// Owner: "lvs-rs" when lvs-rs set it, "adopted" when it was there.
	Owner string `json:"owner"`
	// Replaced is the route lvs-rs replaced and restores on stop.
	Replaced string `json:"replaced,omitempty"`
}

// Status compares the host with d, or with the last applied desired state
// when d is nil. It writes nothing. With no record and d nil, the report
// has Applied false and no rows.
func Status(ctx context.Context, d *Desired, o Options) (*Report, error) {
	rec, existed, err := o.load()
	if err != nil {
		return nil, err
	}
	r := &Report{Applied: existed, Source: "config", Drift: []string{}, VIPs: []VIPRow{}, Sysctls: []SysctlRow{}}
	var want Desired
	switch {
	case d != nil:
		if want, err = d.Normalize(); err != nil {
			return nil, err
		}
	case existed:
		want, r.Source = rec.Desired.desired().canon(), "state"
	default:
		r.Source = "none"
		return r, nil
	}
	h, done, err := o.handle()
	if err != nil {
		return nil, err
	}
	defer done()
	obs, err := Observe(h, o.tree(), want, rec)
	if err != nil {
		return nil, err
	}
	changes, warns := Plan(want, obs)
	r.Warnings = warns
	for _, c := range changes {
		if c.Writes() {
			r.Drift = append(r.Drift, c.Drift())
		}
	}
	r.fill(want, obs)
	return r, nil
}

// fill computes the rows of r.
func (r *Report) fill(want Desired, obs Observed) {
	created := map[netip.Addr]string{}
	for _, a := range obs.Record.Addresses {
		created[a.Prefix.Addr()] = a.Dev
	}
	for _, b := range want.Bindings {
		row := VIPRow{VIP: b.VIP, Mode: b.Mode, Device: device(b), Tunnel: tunnelName(b), Present: true}
		if row.Device != "" {
			row.Present = slices.ContainsFunc(obs.Addrs, func(a vip.Addr) bool { return a.Dev == row.Device && a.Prefix.Addr() == b.VIP })
			switch {
			case !row.Present:
			case created[b.VIP] == row.Device:
				row.Owner = "lvs-rs"
			default:
				row.Owner = "adopted"
			}
		}
		r.VIPs = append(r.VIPs, row)
	}
	hostOnly := want.hostOnly(obs.Addrs)
	for _, w := range want.sysctlWants() {
		k := w.Key.String()
		act, ok := obs.Sysctls[k]
		if !ok {
			act = arp.Missing
		}
		r.Sysctls = append(r.Sysctls, SysctlRow{Key: k, Wanted: w.Value, Actual: act, OK: ok && arp.Enough(w.Key, w.Value, act, hostOnly)})
	}
	r.Tunnel = tunnelRow(tunnel.Dev, want.needsTunnel(), obs.Tunnel, obs.Record.Tunnel)
	r.GRE = tunnelRow(tunnel.GREDev, want.needsGRE(), obs.GRE, obs.Record.GRE)
	ports := want.guePorts()
	for _, p := range obs.Record.FOU {
		if !slices.Contains(ports, p.Port) {
			ports = append(ports, p.Port)
		}
	}
	for _, p := range ports {
		row := FOURow{Port: p, Present: slices.ContainsFunc(obs.FOU.Ports, func(x tunnel.FOUPort) bool { return x.Port == p && x.GUE })}
		switch {
		case !row.Present:
		case slices.Contains(obs.Record.FOU, FOURecord{Port: p}):
			row.Owner = "lvs-rs"
		default:
			row.Owner = "adopted"
		}
		r.FOU = append(r.FOU, row)
	}
	for _, gw := range want.Gateways {
		if want.routed(gw) {
			r.Routes = append(r.Routes, routeRow(gw, obs))
		}
	}
	if len(r.Routes) > 0 {
		r.Route = &r.Routes[0]
	}
}

// routeRow is the row of the default route via gw, a routed gateway.
func routeRow(gw netip.Addr, obs Observed) RouteStatus {
	g := gatewayRoute(gw)
	rs := RouteStatus{Gateway: gw}
	rs.Present = slices.ContainsFunc(obs.Routes, func(x Route) bool { return sameGateway(x, g) })
	if rr := obs.Record.route(gw.Is6()); rr != nil {
		if rr.own(g) != nil && rs.Present {
			rs.Owner = "lvs-rs"
		}
		if rr.Replaced != nil {
			rs.Replaced = rr.Replaced.String()
		}
	}
	if rs.Present && rs.Owner == "" {
		rs.Owner = "adopted"
	}
	return rs
}

// tunnelRow is the row of the fallback device dev when it is needed or
// recorded, nil otherwise.
func tunnelRow(dev string, need bool, l tunnel.Link, rec *TunnelRecord) *TunnelRow {
	if !need && rec == nil {
		return nil
	}
	row := &TunnelRow{Device: dev, Exists: l.Exists, Up: l.Up}
	if rec != nil {
		row.WasUp = rec.WasUp
	}
	return row
}

// WriteTable prints the report for people: the VIPs, the sysctls with
// wanted and actual values, tunl0, gre0, the GUE receive ports and the
// route when relevant, then one line per drift and warning.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format, a...) }
	switch {
	case !r.Applied && r.Source == "none":
		p("realserver: nothing applied on this host\n")
	case !r.Applied:
		p("realserver: not applied (compared with the config)\n")
	default:
		p("realserver: applied (compared with the %s)\n", r.Source)
	}
	if len(r.VIPs) > 0 {
		p("\nVIP\tMODE\tDEVICE\tPRESENT\tOWNER\n")
		for _, v := range r.VIPs {
			dev := v.Device
			if dev == "" {
				dev = "-"
			}
			mode := string(v.Mode)
			if v.Tunnel != "" && v.Tunnel != string(config.TunnelIPIP) {
				mode += " (" + v.Tunnel + ")"
			}
			p("%s\t%s\t%s\t%s\t%s\n", v.VIP, mode, dev, yesNo(v.Present), dash(v.Owner))
		}
	}
	if len(r.Sysctls) > 0 {
		p("\nSYSCTL\tWANTED\tACTUAL\tOK\n")
		for _, s := range r.Sysctls {
			p("%s\t%s\t%s\t%s\n", s.Key, s.Wanted, s.Actual, yesNo(s.OK))
		}
	}
	if r.Tunnel != nil || r.GRE != nil {
		p("\nTUNNEL\tEXISTS\tUP\tWAS UP BEFORE\n")
		for _, t := range []*TunnelRow{r.Tunnel, r.GRE} {
			if t != nil {
				p("%s\t%s\t%s\t%s\n", t.Device, yesNo(t.Exists), yesNo(t.Up), yesNo(t.WasUp))
			}
		}
	}
	if len(r.FOU) > 0 {
		p("\nGUE PORT\tPRESENT\tOWNER\n")
		for _, f := range r.FOU {
			p("udp/%d\t%s\t%s\n", f.Port, yesNo(f.Present), dash(f.Owner))
		}
	}
	if len(r.Routes) > 0 {
		p("\nROUTE\tPRESENT\tOWNER\tREPLACED\n")
		for _, rt := range r.Routes {
			p("default via %s\t%s\t%s\t%s\n", rt.Gateway, yesNo(rt.Present), dash(rt.Owner), dash(rt.Replaced))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var err error
	out := func(format string, a ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, a...)
		}
	}
	if len(r.Drift) > 0 {
		out("\ndrift:\n")
		for _, d := range r.Drift {
			out("  %s\n", d)
		}
	} else if r.Source != "none" {
		out("\nno drift\n")
	}
	for _, s := range r.Warnings {
		out("warning: %s\n", s)
	}
	return err
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// IsApplied reports whether a state record exists (start ran, stop did not).
func (r *Report) IsApplied() bool { return r.Applied }

// Drifted reports whether the kernel differs from the desired state.
func (r *Report) Drifted() bool { return len(r.Drift) > 0 }
