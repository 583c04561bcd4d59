package director

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/config"
)

// TestDesiredFromFirstWins checks that DesiredFrom keeps the first of
// repeated VIPs, services and destinations (a hand-built Config may have
// them), both while it looks them up by a scan and past seenFrom, where
// it switches to a map, and that each service keeps its own destinations.
func TestDesiredFromFirstWins(t *testing.T) {
	for _, n := range []int{2, seenFrom, seenFrom + 1, 3 * seenFrom} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			cfg := &config.Config{Director: config.Director{Interface: "eth0"}}
			addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}) }
			for i := range n + 1 {
				v := min(i, n-1) // the last repeats the one before
				vs := config.VirtualServer{VIP: addr(v), Port: 80, Protocol: config.TCP, Scheduler: "wrr", Mode: config.ModeDR, PersistenceNetmask: 32}
				for j := range n + 1 {
					w := min(j, n-1)
					vs.RealServers = append(vs.RealServers, config.RealServer{Address: addr(1000 + 10*i + w), Port: 80, Weight: 1 + j, Mode: config.ModeDR})
				}
				cfg.VirtualServers = append(cfg.VirtualServers, vs)
			}
			d := DesiredFrom(cfg)
			if len(d.VIPs) != n || len(d.Services) != n {
				t.Fatalf("%d VIPs, %d services; want %d of each", len(d.VIPs), len(d.Services), n)
			}
			for i, ds := range d.Services {
				if ds.Service.Address != addr(i) || len(ds.Destinations) != n {
					t.Fatalf("service %d: %v with %d destinations; want %v with %d", i, ds.Service, len(ds.Destinations), addr(i), n)
				}
				for j, dst := range ds.Destinations {
					if dst.Address != addr(1000+10*i+j) || dst.Weight != uint32(1+j) {
						t.Fatalf("service %d destination %d: %v weight %d", i, j, dst.Address, dst.Weight)
					}
				}
				if i > 0 && cap(d.Services[i-1].Destinations) != len(d.Services[i-1].Destinations) {
					t.Fatal("appending to a service's destinations would overwrite the next service's")
				}
			}
		})
	}
}
