package director

import (
	"net/netip"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
)

var cmpOpts = cmp.Options{cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}), cmpopts.EquateEmpty(), cmp.AllowUnexported(Change{})}

var (
	vip1 = netip.MustParseAddr("10.0.0.100")
	vip2 = netip.MustParseAddr("10.0.0.200")
	rs1  = netip.MustParseAddr("10.0.0.11")
	rs2  = netip.MustParseAddr("10.0.0.12")
	rs3  = netip.MustParseAddr("10.0.0.13")
)

// web is the usual test config: one dr service with two real servers.
func web() *config.Config {
	return &config.Config{
		Director: config.Director{Interface: "eth0"},
		VirtualServers: []config.VirtualServer{{
			VIP: vip1, Port: 80, Protocol: config.TCP, Scheduler: "wrr", Mode: config.ModeDR, PersistenceNetmask: 32,
			RealServers: []config.RealServer{
				{Address: rs1, Port: 80, Weight: 1, Mode: config.ModeDR},
				{Address: rs2, Port: 80, Weight: 1, Mode: config.ModeDR},
			},
		}},
	}
}

// svcKey is the key of svc(port).
func svcKey(port uint16) ipvs.ServiceKey {
	s := svc(port)
	return s.Key()
}

// svc is the kernel service web() asks for.
func svc(port uint16) ipvs.Service {
	return ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: vip1, Port: port, Scheduler: "wrr", Netmask: 32}
}

// dstKey is the key of dst(a, port, ...).
func dstKey(a netip.Addr, port uint16) ipvs.DestinationKey {
	return ipvs.DestinationKey{Address: a.Unmap(), Port: port}
}

func dst(a netip.Addr, port uint16, fwd ipvs.ForwardMethod, w uint32) ipvs.Destination {
	return ipvs.Destination{Family: ipvs.Inet, Address: a, Port: port, Forward: fwd, Weight: w}
}

func eth0(a netip.Addr, label string) vip.Addr {
	return vip.Addr{Dev: "eth0", Prefix: vip.HostPrefix(a), Label: label}
}

// converged is the kernel and record after web() was applied.
func converged() (Observed, Owned) {
	s := svc(80)
	obs := Observed{
		Services: map[ipvs.ServiceKey]ObservedService{s.Key(): {
			ServiceExtended: ipvs.ServiceExtended{Service: s},
			Destinations:    []ipvs.Destination{dst(rs1, 80, ipvs.Route, 1), dst(rs2, 80, ipvs.Route, 1)},
		}},
		Addrs:   []vip.Addr{{Dev: "eth0", Prefix: netip.MustParsePrefix("192.0.2.1/24")}, eth0(vip1, "eth0:0")},
		Sysctls: map[string]string{ipf: "0"},
	}
	owned := Owned{
		Services: ownedOf(map[ipvs.ServiceKey]map[ipvs.DestinationKey]bool{
			s.Key(): {dstKey(rs1, 80): true, dstKey(rs2, 80): true},
		}),
		Addrs: []vip.Addr{eth0(vip1, "eth0:0")},
	}
	return obs, owned
}

var ipf = sysctl.IPForward().String()

// ownedOf is the set m lists, sorted as Owned keeps it.
func ownedOf(m map[ipvs.ServiceKey]map[ipvs.DestinationKey]bool) OwnedServices {
	out := OwnedServices{}
	for k, ds := range m {
		s := OwnedService{ServiceKey: k, Destinations: []ipvs.DestinationKey{}}
		for d, ok := range ds {
			if ok {
				s.Destinations = append(s.Destinations, d)
			}
		}
		out = append(out, s)
	}
	return normalOwned(out)
}
