package realserver

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/tunnel"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
)

// tunnelHost is crashHost with fou loaded and another tool's GUE receive
// port on 6081: lvs-rs adopts it when it wants it and never removes it.
func tunnelHost() *fakeKernel {
	f := crashHost()
	f.fou = FOUState{Loaded: true, Ports: []tunnel.FOUPort{{Port: 6081, GUE: true}}}
	return f
}

// TestTunnelChangeInterruptedAtEveryWrite changes the tunnels of a started
// tun real server (ipip to gue and on to gre and back, a gue port moved,
// an adopted port wanted and no longer, gue to dr, two tunnels for one
// VIP) and interrupts the change at each of its writes in turn: killed
// right before it (its intention saved), killed right after it, or
// refused. Then stop (also killed after each of its writes, then run
// again), or start with the new or the old tunnels followed by stop, must
// put the host back exactly as it was before the first start, without a
// warning: every GUE receive port and gre0 lvs-rs made goes, the adopted
// port 6081 stays, tunl0 and gre0 end down. A record holding anything of
// gue or gre is version 4 exactly while it does.
func TestTunnelChangeInterruptedAtEveryWrite(t *testing.T) {
	both := func(bs ...[]config.Binding) Desired { return Desired{Bindings: slices.Concat(bs...)} }
	for _, c := range []struct {
		name   string
		d1, d2 Desired
	}{
		{"none->gue+gre", Desired{}, both(gue(6080, vip1), gre(vip2))},
		{"ipip->gue", both(tun(vip1)), both(gue(6080, vip1))},
		{"gue->gre", both(gue(6080, vip1)), both(gre(vip1))},
		{"gre->ipip", both(gre(vip1)), both(tun(vip1))},
		{"gue 6080->6082", both(gue(6080, vip1)), both(gue(6082, vip1))},
		{"adopted 6081->6080", both(gue(6081, vip1)), both(gue(6080, vip1))},
		{"gue->dr", both(gue(6080, vip1)), both(dr(vip1))},
		{"ipip+gue->ipip+gre", both(tun(vip1), gue(6080, vip1)), both(tun(vip1), gre(vip1))},
	} {
		interruptEveryWrite(t, c.name, tunnelHost, c.d1, c.d2, func(name string, rec Record) {
			if tun := rec.tunnels(); tun != (rec.Version == tunnelVersion) {
				t.Errorf("%s: record version %d holding gue or gre entries %v: want version %d exactly while it does", name, rec.Version, tun, tunnelVersion)
			}
		})
	}
}

// TestGUEAndGRE: a gue real server gets tunl0 up, fou loaded and the GUE
// receive port its director sends to, with the VIP on tunl0; a gre one
// gets gre0 up with the VIP and rp_filter=0 on gre0. A second start
// changes nothing; stop takes all of it back but the modules; the record
// is version 4, which an lvs-rs that reads versions 1 to 3 refuses.
func TestGUEAndGRE(t *testing.T) {
	f := newFake()
	before := f.snap()
	d := Desired{Bindings: slices.Concat(gue(6080, vip1), gre(vip2))}
	rec, changes, _, err := apply(t, f, d, Record{}, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("start:\n%s", strings.Join(kinds(changes), "\n"))
	if !f.tun.Up || !f.gre.Up || !f.fou.Loaded {
		t.Errorf("tunl0 %+v, gre0 %+v, fou loaded %v: want both up and fou loaded", f.tun, f.gre, f.fou.Loaded)
	}
	if f.fou.Ports == nil || f.fou.Ports[0] != (tunnel.FOUPort{Port: 6080, GUE: true}) || len(f.fou.Ports) != 1 {
		t.Errorf("GUE receive ports %+v, want 6080", f.fou.Ports)
	}
	for _, a := range []struct {
		dev, label string
		ip         string
	}{{tunnel.Dev, "tunl0:0", vip1.String()}, {tunnel.GREDev, "gre0:0", vip2.String()}} {
		if !slices.ContainsFunc(f.addrs, func(x vip.Addr) bool {
			return x.Dev == a.dev && x.Label == a.label && x.Prefix.Addr().String() == a.ip
		}) {
			t.Errorf("VIP %s not on %s as %s: %v", a.ip, a.dev, a.label, f.addrs)
		}
	}
	for k, v := range map[string]string{greRF: "0", greI: "1", greA: "2", tunRF: "0", allR: "0", allI: "1", allA: "2"} {
		if f.sys[k] != v {
			t.Errorf("%s = %s, want %s", k, f.sys[k], v)
		}
	}
	if !slices.Equal(rec.FOU, []FOURecord{{Port: 6080}}) || rec.GRE == nil || rec.Tunnel == nil {
		t.Errorf("record: fou %v, gre %v, tunnel %v", rec.FOU, rec.GRE, rec.Tunnel)
	}
	if rec.Version != tunnelVersion || slices.Contains([]int{1, 2, changingVersion}, rec.Version) {
		t.Errorf("record version %d, want %d (unknown to an lvs-rs that reads 1 to 3)", rec.Version, tunnelVersion)
	}
	f.writes = nil
	if _, changes, _, err := apply(t, f, d, rec, false); err != nil || len(changes) != 0 || len(f.writes) != 0 {
		t.Errorf("second start: %q, writes %q, %v", kinds(changes), f.writes, err)
	}
	if rec, _, _, err = apply(t, f, Desired{}, rec, true); err != nil {
		t.Fatal(err)
	}
	if !rec.empty() {
		t.Errorf("record after stop: %+v", rec)
	}
	if diff := cmp.Diff(normalised(before, f.snap()), f.snap(), eq); diff != "" {
		t.Errorf("host after stop (-before +after):\n%s", diff)
	}
}

// TestGUEPortAdopted: a GUE receive port already on the wanted UDP port
// is adopted: not added, not recorded, left by stop.
func TestGUEPortAdopted(t *testing.T) {
	f := tunnelHost()
	d := Desired{Bindings: gue(6081, vip1)}
	rec, changes, _, err := apply(t, f, d, Record{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(changes, func(c Change) bool { return c.Kind == AddFOU || c.Kind == LoadFOU }) || len(rec.FOU) != 0 {
		t.Errorf("start with port 6081 there: %q, recorded %v", kinds(changes), rec.FOU)
	}
	if _, _, _, err := apply(t, f, Desired{}, rec, true); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.fou.Ports, []tunnel.FOUPort{{Port: 6081, GUE: true}}) {
		t.Errorf("after stop the ports are %+v, want the adopted 6081", f.fou.Ports)
	}
}

// TestGUEPortHeldByDirectFOU: a FOU receive port of another kind (direct
// IPIP, ipproto 4) on the wanted UDP port would take the director's GUE
// packets for bare IPIP and drop them: start stops there with an error
// naming the port and the fix, records no port, and leaves that port;
// status reports it as drift.
func TestGUEPortHeldByDirectFOU(t *testing.T) {
	f := newFake()
	f.fou = FOUState{Loaded: true, Ports: []tunnel.FOUPort{{Port: 6080, Protocol: 4}}}
	d := Desired{Bindings: gue(6080, vip1)}
	rec, changes, _, err := apply(t, f, d, Record{}, false)
	if err == nil || !strings.Contains(err.Error(), "ip fou del port 6080") || !strings.Contains(err.Error(), "ipproto 4") {
		t.Fatalf("start = %v, want a refusal naming the port, its protocol and the fix", err)
	}
	if len(rec.FOU) != 0 || !slices.Equal(f.fou.Ports, []tunnel.FOUPort{{Port: 6080, Protocol: 4}}) {
		t.Errorf("recorded %v, ports %+v: want nothing recorded, the port left", rec.FOU, f.fou.Ports)
	}
	i := slices.IndexFunc(changes, func(c Change) bool { return c.Kind == AddFOU })
	if i < 0 || !strings.Contains(changes[i].Drift(), "not a gue receive port") {
		t.Errorf("plan %q: want an AddFOU whose drift says the port is not GUE", kinds(changes))
	}
}
