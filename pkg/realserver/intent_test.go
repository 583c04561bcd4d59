package realserver

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvs-rs/lvs-rs/pkg/tunnel"
	"golang.org/x/sys/unix"
)

// multipath is a two-nexthop default route at metric 0, as a host might
// have it before lvs-rs.
func multipath() Route {
	return Route{
		Dst: defaultDst(gw), Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST, Protocol: unix.RTPROT_BOOT, Metric: 0,
		NextHops: []NextHop{
			{Gateway: gw2, Dev: "eth0", Weight: 1},
			{Gateway: netip.MustParseAddr("10.2.0.254"), Dev: "eth1", Weight: 3, OnLink: true},
		},
		Metrics: RouteMetrics{MTU: 1400},
	}
}

// crashHost is the fake host every crash test starts from: a non-default
// sysctl, the multipath default route and one at another metric.
func crashHost() *fakeKernel {
	f := newFake()
	f.sys[allA] = "1"
	f.routes = []Route{multipath(), defRoute(gw2, "eth0", 100)}
	return f
}

// runCrashing plans d (or a stop when teardown) on f from rec and runs
// it, recovering a simulated crash; it returns the record as last saved.
// No run after a crash has anything to warn about: it fails the test.
func runCrashing(t *testing.T, f *fakeKernel, d Desired, rec Record, teardown bool) (saved Record, crashed bool, err error) {
	t.Helper()
	saved = rec.clone()
	changes, warns := Plan(d, f.observed(rec))
	if len(warns) != 0 {
		t.Errorf("plan warns: %q", warns)
	}
	e := &executor{k: f, rec: rec.clone(), saved: encoded(rec), teardown: teardown, save: func(r Record, _ []byte) error { saved = r.clone(); return nil }}
	if !teardown {
		e.rec.Desired = specOf(d)
	}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(crash); !ok {
				panic(r)
			}
			crashed = true
		}
	}()
	err = e.run(context.Background(), changes)
	if len(e.warnings) != 0 {
		t.Errorf("run warns: %q", e.warnings)
	}
	return saved, false, err
}

// normalised makes a fake host comparable with its before-start state:
// ipip, ip_gre and fou stay loaded (as with the kernel), tunl0 and gre0
// down, their parameters at the module's defaults.
func normalised(before, after snapshot) snapshot {
	before.Sys = maps.Clone(before.Sys)
	if after.Tun.Exists && !before.Tun.Exists {
		for _, k := range []string{tunI, tunA, tunRF} {
			before.Sys[k] = after.Sys[k]
		}
		before.Tun.Exists = true
	}
	if after.GRE.Exists && !before.GRE.Exists {
		for _, k := range []string{greI, greA, greRF} {
			before.Sys[k] = after.Sys[k]
		}
		before.GRE.Exists = true
	}
	before.FOU.Loaded = before.FOU.Loaded || after.FOU.Loaded
	return before
}

// TestCrashAtEveryWrite kills start right before and right after each of
// its writes, and stop after each of its writes: the next start converges and the next stop
// puts the host back exactly, the multipath route included.
func TestCrashAtEveryWrite(t *testing.T) {
	d := everything()
	probe := crashHost()
	if _, _, err := runCrashing(t, probe, d, Record{}, false); err != nil {
		t.Fatal(err)
	}
	n := len(probe.writes)
	if n < 10 {
		t.Fatalf("only %d writes: %q", n, probe.writes)
	}
	for i := 1; i <= 2*n; i++ {
		// Start crashes right before (odd i) or right after (even i)
		// write k; start again converges; stop restores.
		k := (i + 1) / 2
		f := crashHost()
		before := f.snap()
		crashAt := func(f *fakeKernel) {
			if i%2 == 1 {
				f.crashBefore = k
			} else {
				f.crashAfter = k
			}
		}
		crashAt(f)
		rec, crashed, _ := runCrashing(t, f, d, Record{}, false)
		if !crashed {
			t.Fatalf("k=%d: no crash", k)
		}
		f.crashAfter, f.crashBefore = 0, 0
		again, _, err := runCrashing(t, f, d, rec, false)
		if err != nil {
			t.Fatalf("k=%d: start after the crash: %v", k, err)
		}
		if c, _ := Plan(d, f.observed(again)); len(c) != 0 {
			t.Errorf("k=%d: start after the crash did not converge: %q", k, kinds(c))
		}
		if _, _, err := runCrashing(t, f, Desired{}, again, true); err != nil {
			t.Fatalf("k=%d: stop: %v", k, err)
		}
		if diff := cmp.Diff(normalised(before, f.snap()), f.snap(), eq); diff != "" {
			t.Errorf("k=%d (%s): host after crash, start, stop (-before +after):\n%s", k, probe.writes[k-1], diff)
		}

		// Start crashes at write k; stop alone restores.
		f = crashHost()
		crashAt(f)
		rec, _, _ = runCrashing(t, f, d, Record{}, false)
		f.crashAfter, f.crashBefore = 0, 0
		if _, _, err := runCrashing(t, f, Desired{}, rec, true); err != nil {
			t.Fatalf("k=%d: stop after the crash: %v", k, err)
		}
		if diff := cmp.Diff(normalised(before, f.snap()), f.snap(), eq); diff != "" {
			t.Errorf("k=%d (%s): host after crash, stop (-before +after):\n%s", k, probe.writes[k-1], diff)
		}
	}

	// Stop crashes after each of its writes; stop again restores.
	f := crashHost()
	applied, _, _ := runCrashing(t, f, d, Record{}, false)
	f.writes = nil
	if _, _, err := runCrashing(t, f, Desired{}, applied, true); err != nil {
		t.Fatal(err)
	}
	m := len(f.writes)
	for k := 1; k <= m; k++ {
		f := crashHost()
		before := f.snap()
		rec, _, _ := runCrashing(t, f, d, Record{}, false)
		f.writes = nil
		f.crashAfter = k
		rec, crashed, _ := runCrashing(t, f, Desired{}, rec, true)
		if !crashed {
			t.Fatalf("stop k=%d: no crash", k)
		}
		f.crashAfter = 0
		if _, _, err := runCrashing(t, f, Desired{}, rec, true); err != nil {
			t.Fatalf("stop k=%d: second stop: %v", k, err)
		}
		if diff := cmp.Diff(normalised(before, f.snap()), f.snap(), eq); diff != "" {
			t.Errorf("stop k=%d: host after crash, stop (-before +after):\n%s", k, diff)
		}
	}
}

// TestFailAtEveryWrite fails each write of start with EINVAL: the failed
// write leaves no intention behind, a rerun converges, stop restores.
func TestFailAtEveryWrite(t *testing.T) {
	d := everything()
	probe := crashHost()
	if _, _, err := runCrashing(t, probe, d, Record{}, false); err != nil {
		t.Fatal(err)
	}
	for k, w := range probe.writes {
		f := crashHost()
		before := f.snap()
		f.fail = func(op string) error {
			if op == w {
				return unix.EINVAL
			}
			return nil
		}
		rec, _, err := runCrashing(t, f, d, Record{}, false)
		if !errors.Is(err, unix.EINVAL) {
			t.Fatalf("k=%d: start = %v, want EINVAL", k+1, err)
		}
		f.fail = nil
		rec, _, err = runCrashing(t, f, d, rec, false)
		if err != nil {
			t.Fatalf("k=%d: rerun: %v", k+1, err)
		}
		if _, _, err := runCrashing(t, f, Desired{}, rec, true); err != nil {
			t.Fatalf("k=%d: stop: %v", k+1, err)
		}
		if diff := cmp.Diff(normalised(before, f.snap()), f.snap(), eq); diff != "" {
			t.Errorf("k=%d (%s): host after a failed write, rerun, stop (-before +after):\n%s", k+1, w, diff)
		}
	}
}

// TestStopFailAtEveryWrite fails each write of stop with EINVAL: stop
// continues past it but never restores what the failed write protects,
// and a second stop puts the host back exactly.
func TestStopFailAtEveryWrite(t *testing.T) {
	d := everything()
	probe := crashHost()
	rec, _, _ := runCrashing(t, probe, d, Record{}, false)
	probe.writes = nil
	if _, _, err := runCrashing(t, probe, Desired{}, rec, true); err != nil {
		t.Fatal(err)
	}
	for k, w := range probe.writes {
		f := crashHost()
		before := f.snap()
		rec, _, _ := runCrashing(t, f, d, Record{}, false)
		f.fail = func(op string) error {
			if op == w {
				return unix.EINVAL
			}
			return nil
		}
		changes, _ := Plan(Desired{}, f.observed(rec))
		saved := rec.clone()
		e := &executor{k: f, rec: rec.clone(), teardown: true, save: func(r Record, _ []byte) error { saved = r.clone(); return nil }}
		if err := e.run(context.Background(), changes); !errors.Is(err, unix.EINVAL) {
			t.Fatalf("k=%d: stop = %v, want EINVAL", k+1, err)
		}
		f.fail = nil
		if _, _, err := runCrashing(t, f, Desired{}, saved, true); err != nil {
			t.Fatalf("k=%d: second stop: %v", k+1, err)
		}
		if diff := cmp.Diff(normalised(before, f.snap()), f.snap(), eq); diff != "" {
			t.Errorf("k=%d (%s): host after a failed stop and a second stop (-before +after):\n%s", k+1, w, diff)
		}
	}
}

// TestIntentionSavedBeforeWrite checks, at the moment of every write of
// start, that the saved record already holds what the write creates.
func TestIntentionSavedBeforeWrite(t *testing.T) {
	f := crashHost()
	var saved Record
	checked := 0
	f.fail = func(op string) error {
		checked++
		switch {
		case strings.HasPrefix(op, "sysctl "):
			kv := strings.SplitN(strings.TrimPrefix(op, "sysctl "), "=", 2)
			for _, s := range saved.Sysctls {
				if s.Key == kv[0] && s.Wrote == kv[1] && s.Prior != "" {
					return nil
				}
			}
			t.Errorf("%s: record saved before it lacks the sysctl with its prior: %+v", op, saved.Sysctls)
		case strings.HasPrefix(op, "bind "):
			for _, a := range saved.Addresses {
				if op == "bind "+a.Addr().String() {
					return nil
				}
			}
			t.Errorf("%s: record saved before it lacks the address: %+v", op, saved.Addresses)
		case strings.HasPrefix(op, "route replace "):
			rr := saved.Route
			if rr == nil || rr.Created == nil || rr.Replaced == nil || !rr.Replaced.Equal(multipath()) {
				t.Errorf("%s: record saved before it lacks the whole replaced route: %+v", op, rr)
			}
		case op == "tunl0 up", op == "load ipip":
			if saved.Tunnel == nil {
				t.Errorf("%s: record saved before it lacks tunl0", op)
			}
		case op == "gre0 up", op == "load ip_gre":
			if saved.GRE == nil {
				t.Errorf("%s: record saved before it lacks gre0", op)
			}
		case strings.HasPrefix(op, "add gue port "):
			if !slices.ContainsFunc(saved.FOU, func(p FOURecord) bool { return op == fmt.Sprintf("add gue port %d", p.Port) }) {
				t.Errorf("%s: record saved before it lacks the port: %+v", op, saved.FOU)
			}
		}
		return nil
	}
	changes, _ := Plan(everything(), f.observed(Record{}))
	e := &executor{k: f, save: func(r Record, _ []byte) error { saved = r.clone(); return nil }}
	if err := e.run(context.Background(), changes); err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Errorf("only %d writes checked", checked)
	}
}

// pending lists what rec holds that f does not have yet: intentions.
func pending(f *fakeKernel, rec Record) []string {
	var out []string
	for _, a := range rec.Addresses {
		if !slices.Contains(f.addrs, a.Addr()) {
			out = append(out, "bind "+a.Addr().String())
		}
	}
	for _, s := range rec.Sysctls {
		if f.sys[s.Key] != s.Wrote {
			out = append(out, "sysctl "+s.Key)
		}
	}
	if rr := rec.Route; rr != nil && rr.Created != nil && !slices.ContainsFunc(f.routes, func(r Route) bool { return sameGateway(r, *rr.Created) }) {
		out = append(out, "route "+rr.Created.String())
	}
	for _, p := range rec.FOU {
		if !slices.ContainsFunc(f.fou.Ports, func(x tunnel.FOUPort) bool { return x.Port == p.Port }) {
			out = append(out, fmt.Sprintf("gue port %d", p.Port))
		}
	}
	return out
}

// TestFailedSaveMeansNoWrite makes each save of start fail in turn: what
// the failed save was to record is not written, and start reports the
// save's error.
func TestFailedSaveMeansNoWrite(t *testing.T) {
	intentions := 0
	for n := 1; ; n++ {
		f := crashHost()
		saves := 0
		boom := errors.New("disk full")
		var want []string
		var tried Record
		changes, _ := Plan(everything(), f.observed(Record{}))
		e := &executor{k: f, save: func(r Record, _ []byte) error {
			saves++
			if saves == n {
				want, tried = pending(f, r), r.clone()
				return boom
			}
			return nil
		}}
		err := e.run(context.Background(), changes)
		if err == nil { // every save of the start has failed once
			if intentions < 2 { // the sysctls' and VIPs' save, and the route's
				t.Fatalf("only %d of %d failed saves held an intention of a sysctl, VIP or route", intentions, n-1)
			}
			return
		}
		if !errors.Is(err, boom) {
			t.Fatalf("save %d failed: start = %v", n, err)
		}
		if len(want) > 0 {
			intentions++
		}
		if diff := cmp.Diff(want, pending(f, tried)); diff != "" {
			t.Errorf("save %d failed, yet its intention was written (-pending at the save +pending now):\n%s", n, diff)
		}
	}
}

// TestStopRouteDeviceGone: the replaced multipath route uses a device
// that no longer exists. Stop says so precisely, restores everything
// else, and leaves no record behind (a second stop has nothing to do).
func TestStopRouteDeviceGone(t *testing.T) {
	f := crashHost()
	before := f.snap()
	rec, _, err := runCrashing(t, f, everything(), Record{}, false)
	if err != nil {
		t.Fatal(err)
	}
	f.gone = []string{"eth1"}
	changes, _ := Plan(Desired{}, f.observed(rec))
	e := &executor{k: f, rec: rec.clone(), teardown: true, save: func(Record, []byte) error { return nil }}
	if err := e.run(context.Background(), changes); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if !e.rec.empty() {
		t.Errorf("record after stop: %+v", e.rec)
	}
	if len(e.warnings) != 1 || !strings.Contains(e.warnings[0], "device eth1 no longer exists") || !strings.Contains(e.warnings[0], "nexthop via 10.2.0.254 dev eth1 onlink weight 3") {
		t.Errorf("warnings: %q", e.warnings)
	}
	want := normalised(before, f.snap())
	want.Routes = want.Routes[1:] // the multipath route went with eth1
	if diff := cmp.Diff(want, f.snap(), eq); diff != "" {
		t.Errorf("host after stop (-want +got):\n%s", diff)
	}
}

// TestTunnelCreatedIntention: lvs-rs crashed right after asking for
// tunl0, before it knew the module made it: the record says created,
// and stop still leaves tunl0 down, as it was made.
func TestTunnelCreatedIntention(t *testing.T) {
	o := with(host(), func(o *Observed) {
		o.Tunnel = tunnel.Link{Exists: true, Up: true}
		o.Record = Record{Tunnel: &TunnelRecord{Dev: tunnel.Dev, Created: true}}
	})
	got, _ := Plan(Desired{}, o)
	if diff := cmp.Diff([]Change{{Kind: TunnelDown}, {Kind: DeleteTunnel}}, got, eq); diff != "" {
		t.Errorf("Plan (-want +got):\n%s", diff)
	}
}

// TestOpaqueRouteNeverReplaced: a default route with parts lvs-rs cannot
// set again (here an encapsulation) is never replaced: start fails naming
// it, writes nothing and records nothing.
func TestOpaqueRouteNeverReplaced(t *testing.T) {
	f := newFake()
	odd := defRoute(gw2, "eth0", 0)
	odd.Opaque = "an encapsulation (mpls 100)"
	f.routes = []Route{odd}
	saves := 0
	changes, _ := Plan(Desired{Gateways: gws(gw)}, f.observed(Record{}))
	e := &executor{k: f, save: func(Record, []byte) error { saves++; return nil }}
	err := e.run(context.Background(), changes)
	if err == nil || !strings.Contains(err.Error(), "encapsulation") || !strings.Contains(err.Error(), gw2.String()) {
		t.Fatalf("start = %v, want a refusal naming the route and its encapsulation", err)
	}
	if len(f.writes) != 0 || saves != 0 {
		t.Errorf("refused start wrote %q and saved %d times", f.writes, saves)
	}
}
