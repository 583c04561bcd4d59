package reconcile

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// BenchmarkOverlay is one pass's overlay of 1,000 services of 10 checked
// real servers, all up: what every full pass of a daemon holding 11,000
// objects computes (whole), and what a pass after one real server's
// health transition computes (scoped: its service overlaid on the last
// outcome).
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
	b.Run("whole", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out := Overlay(d, in)
			if len(out.Rows) != 10000 {
				b.Fatalf("%d rows", len(out.Rows))
			}
		}
	})
	b.Run("scoped", func(b *testing.B) {
		prev := Overlay(d, in)
		ds := d.Services[500]
		m := Member{ds.Service.Key(), ds.Destinations[5].Key()}
		only := map[ipvs.ServiceKey]bool{m.Service: true}
		b.ReportAllocs()
		for b.Loop() {
			h := in.Health[m]
			h.State = Up + Down - h.State // up, down, up, ...
			in.Health[m] = h
			out, ok := OverlayScoped(prev, d, in, only)
			if !ok || len(out.Rows) != 10000 {
				b.Fatalf("%v, %d rows", ok, len(out.Rows))
			}
			prev = out
		}
	})
}

// BenchmarkInputs gathers a pass's overlay inputs for 1,000 services of
// 10 checked real servers (10,000 health checks, none run): for every
// service (a full pass), and for one (a health transition's pass).
func BenchmarkInputs(b *testing.B) {
	var y strings.Builder
	y.WriteString("director: {interface: eth0}\nvirtual_servers:\n")
	for i := range 1000 {
		fmt.Fprintf(&y, "  - vip: 10.0.0.100\n    port: %d\n    check: {type: tcp}\n    real_servers:\n", 10000+i)
		for j := range 10 {
			fmt.Fprintf(&y, "      - {address: 10.%d.%d.%d}\n", 1+j, i>>8, i&255)
		}
	}
	lp := newLoop(b, y.String())
	one := map[ipvs.ServiceKey]bool{lp.setup.Base.Services[500].Service.Key(): true}
	for _, bc := range []struct {
		name string
		only map[ipvs.ServiceKey]bool
		n    int
	}{{"every", nil, 10000}, {"one", one, 10}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				lp.mu.Lock()
				in := lp.inputs(t0, bc.only)
				lp.mu.Unlock()
				if len(in.Health) != bc.n {
					b.Fatalf("health of %d real servers", len(in.Health))
				}
			}
		})
	}
}
