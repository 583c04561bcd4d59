package reconcile

import (
	"net/netip"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// BenchmarkOverlay is one pass's overlay of 1,000 services of 10 checked
// real servers, all up: what every pass of a daemon holding 11,000
// objects computes.
func BenchmarkOverlay(b *testing.B) {
	in := Inputs{Now: t0, Policies: map[ipvs.ServiceKey]Policy{}, Health: map[Member]Health{}}
	d := director.Desired{Interface: "eth0", VIPs: []netip.Addr{vip}}
	for i := range 1000 {
		s := ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: vip, Port: uint16(10000 + i), Scheduler: "wrr", Netmask: 32}
		ds := director.DesiredService{Service: s}
		for j := range 10 {
			a := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}).Next()
			for range j {
				a = a.Next()
			}
			dst := dest(a, s.Port, 1)
			ds.Destinations = append(ds.Destinations, dst)
			in.Health[Member{s.Key(), dst.Key()}] = Health{State: Up}
		}
		d.Services = append(d.Services, ds)
		in.Policies[s.Key()] = Policy{VIP: vip}
	}
	b.ReportAllocs()
	for b.Loop() {
		out := Overlay(d, in)
		if len(out.Rows) != 10000 {
			b.Fatalf("%d rows", len(out.Rows))
		}
	}
}
