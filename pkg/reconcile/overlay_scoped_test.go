package reconcile

import (
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// scopedTable is a random configuration for TestOverlayScoped: up to 8
// services on two VIPs (announced), up to 5 real servers each, some with
// a sorry server, some removing failed real servers, some ramping.
func scopedTable(r *rand.Rand) (director.Desired, map[ipvs.ServiceKey]Policy) {
	vips := []netip.Addr{vip, netip.MustParseAddr("10.0.0.200")}
	d := director.Desired{Interface: "eth0", VIPs: vips, Announce: &director.Announce{Table: 100, Protocol: 250, VIPs: vips}}
	pol := map[ipvs.ServiceKey]Policy{}
	for i := range 1 + r.IntN(8) {
		v := vips[r.IntN(2)]
		s := ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: v, Port: uint16(8000 + i), Scheduler: "wrr", Netmask: 32}
		ds := director.DesiredService{Service: s}
		for j := range r.IntN(6) {
			ds.Destinations = append(ds.Destinations, dest(netip.AddrFrom4([4]byte{10, 1, byte(i), byte(j + 1)}), s.Port, uint32(r.IntN(4))))
		}
		p := Policy{VIP: v, Remove: r.IntN(3) == 0}
		if r.IntN(2) == 0 {
			sorry := dest(sry, s.Port, 1)
			p.Sorry = &sorry
		}
		if r.IntN(3) == 0 {
			p.SlowStart = time.Minute
			p.DrainTimeout = time.Hour
		}
		pol[s.Key()] = p
		d.Services = append(d.Services, ds)
	}
	return d, pol
}

// scopedHealth sets, for every real server of ds, a random health, drain
// by hand and kernel weight and connections in in.
func scopedHealth(r *rand.Rand, ds director.DesiredService, in *Inputs) {
	k := ds.Service.Key()
	for _, d := range ds.Destinations {
		m := Member{k, d.Key()}
		delete(in.Health, m)
		delete(in.Drained, m)
		delete(in.Kernel, m)
		switch r.IntN(7) {
		case 0: // no check
		case 1:
			in.Health[m] = Health{State: Pending}
		case 2:
			in.Health[m] = Health{State: Down}
		case 3:
			in.Health[m] = Health{State: Up, Dynamic: true, Weight: uint32(r.IntN(5))}
		case 4:
			in.Health[m] = Health{State: Up, Percent: 1 + r.IntN(200)}
		case 5: // back from down: ramps under slow start
			in.Health[m] = Health{State: Up, Recovered: true, Since: in.Now.Add(-time.Duration(r.IntN(90)) * time.Second)}
		default:
			in.Health[m] = Health{State: Up}
		}
		if r.IntN(6) == 0 {
			in.Drained[m] = in.Now.Add(-time.Duration(r.IntN(3)) * time.Hour)
		}
		if r.IntN(2) == 0 {
			in.Kernel[m] = Observed{Weight: uint32(r.IntN(4)), Conns: uint32(r.IntN(2))}
		}
	}
}

var cmpAddrs = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

// TestOverlayScoped: after the real servers of some services change
// (health, drains, the kernel's weights), overlaying those services alone
// on the last outcome gives what overlaying every service gives (desired
// state, announced VIPs, rows, next wake-up), over random tables; and an
// outcome that cannot be reused (another configuration, a real server
// leaving, a ramp or a drain deadline pending) is refused.
func TestOverlayScoped(t *testing.T) {
	reused := 0
	for seed := range 2000 {
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		b, pol := scopedTable(r)
		in := Inputs{Now: t0, Policies: pol, Health: map[Member]Health{}, Drained: map[Member]time.Time{}, Kernel: map[Member]Observed{}}
		for _, ds := range b.Services {
			scopedHealth(r, ds, &in)
		}
		prev := Overlay(b, in)
		scope := map[ipvs.ServiceKey]bool{}
		for _, ds := range b.Services {
			if r.IntN(3) == 0 {
				scope[ds.Service.Key()] = true
				scopedHealth(r, ds, &in)
			}
		}
		in.Now = t0.Add(time.Duration(r.IntN(3)) * time.Second)
		got, ok := OverlayScoped(prev, b, in, scope)
		if ok != prev.Next.IsZero() {
			t.Fatalf("seed %d: reused %v an outcome whose next wake-up is %v", seed, ok, prev.Next)
		}
		if !ok {
			continue
		}
		reused++
		want := Overlay(b, in)
		if diff := cmp.Diff(want, got, cmpAddrs, cmp.AllowUnexported(Outcome{})); diff != "" {
			t.Fatalf("seed %d, scope %v (-whole +scoped):\n%s", seed, slices.Collect(maps.Keys(scope)), diff)
		}
	}
	t.Logf("%d of 2000 outcomes reused", reused)
	if reused < 200 {
		t.Errorf("only %d of 2000 outcomes reused: the test hardly exercises OverlayScoped", reused)
	}

	b, pol := scopedTable(rand.New(rand.NewPCG(1, 1)))
	in := Inputs{Now: t0, Policies: pol}
	prev := Overlay(b, in)
	if !prev.Reusable(b, in) {
		t.Fatal("a steady outcome is not reusable")
	}
	other := b
	other.Services = slices.Clone(b.Services)
	if prev.Reusable(other, in) {
		t.Error("reused for another configuration (an equal table, another one)")
	}
	leaving := in
	leaving.Leaving = map[Member]Leaving{mem(web, rs1): {Service: web, Destination: dest(rs1, 80, 1), Since: t0}}
	if prev.Reusable(b, leaving) {
		t.Error("reused while a real server leaves the file")
	}
	if Overlay(b, leaving).Reusable(b, in) {
		t.Error("reused an outcome holding a real server leaving the file")
	}
	if (Outcome{}).Reusable(b, in) {
		t.Error("reused the zero outcome")
	}
}
