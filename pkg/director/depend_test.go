package director

import (
	"net/netip"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/nftmark"
)

// TestHolds: what a failed change holds back, and what it does not.
func TestHolds(t *testing.T) {
	fw := ipvs.Service{Family: ipvs.Inet, FWMark: 10, Scheduler: "mh", Netmask: 32}
	marks := []nftmark.Rule{{VIP: vip1, Protocol: 6, Port: 443, Mark: 10}}
	route := func(k Kind, tb RouteTable, v netip.Addr) Change {
		return Change{Kind: k, x: &changeDetail{Route: tb, Prefix: netip.PrefixFrom(v, 32)}}
	}
	t200 := RouteTable{Table: 200, Protocol: 250}
	s80, s443 := svc(80), svc(443)
	other := ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: vip2, Port: 80, Scheduler: "rr", Netmask: 32}
	for _, tc := range []struct {
		name   string
		failed Change
		first  bool // the change asked about is in the first phase
		change Change
		held   bool
	}{
		{"a service's real server after its addition failed", Change{Kind: AddService, Service: s443}, true,
			Change{Kind: AddDestination, Service: s443, Destination: dst(rs1, 443, ipvs.Route, 1)}, true},
		{"another service's real server", Change{Kind: AddService, Service: s443}, true,
			Change{Kind: AddDestination, Service: other, Destination: dst(rs1, 80, ipvs.Route, 1)}, false},
		{"a weight edit", Change{Kind: AddService, Service: s443}, true,
			Change{Kind: EditDestination, Service: s80, Destination: dst(rs1, 80, ipvs.Route, 0)}, false},
		{"the service a port change replaces", Change{Kind: AddService, Service: s443}, false,
			Change{Kind: DeleteService, Service: s80}, true},
		{"a service of another VIP", Change{Kind: AddService, Service: s443}, false,
			Change{Kind: DeleteService, Service: other}, false},
		{"the real server a failed one replaces", Change{Kind: AddDestination, Service: other, Destination: dst(rs2, 80, ipvs.Route, 1)}, false,
			Change{Kind: DeleteDestination, Service: other, Destination: dst(rs1, 80, ipvs.Route, 1)}, true},
		{"the address service a fwmark service replaces", Change{Kind: AddService, Service: fw}, false,
			Change{Kind: DeleteService, Service: s443}, true},
		{"the fwmark service an address service replaces", Change{Kind: AddService, Service: s443}, false,
			Change{Kind: DeleteService, Service: fw}, true},
		{"the route of a VIP whose service failed", Change{Kind: AddService, Service: s443}, true,
			route(AddRoute, t100, vip1), true},
		{"the route of a VIP whose bind failed", Change{Kind: Bind, x: &changeDetail{Addr: eth0(vip2, "eth0:1")}}, true,
			route(AddRoute, t100, vip2), true},
		{"the route of a VIP whose marks failed", Change{Kind: BuildMarks, x: &changeDetail{Marks: marks}}, true,
			route(AddRoute, t100, vip1), true},
		{"another VIP's route", Change{Kind: AddService, Service: s443}, true,
			route(AddRoute, t100, vip2), false},
		{"a route moving protocol, whose VIP's service failed", Change{Kind: AddService, Service: s443}, true,
			route(DeleteRoute, RouteTable{Table: 100, Protocol: 251}, vip1), true},
		{"a withdrawal, whatever failed on its VIP", Change{Kind: AddService, Service: s443}, false,
			route(DeleteRoute, t100, vip1), false},
		{"the route in the old table", route(AddRoute, t200, vip1), false,
			route(DeleteRoute, t100, vip1), true},
		{"what a VIP still announced serves", route(DeleteRoute, t100, vip1), false,
			Change{Kind: DeleteService, Service: s80}, true},
		{"the VIP still announced", route(DeleteRoute, t100, vip1), false,
			Change{Kind: Unbind, x: &changeDetail{Addr: eth0(vip1, "eth0:0")}}, true},
		{"the marks of a VIP whose new service failed", Change{Kind: AddService, Service: s443}, false,
			Change{Kind: RemoveMarks}, true},
		{"a sysctl restored", Change{Kind: AddService, Service: s443}, false,
			Change{Kind: RestoreSysctl}, false},
	} {
		h := newHolds(false, marks, marks)
		h.firstPhase = true
		h.note(&tc.failed, errFake)
		h.firstPhase = tc.first
		if got := h.held(&tc.change); got != tc.held {
			t.Errorf("%s: held = %v, want %v", tc.name, got, tc.held)
		}
		if k := newHolds(true, marks, marks); k.held(&tc.change) {
			t.Errorf("%s: teardown holds it back", tc.name)
		}
	}
}
