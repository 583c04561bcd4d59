package scaleout

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/lvs-rs/lvs-rs/internal/topo"
)

// TestGARPOnBind: a neighbour holding a stale entry for the VIP (another
// machine had it) learns the director's MAC as soon as lvs-rs start binds
// the VIP, without sending anything to it.
func TestGARPOnBind(t *testing.T) {
	p := topo.DR(t)
	c := presetCluster(t, p, fmt.Sprintf(`director:
  interface: eth0
virtual_servers:
  - vip: %v
    port: 80
    scheduler: rr
    real_servers:
      - {address: %v}
`, p.VIP, p.RS1IP))
	l, err := p.Client.Handle().LinkByName("eth0")
	c.must(err)
	old := net.HardwareAddr{0x02, 0, 0, 0, 0, 0x99}
	c.must(p.Client.Handle().NeighSet(&netlink.Neigh{LinkIndex: l.Attrs().Index, Family: netlink.FAMILY_V4,
		State: netlink.NUD_STALE, IP: p.VIP.AsSlice(), HardwareAddr: old}))
	// The kernel ignores an update within locktime (1 s) of the last.
	time.Sleep(1200 * time.Millisecond)
	want, err := p.Director.HardwareAddr("eth0")
	c.must(err)
	c.lvsrs(p.Director, "start", "--role", "director")
	var got net.HardwareAddr
	for range 50 {
		if got, err = p.Client.NeighMAC(p.VIP.String()); err == nil && got.String() == want.String() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("client's neighbour entry for %v after start: %v, %v; want the director's %v (was %v)", p.VIP, got, err, want, old)
}
