package realserver

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"golang.org/x/sys/unix"
)

// everything is a host serving every mode at once, and tun through
// every tunnel type.
func everything() Desired {
	var b []config.Binding
	b = append(b, dr(vip1, vip6)...)
	b = append(b, tun(vip2)...)
	b = append(b, bind(config.ModeNAT, netip.MustParseAddr("10.0.0.102"))...)
	b = append(b, gue(6080, vipGUE)...)
	b = append(b, gre(vipGRE)...)
	return Desired{Bindings: b, Gateways: gws(gw)}
}

// apply plans d on f from rec and runs it, returning the new record.
func apply(t *testing.T, f *fakeKernel, d Desired, rec Record, teardown bool) (Record, []Change, int, error) {
	t.Helper()
	changes, _ := Plan(d, f.observed(rec))
	saves := 0
	e := &executor{k: f, rec: rec.clone(), saved: encoded(rec), teardown: teardown, save: func(Record, []byte) error { saves++; return nil }}
	err := e.run(context.Background(), changes)
	return e.rec, changes, saves, err
}

func TestRoundTrip(t *testing.T) {
	f := newFake()
	f.sys[allA] = "1" // non-default, must come back
	f.routes = []Route{defRoute(gw2, "eth0", 0), defRoute(gw2, "eth1", 100)}
	before := f.snap()

	rec, changes, saves, err := apply(t, f, everything(), Record{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) == 0 || saves == 0 {
		t.Fatalf("first start: %d changes, %d saves", len(changes), saves)
	}
	// The ARP sysctls are written before the first bind.
	firstBind, lastARP := -1, -1
	for i, w := range f.writes {
		if strings.HasPrefix(w, "bind") && firstBind < 0 {
			firstBind = i
		}
		if strings.Contains(w, "arp_") {
			lastARP = i
		}
	}
	if firstBind < lastARP {
		t.Errorf("a VIP was bound before the ARP sysctls were set: %q", f.writes)
	}

	// Second start: no change, no write, no save.
	f.writes = nil
	rec2, changes, saves, err := apply(t, f, everything(), rec, false)
	if err != nil || len(changes) != 0 || len(f.writes) != 0 || saves != 0 {
		t.Fatalf("second start: err %v, changes %v, writes %q, saves %d", err, changes, f.writes, saves)
	}
	if !same(rec, rec2) {
		t.Error("second start changed the record")
	}

	// Stop: everything as before.
	rec, _, _, err = apply(t, f, Desired{}, rec, true)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.empty() {
		t.Errorf("record after stop still owns %+v", rec)
	}
	// The fake keeps ipip, ip_gre and fou loaded (like the kernel) with
	// tunl0 and gre0 down, their sysctls back at the module's defaults,
	// and no GUE port.
	after := f.snap()
	if d := cmp.Diff(normalised(before, after), after, eq, cmp.AllowUnexported(snapshot{})); d != "" {
		t.Errorf("host after stop (-before +after):\n%s", d)
	}
	if after.Sys[tunRF] != "1" || after.Tun.Up || after.Sys[greRF] != "1" || after.GRE.Up || len(after.FOU.Ports) != 0 || !after.FOU.Loaded {
		t.Errorf("after stop: tunl0 %+v, rp_filter %s; gre0 %+v, rp_filter %s; fou %+v", after.Tun, after.Sys[tunRF], after.GRE, after.Sys[greRF], after.FOU)
	}
}

func TestStartFailureKeepsProgress(t *testing.T) {
	f := newFake()
	before := f.snap()
	f.fail = func(w string) error {
		if strings.HasPrefix(w, "bind "+vip2.String()) {
			return unix.EPERM
		}
		return nil
	}
	var saved Record
	changes, _ := Plan(everything(), f.observed(Record{}))
	e := &executor{k: f, rec: Record{}, save: func(r Record, _ []byte) error { saved = r.clone(); return nil }}
	err := e.run(context.Background(), changes)
	if !errors.Is(err, unix.EPERM) {
		t.Fatalf("start = %v, want EPERM", err)
	}
	if !strings.Contains(err.Error(), vip2.String()) {
		t.Errorf("error %q does not name the VIP", err)
	}
	if len(saved.Addresses) == 0 || len(saved.Sysctls) == 0 {
		t.Fatalf("saved record lost the progress: %+v", saved)
	}
	for _, c := range e.applied {
		if c.Kind == Bind && c.Addr.Prefix.Addr() == vip2 {
			t.Error("the failed bind is listed as applied")
		}
	}
	// A rerun converges...
	f.fail = nil
	rec, _, _, err := apply(t, f, everything(), saved, false)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := Plan(everything(), f.observed(rec)); len(c) != 0 {
		t.Errorf("after the rerun, still planned: %v", c)
	}
	// ...and stop from the partial record alone also undoes everything.
	f2 := newFake()
	f2.fail = func(w string) error {
		if strings.HasPrefix(w, "bind "+vip2.String()) {
			return unix.EPERM
		}
		return nil
	}
	e2 := &executor{k: f2, rec: Record{}, save: func(r Record, _ []byte) error { saved = r.clone(); return nil }}
	_ = e2.run(context.Background(), changes)
	f2.fail = nil
	if _, _, _, err := apply(t, f2, Desired{}, saved, true); err != nil {
		t.Fatal(err)
	}
	after := f2.snap()
	if d := cmp.Diff(normalised(before, after), after, eq, cmp.AllowUnexported(snapshot{})); d != "" {
		t.Errorf("host after stop of a failed start (-before +after):\n%s", d)
	}
}

func TestStopUnbindFailureKeepsARP(t *testing.T) {
	f := newFake()
	rec, _, _, err := apply(t, f, Desired{Bindings: dr(vip1, vip2)}, Record{}, false)
	if err != nil {
		t.Fatal(err)
	}
	f.fail = func(w string) error {
		if strings.HasPrefix(w, "unbind "+vip1.String()) {
			return unix.EBUSY
		}
		return nil
	}
	f.writes = nil
	changes, _ := Plan(Desired{}, f.observed(rec))
	e := &executor{k: f, rec: rec.clone(), teardown: true, save: func(Record, []byte) error { return nil }}
	err = e.run(context.Background(), changes)
	if !errors.Is(err, unix.EBUSY) {
		t.Fatalf("stop = %v, want EBUSY", err)
	}
	// Teardown continued: the other VIP is gone...
	if got := strings.Join(f.writes, "\n"); !strings.Contains(got, "unbind "+vip2.String()) {
		t.Errorf("stop did not continue past the failure: %q", f.writes)
	}
	// ...but no ARP sysctl was restored while vip1 is still bound.
	for _, w := range f.writes {
		if strings.HasPrefix(w, "sysctl") {
			t.Errorf("restored %s while a VIP is still bound", w)
		}
	}
	if len(e.rec.Sysctls) != 4 || len(e.rec.Addresses) != 1 {
		t.Errorf("record after a failed stop: %+v", e.rec)
	}
	f.fail = nil
	rec, _, _, err = apply(t, f, Desired{}, e.rec, true)
	if err != nil || !rec.empty() {
		t.Fatalf("second stop: %v, record %+v", err, rec)
	}
	if f.sys[allI] != "0" {
		t.Errorf("all/arp_ignore = %s after the second stop", f.sys[allI])
	}
}

func TestStopLeavesForeignSysctl(t *testing.T) {
	f := newFake()
	rec, _, _, err := apply(t, f, Desired{Bindings: dr(vip1)}, Record{}, false)
	if err != nil {
		t.Fatal(err)
	}
	f.sys[allA] = "5" // someone else's value now
	f.writes = nil
	changes, warns := Plan(Desired{}, f.observed(rec))
	e := &executor{k: f, rec: rec.clone(), teardown: true, save: func(Record, []byte) error { return nil }}
	if err := e.run(context.Background(), changes); err != nil {
		t.Fatal(err)
	}
	if f.sys[allA] != "5" || len(warns) != 1 || !strings.Contains(warns[0], allA) {
		t.Errorf("all/arp_announce = %s, warnings %q", f.sys[allA], warns)
	}
	if f.sys[loI] != "0" || f.sys[allI] != "0" {
		t.Errorf("other sysctls not restored: %v", f.sys)
	}
}

func TestSwitchDRToTUN(t *testing.T) {
	f := newFake()
	f.sys[allR] = "2"
	rec, _, _, err := apply(t, f, Desired{Bindings: dr(vip1)}, Record{}, false)
	if err != nil {
		t.Fatal(err)
	}
	rec, _, _, err = apply(t, f, Desired{Bindings: tun(vip1)}, rec, false)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{loI: "0", loA: "0", allI: "1", allA: "2", allR: "0", tunI: "1", tunA: "2", tunRF: "0"}
	for k, v := range want {
		if f.sys[k] != v {
			t.Errorf("%s = %s, want %s", k, f.sys[k], v)
		}
	}
	if !f.tun.Up {
		t.Error("tunl0 is down")
	}
	onLoNow := false
	for _, a := range f.addrs {
		if a.Prefix.Addr() == vip1 && a.Dev == "lo" {
			onLoNow = true
		}
	}
	if onLoNow {
		t.Error("VIP still on lo after switching to tun")
	}
	if c, _ := Plan(Desired{Bindings: tun(vip1)}, f.observed(rec)); len(c) != 0 {
		t.Errorf("after the switch, still planned: %v", c)
	}
}
