package director

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/nftmark"
)

var (
	t100 = RouteTable{Table: 100, Protocol: 250}
	t200 = RouteTable{Table: 200, Protocol: 250}
	p1   = netip.MustParsePrefix("10.0.0.100/32")
	p2   = netip.MustParsePrefix("10.0.0.200/32")
)

// marked is web() plus a fwmark service with mark rules on vip2 and the
// announcement in table 100; vip2's only real server has weight 0.
func marked() *config.Config {
	cfg := web()
	cfg.Director.Announce = &config.Announce{Table: 100, Protocol: 250}
	cfg.VirtualServers = append(cfg.VirtualServers, config.VirtualServer{
		VIP: vip2, FWMark: 10, Scheduler: "mh", Mode: config.ModeDR,
		Marks:       []config.Mark{{Protocol: config.TCP, Port: 443}, {Protocol: config.TCP, Port: 80}},
		RealServers: []config.RealServer{{Address: rs3, Weight: 0, Mode: config.ModeDR}},
	})
	return cfg
}

func TestDesiredFromAnnounceAndMarks(t *testing.T) {
	d := DesiredFrom(marked())
	want := &Announce{Table: 100, Protocol: 250, VIPs: []netip.Addr{vip1}} // vip2 has no real server of weight > 0
	if diff := cmp.Diff(want, d.Announce, cmpOpts); diff != "" {
		t.Errorf("Announce (-want +got):\n%s", diff)
	}
	wantMarks := []nftmark.Rule{
		{VIP: vip2, Protocol: unix.IPPROTO_TCP, Port: 443, Mark: 10},
		{VIP: vip2, Protocol: unix.IPPROTO_TCP, Port: 80, Mark: 10},
	}
	if diff := cmp.Diff(wantMarks, d.Marks, cmpOpts); diff != "" {
		t.Errorf("Marks (-want +got):\n%s", diff)
	}
	if d := DesiredFrom(web()); d.Announce != nil || d.Marks != nil {
		t.Errorf("without announce and marks: %+v %+v", d.Announce, d.Marks)
	}
}

func TestPlanAnnounce(t *testing.T) {
	an := func(vips ...netip.Addr) *Announce { return &Announce{Table: 100, Protocol: 250, VIPs: vips} }
	add := func(tb RouteTable, p netip.Prefix) Change {
		return Change{Kind: AddRoute, x: &changeDetail{Route: tb, Prefix: p}}
	}
	del := func(tb RouteTable, p netip.Prefix) Change {
		return Change{Kind: DeleteRoute, x: &changeDetail{Route: tb, Prefix: p}}
	}
	for _, tc := range []struct {
		name   string
		d      *Announce
		routes map[RouteTable][]netip.Prefix
		owned  RouteTable
		want   []Change
	}{
		{name: "off, nothing recorded", want: nil},
		{name: "announce both", d: an(vip2, vip1), want: []Change{add(t100, p1), add(t100, p2)}},
		{name: "in place", d: an(vip1), routes: map[RouteTable][]netip.Prefix{t100: {p1}}, owned: t100},
		{name: "withdraw one: none up for vip2", d: an(vip1), routes: map[RouteTable][]netip.Prefix{t100: {p1, p2}}, owned: t100,
			want: []Change{del(t100, p2)}},
		{name: "withdraw all, table kept", d: an(), routes: map[RouteTable][]netip.Prefix{t100: {p1, p2}}, owned: t100,
			want: []Change{del(t100, p1), del(t100, p2)}},
		{name: "stop", routes: map[RouteTable][]netip.Prefix{t100: {p1}}, owned: t100, want: []Change{del(t100, p1)}},
		{name: "table moved", d: &Announce{Table: 200, Protocol: 250, VIPs: []netip.Addr{vip1}},
			routes: map[RouteTable][]netip.Prefix{t100: {p1}}, owned: t100,
			want: []Change{add(t200, p1), del(t100, p1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obs, owned := converged()
			obs.Routes, owned.Routes = tc.routes, tc.owned
			d := DesiredFrom(web())
			d.Announce = tc.d
			var got []Change
			for _, c := range plan(d, obs, owned) {
				if c.Kind == AddRoute || c.Kind == DeleteRoute {
					got = append(got, c)
				}
			}
			if diff := cmp.Diff(tc.want, got, cmpOpts); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPlanAnnounceOrder: a route is added after the services it serves
// and deleted before anything else is taken away.
func TestPlanAnnounceOrder(t *testing.T) {
	obs, owned := converged()
	d := DesiredFrom(marked())
	d.Services = d.Services[1:] // web's service goes, the fwmark one comes
	obs.Routes = map[RouteTable][]netip.Prefix{t100: {p2}}
	owned.Routes = t100
	var kinds []Kind
	for _, c := range plan(d, obs, owned) {
		kinds = append(kinds, c.Kind)
	}
	want := []Kind{Bind, AddService, AddDestination, BuildMarks, AddRoute, DeleteRoute, DeleteService}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}
}

func TestPlanMarks(t *testing.T) {
	r80 := nftmark.Rule{VIP: vip2, Protocol: unix.IPPROTO_TCP, Port: 80, Mark: 10}
	r443 := nftmark.Rule{VIP: vip2, Protocol: unix.IPPROTO_TCP, Port: 443, Mark: 10}
	for _, tc := range []struct {
		name  string
		want  []nftmark.Rule
		obs   nftmark.Observed
		owned bool
		plan  []Change
	}{
		{name: "none"},
		{name: "create, in canonical order", want: []nftmark.Rule{r443, r80},
			plan: []Change{{Kind: BuildMarks, x: &changeDetail{Marks: []nftmark.Rule{r80, r443}}}}},
		{name: "in place", want: []nftmark.Rule{r443, r80}, obs: nftmark.Observed{Present: true, Rules: []nftmark.Rule{r80, r443}}, owned: true},
		{name: "rebuilt when it differs", want: []nftmark.Rule{r80}, obs: nftmark.Observed{Present: true, Rules: []nftmark.Rule{r80, r443}},
			owned: true, plan: []Change{{Kind: BuildMarks, x: &changeDetail{Marks: []nftmark.Rule{r80}, Replace: true}}}},
		{name: "rebuilt when foreign", want: []nftmark.Rule{r80}, obs: nftmark.Observed{Present: true, Foreign: true, Rules: []nftmark.Rule{r80}},
			owned: true, plan: []Change{{Kind: BuildMarks, x: &changeDetail{Marks: []nftmark.Rule{r80}, Replace: true}}}},
		{name: "removed on stop", obs: nftmark.Observed{Present: true, Rules: []nftmark.Rule{r80}}, owned: true,
			plan: []Change{{Kind: RemoveMarks}}},
		{name: "gone already", owned: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obs, owned := converged()
			obs.Marks, owned.Marks = tc.obs, tc.owned
			d := DesiredFrom(web())
			d.Marks = tc.want
			var got []Change
			for _, c := range plan(d, obs, owned) {
				if c.Kind == BuildMarks || c.Kind == RemoveMarks {
					got = append(got, c)
				}
			}
			if diff := cmp.Diff(tc.plan, got, cmpOpts); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStartStopAnnounceMarks: start adds the routes and the table,
// records them, sends a gratuitous ARP per VIP bound, status shows them
// and reports drift; stop removes them and the record.
func TestStartStopAnnounceMarks(t *testing.T) {
	b := newMemBed(t)
	ctx := context.Background()
	if _, err := Start(ctx, marked(), b.opts()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]netip.Prefix{p1}, b.k.net.routes[t100], cmpOpts); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	if !b.k.net.marks.Present || len(b.k.net.marks.Rules) != 2 {
		t.Errorf("nftables table: %+v", b.k.net.marks)
	}
	if want := []string{"eth0 10.0.0.100", "eth0 10.0.0.200"}; !slices.Equal(b.k.net.garps, want) {
		t.Errorf("gratuitous ARPs %q, want %q", b.k.net.garps, want)
	}
	rec, _ := b.record()
	if rec.Routes == nil || *rec.Routes != t100 || rec.NFTable != nftmark.TableName {
		t.Errorf("record: routes %v nftables %q", rec.Routes, rec.NFTable)
	}
	// A second start changes nothing and sends no ARP.
	res, err := Start(ctx, marked(), b.opts())
	if err != nil || len(res.Changes) != 0 || len(b.k.net.garps) != 2 {
		t.Errorf("second start: %v, %v, %d ARPs", res.Changes, err, len(b.k.net.garps))
	}
	// Someone deletes the route: status reports the drift.
	b.k.net.routes[t100] = nil
	rep, err := Status(ctx, nil, b.opts())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(rep.Drift, "announce route 10.0.0.100/32 (table 100 proto 250) is missing") {
		t.Errorf("drift %q", rep.Drift)
	}
	if len(rep.Announce) != 1 || rep.Announce[0].Present || !rep.Announce[0].Wanted || len(rep.Marks) != 2 {
		t.Errorf("status rows: %+v %+v", rep.Announce, rep.Marks)
	}
	var out strings.Builder
	if err := rep.WriteTable(&out); err != nil || !strings.Contains(out.String(), "announce 10.0.0.100/32 table 100 proto 250: missing") {
		t.Errorf("table: %v\n%s", err, out.String())
	}
	b.k.net.routes[t100] = []netip.Prefix{p1}
	if _, err := Stop(ctx, b.opts()); err != nil {
		t.Fatal(err)
	}
	if len(b.k.net.routes[t100]) != 0 || b.k.net.marks.Present {
		t.Errorf("after stop: routes %v, marks %+v", b.k.net.routes, b.k.net.marks)
	}
	if _, found := b.record(); found {
		t.Error("the record survived stop")
	}
}

// TestGARPFailureIsAWarning: a VIP bound on a device without Ethernet
// address still counts as bound.
func TestGARPFailureIsAWarning(t *testing.T) {
	b := newMemBed(t)
	b.k.net.garpErr = errors.New("not an Ethernet interface")
	res, err := Start(context.Background(), web(), b.opts())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.HasPrefix(w, "gratuitous ARP for 10.0.0.100 on eth0 not sent") }) {
		t.Errorf("warnings %q", res.Warnings)
	}
}

// TestCrashAtEveryWriteWithAnnounceAndMarks: start killed after each of
// its writes, routes and the nftables table included, then start again
// converges with no drift and stop leaves no route, no table and no
// record.
func TestCrashAtEveryWriteWithAnnounceAndMarks(t *testing.T) {
	probe := newMemBed(t)
	if _, err := Start(context.Background(), marked(), probe.opts()); err != nil {
		t.Fatal(err)
	}
	n := probe.k.writes
	for k := 1; k <= n; k++ {
		b := newMemBed(t)
		b.k.crashAfter = k
		if !crashing(func() { Start(context.Background(), marked(), b.opts()) }) {
			t.Fatalf("crash after write %d: start did not reach it", k)
		}
		b.k.crashAfter = 0
		if _, err := Start(context.Background(), marked(), b.opts()); err != nil {
			t.Fatalf("crash after write %d: start again: %v", k, err)
		}
		if rep, err := Status(context.Background(), nil, b.opts()); err != nil || len(rep.Drift) != 0 {
			t.Fatalf("crash after write %d: status after the rerun: %v %q", k, err, rep.Drift)
		}
		if _, err := Stop(context.Background(), b.opts()); err != nil {
			t.Fatalf("crash after write %d: stop: %v", k, err)
		}
		if len(b.k.net.routes[t100]) != 0 || b.k.net.marks.Present {
			t.Fatalf("crash after write %d: after stop routes %v, marks %+v", k, b.k.net.routes, b.k.net.marks)
		}
		if _, ok := b.record(); ok {
			t.Fatalf("crash after write %d: a record is left", k)
		}
	}
}
