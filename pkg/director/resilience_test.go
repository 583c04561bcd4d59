package director

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// announced is twoServices() announced in table 100.
func announced() *config.Config {
	cfg := twoServices()
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
