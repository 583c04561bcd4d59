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
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// announced is twoServices() announced in table 100.
func announced() *config.Config {
	cfg := twoServices()
	cfg.Director.Announce = &config.Announce{Table: 100, Protocol: 250}
	return cfg
}

// announcedWeb is web() announced in table 100.
func announcedWeb() *config.Config {
	cfg := web()
	cfg.Director.Announce = &config.Announce{Table: 100, Protocol: 250}
	return cfg
}

// weightsOf are the weights the kernel gives the real servers of k.
func (m *memKernel) weightsOf(k ipvs.ServiceKey) map[netip.Addr]uint32 {
	out := map[netip.Addr]uint32{}
	for _, d := range m.dests[k] {
		out[d.Address] = d.Weight
	}
	return out
}

// downOn is d with every real server of the services on vip at weight 0
// and vip withdrawn, as the long-running director asks when they all fail
// their checks.
func downOn(d Desired, vip netip.Addr) Desired {
	d.Services = slices.Clone(d.Services)
	for i := range d.Services {
		ds := &d.Services[i]
		if ds.Service.Address != vip {
			continue
		}
		ds.Destinations = slices.Clone(ds.Destinations)
		for j := range ds.Destinations {
			ds.Destinations[j].Weight = 0
		}
	}
	a := *d.Announce
	a.VIPs = slices.DeleteFunc(slices.Clone(a.VIPs), func(v netip.Addr) bool { return v == vip })
	d.Announce = &a
	return d
}

// TestFailureHoldsBackOnlyItsDependents: a pass with a change the kernel
// refuses for good (a service whose scheduler module is missing, its
// real servers with it; or the addition of :8080 that replaces :80)
// makes every change that does not depend on it: vip2's real servers,
// all down, go to weight 0 and its route is withdrawn; what the failed
// addition was to replace (:80 and its route) stays. The pass fails,
// naming the refused change, and Result.Kernel has the weights the kernel
// has. Before, the first failure stopped the pass (and every later pass
// the same way): vip2 stayed at its weights and announced.
func TestFailureHoldsBackOnlyItsDependents(t *testing.T) {
	vip3 := netip.MustParseAddr("10.0.0.150")
	for _, tc := range []struct {
		name string
		edit func(d *Desired)
		// kept: the service the failed addition replaces, which must stay.
		kept  ipvs.ServiceKey
		named string // the service the error names
	}{
		{name: "a new service the kernel refuses", named: "tcp 10.0.0.150:81", edit: func(d *Desired) {
			s := ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: vip3, Port: 81, Scheduler: "nosuch", Netmask: 32}
			d.Services = append(d.Services, DesiredService{Service: s,
				Destinations: []ipvs.Destination{dst(rs3, 81, ipvs.Route, 1)}})
			d.VIPs = append(d.VIPs, vip3)
			d.Announce.VIPs = append(d.Announce.VIPs, vip3)
		}},
		{name: "a port change whose addition the kernel refuses", kept: svcKey(80), named: "tcp 10.0.0.100:8080", edit: func(d *Desired) {
			d.Services[0].Service.Port = 8080
			d.Services[0].Service.Scheduler = "nosuch"
		}},
	} {
		for _, pipelined := range []bool{false, true} {
			t.Run(tc.name+map[bool]string{false: "", true: ", pipelined"}[pipelined], func(t *testing.T) {
				ctx := context.Background()
				b := newMemBed(t)
				b.k.pipelined = pipelined
				if _, err := Start(ctx, announced(), b.opts()); err != nil {
					t.Fatal(err)
				}
				d := downOn(DesiredFrom(announced()), vip2)
				tc.edit(&d)
				res, err := Converge(ctx, d, b.opts())
				if !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), tc.named) {
					t.Fatalf("pass = %v, want the refusal (ENOENT) naming the service", err)
				}
				k443 := d.Services[1].Service.Key()
				want := map[netip.Addr]uint32{rs1: 0, rs2: 0}
				if got := b.k.weightsOf(k443); !cmp.Equal(want, got, cmpOpts) {
					t.Errorf("vip2's real servers, all down: weights %v, want %v (ops %v)", got, want, b.k.ops)
				}
				got := map[netip.Addr]uint32{}
				for _, x := range res.Kernel[k443].Destinations {
					got[x.Address] = x.Weight
				}
				if !cmp.Equal(want, got, cmpOpts) {
					t.Errorf("Result.Kernel gives vip2's real servers %v, want the kernel's %v", got, want)
				}
				if routes := b.k.net.routes[t100]; !slices.Equal(routes, []netip.Prefix{p1}) {
					t.Errorf("table 100 holds %v, want vip1's route alone (vip2 withdrawn, no route for a VIP whose service failed)", routes)
				}
				if tc.kept != (ipvs.ServiceKey{}) {
					if got := b.k.weightsOf(tc.kept); len(got) != 2 {
						t.Errorf("the failed addition let %v go: %v", tc.kept, b.k.ops)
					}
				}
				// Once the kernel accepts it, a pass converges.
				b.k.schedulers["nosuch"] = true
				if _, err := Converge(ctx, d, b.opts()); err != nil {
					t.Fatal(err)
				}
				if tc.kept != (ipvs.ServiceKey{}) && b.k.find(tc.kept) >= 0 {
					t.Errorf("%v is left once its replacement is added", tc.kept)
				}
				if _, err := Stop(ctx, b.opts()); err != nil {
					t.Fatal(err)
				}
				if len(b.k.services) != 0 || len(b.k.net.routes[t100]) != 0 {
					t.Errorf("stop left %v, routes %v", b.k.services, b.k.net.routes)
				}
			})
		}
	}
}

// TestFailedBindHoldsBackItsRoute: a VIP whose bind fails is not
// announced (it cannot be served), while the other VIP's withdrawal and
// every IPVS change go on.
func TestFailedBindHoldsBackItsRoute(t *testing.T) {
	ctx := context.Background()
	b := newMemBed(t)
	if _, err := Start(ctx, announced(), b.opts()); err != nil {
		t.Fatal(err)
	}
	vip3 := netip.MustParseAddr("10.0.0.150")
	d := downOn(DesiredFrom(announced()), vip2)
	s := ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: vip3, Port: 80, Scheduler: "rr", Netmask: 32}
	d.Services = append(d.Services, DesiredService{Service: s, Destinations: []ipvs.Destination{dst(rs3, 80, ipvs.Route, 1)}})
	d.VIPs = append(d.VIPs, vip3)
	d.Announce.VIPs = append(d.Announce.VIPs, vip3)
	b.k.failW = "bind " + eth0(vip3, "eth0:2").String()
	if _, err := Converge(ctx, d, b.opts()); !errors.Is(err, unix.EPERM) {
		t.Fatalf("pass = %v, want the bind's refusal", err)
	}
	if routes := b.k.net.routes[t100]; !slices.Equal(routes, []netip.Prefix{p1}) {
		t.Errorf("table 100 holds %v, want vip1's route alone", routes)
	}
	if b.k.find(s.Key()) < 0 || len(b.k.dests[s.Key()]) != 1 {
		t.Errorf("the service of the VIP not bound was not added: %v", b.k.ops)
	}
	if got := b.k.weightsOf(d.Services[1].Service.Key()); got[rs1] != 0 || got[rs2] != 0 {
		t.Errorf("vip2's weights %v, want 0", got)
	}
}

// TestConvergeSkipsForeign: with SkipForeign, a service of the desired
// state that another tool created is left out, untouched and unrecorded,
// and named in Result.Foreign, while the rest converges (here vip1's real
// servers go down to weight 0); a VIP whose only service is the other
// tool's is not announced, neither by a full pass nor by a pass of
// another service. Without it (start), the pass refuses before any
// change.
func TestConvergeSkipsForeign(t *testing.T) {
	ctx := context.Background()
	b := newMemBed(t)
	cfg := announced()
	cfg.VirtualServers = cfg.VirtualServers[:1] // vip1:80 alone
	if _, err := Start(ctx, cfg, b.opts()); err != nil {
		t.Fatal(err)
	}
	other := ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: vip2, Port: 443, Scheduler: "rr", Netmask: 32}
	b.k.services = append(b.k.services, ipvs.ServiceExtended{Service: other})
	d := DesiredFrom(announced()) // names vip2:443, now the other tool's
	d.Services[0].Destinations = slices.Clone(d.Services[0].Destinations)
	d.Services[0].Destinations[0].Weight = 0
	o := b.opts()
	if _, err := Converge(ctx, d, o); !errors.Is(err, ErrForeignService) {
		t.Fatalf("pass without SkipForeign = %v, want ErrForeignService", err)
	}
	o.SkipForeign = true
	res, err := Converge(ctx, d, o)
	if err != nil {
		t.Fatalf("pass with SkipForeign: %v", err)
	}
	if !slices.Equal(res.Foreign, []ipvs.ServiceKey{other.Key()}) {
		t.Errorf("Result.Foreign = %v, want %v", res.Foreign, other.Key())
	}
	if got := b.k.weightsOf(svcKey(80)); got[rs1] != 0 || got[rs2] != 1 {
		t.Errorf("vip1:80's weights %v, want rs1 at 0", got)
	}
	if n := len(b.k.dests[other.Key()]); n != 0 || b.k.services[b.k.find(other.Key())].Service != other {
		t.Errorf("the other tool's service was changed: %d real servers added", n)
	}
	if r, _ := b.record(); slices.ContainsFunc(r.Services, func(s OwnedService) bool { return s.ServiceKey == other.Key() }) {
		t.Error("the other tool's service is recorded as lvs-rs's")
	}
	if routes := b.k.net.routes[t100]; !slices.Equal(routes, []netip.Prefix{p1}) {
		t.Errorf("table 100 holds %v, want vip1's route alone (vip2 is served by another tool's service only)", routes)
	}
	// A pass of vip1:80 alone (a health transition) does not announce vip2 either.
	o.Services = []ipvs.ServiceKey{svcKey(80)}
	d.Services[0].Destinations[0].Weight = 1
	if _, err := Converge(ctx, d, o); err != nil {
		t.Fatal(err)
	}
	if routes := b.k.net.routes[t100]; !slices.Equal(routes, []netip.Prefix{p1}) {
		t.Errorf("after a pass of vip1:80 alone table 100 holds %v, want vip1's route alone", routes)
	}
	if got := b.k.weightsOf(svcKey(80)); got[rs1] != 1 {
		t.Errorf("the scoped pass left rs1 at %d", got[rs1])
	}
	if _, err := Stop(ctx, b.opts()); err != nil {
		t.Fatal(err)
	}
	if len(b.k.services) != 1 || b.k.services[0].Service != other || len(b.k.net.routes[t100]) != 0 {
		t.Errorf("stop left %v, routes %v; want the other tool's service alone", b.k.services, b.k.net.routes)
	}
}
