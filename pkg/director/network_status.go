package director

import (
	"cmp"
	"fmt"
	"io"
	"net/netip"
	"slices"

	"github.com/lvs-rs/lvs-rs/pkg/announce"
	"github.com/lvs-rs/lvs-rs/pkg/nftmark"
)

// RouteRow is one announce route wanted, or lvs-rs's in the kernel.
type RouteRow struct {
	Prefix   netip.Prefix `json:"prefix"`
	Table    uint32       `json:"table"`
	Protocol uint8        `json:"protocol"`
	Wanted   bool         `json:"wanted"`  // desired: the VIP can serve
	Present  bool         `json:"present"` // in the kernel (a BGP daemon announces it)
}

// MarkRow is one nftables mark rule wanted, or found in lvs-rs's table.
type MarkRow struct {
	Rule    string `json:"rule"` // "tcp 10.0.0.100:80 mark 10"
	Wanted  bool   `json:"wanted"`
	Present bool   `json:"present"`
}

// networkRows reports the announce routes and mark rules desired or
// lvs-rs's, sorted.
func networkRows(d Desired, obs Observed) ([]RouteRow, []MarkRow) {
	type key struct {
		t RouteTable
		p netip.Prefix
	}
	rows := map[key]*RouteRow{}
	row := func(t RouteTable, p netip.Prefix) *RouteRow {
		k := key{t, p}
		if rows[k] == nil {
			rows[k] = &RouteRow{Prefix: p, Table: t.Table, Protocol: t.Protocol}
		}
		return rows[k]
	}
	if d.Announce != nil {
		for _, v := range d.Announce.VIPs {
			row(d.Announce.key(), announce.HostPrefix(v)).Wanted = true
		}
	}
	for t, ps := range obs.Routes {
		for _, p := range ps {
			row(t, p).Present = true
		}
	}
	routes := []RouteRow{}
	for _, r := range rows {
		routes = append(routes, *r)
	}
	slices.SortFunc(routes, func(a, b RouteRow) int {
		return cmp.Or(cmp.Compare(a.Table, b.Table), cmp.Compare(a.Protocol, b.Protocol), a.Prefix.Addr().Compare(b.Prefix.Addr()))
	})
	marks := []MarkRow{}
	have := map[nftmark.Rule]bool{}
	for _, r := range obs.Marks.Rules {
		have[r] = true
	}
	want := map[nftmark.Rule]bool{}
	for _, r := range nftmark.Plan(d.Marks, nftmark.Observed{}).Rules {
		want[r] = true
		marks = append(marks, MarkRow{Rule: r.String(), Wanted: true, Present: have[r]})
	}
	for _, r := range obs.Marks.Rules {
		if !want[r] {
			marks = append(marks, MarkRow{Rule: r.String(), Present: true})
		}
	}
	return routes, marks
}

// writeNetwork renders the announce routes and mark rules, one line each.
func (r *Report) writeNetwork(w io.Writer) {
	for _, a := range r.Announce {
		fmt.Fprintf(w, "announce %v table %d proto %d: %s\n", a.Prefix, a.Table, a.Protocol, presence(a.Present, a.Wanted))
	}
	for _, m := range r.Marks {
		fmt.Fprintf(w, "nftables mark %s: %s\n", m.Rule, presence(m.Present, m.Wanted))
	}
}

func presence(present, wanted bool) string {
	switch {
	case present && wanted:
		return "present"
	case present:
		return "present, not wanted"
	}
	return "missing"
}
