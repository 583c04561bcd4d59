package realserver

import (
	"bytes"
	"net"
	"testing"

	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	rs "github.com/lvs-rs/lvs-rs/pkg/realserver"
	"github.com/moby/ipvs"
)

// macs returns the MACs of the real servers' eth0.
func macs(t *testing.T, p *topo.Preset) map[string]net.HardwareAddr {
	t.Helper()
	out := map[string]net.HardwareAddr{}
	for _, n := range []*topo.NS{p.RS1, p.RS2} {
		m, err := n.HardwareAddr("eth0")
		if err != nil {
			t.Fatal(err)
		}
		out[n.Name()] = m
	}
	return out
}

// TestDRRequest: a director set up by hand forwards to two real servers
// configured by realserver.Start in dr mode; the client's ARP entry for the
// VIP is the director's MAC, never a real server's.
func TestDRRequest(t *testing.T) {
	p := topo.DR(t)
	director(t, p, ipvs.ConnectionFlagDirectRoute)
	var hosts []*host
	for _, n := range []*topo.NS{p.RS1, p.RS2} {
		h := newHost(t, n)
		h.start(rs.Desired{Bindings: binding(config.ModeDR, p.VIP)})
		if _, err := n.ServeEcho(p.VIP.String() + ":80"); err != nil {
			t.Fatal(err)
		}
		hosts = append(hosts, h)
	}
	hitBoth(t, p, 6)

	dmac, err := p.Director.HardwareAddr(p.DirectorIface)
	if err != nil {
		t.Fatal(err)
	}
	mac, err := p.Client.NeighMAC(p.VIP.String())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mac, dmac) {
		t.Errorf("client resolved the VIP to %s, want the director's %s", mac, dmac)
	}
	for name, m := range macs(t, p) {
		if bytes.Equal(mac, m) {
			t.Errorf("client resolved the VIP to %s's MAC", name)
		}
	}
	for _, h := range hosts {
		if r := h.status(); len(r.Drift) != 0 {
			t.Errorf("%s: drift %q", h.ns.Name(), r.Drift)
		}
		h.stop()
	}
}

// TestTUNRequest: the director reaches the real servers only through a
// router and tunnels to them; the real servers are configured by
// realserver.Start in tun mode (with a strict rp_filter beforehand, which
// lvs-rs must lift) and answer the client directly.
func TestTUNRequest(t *testing.T) {
	p := topo.TUN(t)
	director(t, p, ipvs.ConnectionFlagTunnel)
	var hosts []*host
	for _, n := range []*topo.NS{p.RS1, p.RS2} {
		h := newHost(t, n)
		h.setSysctl(key("all", "rp_filter"), "1")
		h.setSysctl(key("default", "rp_filter"), "1")
		h.start(rs.Desired{Bindings: binding(config.ModeTUN, p.VIP)})
		if _, err := n.ServeEcho(p.VIP.String() + ":80"); err != nil {
			t.Fatal(err)
		}
		hosts = append(hosts, h)
	}
	hitBoth(t, p, 6)

	// The router is the only host that shares a segment with the real
	// servers: it must never have learnt the VIP from one of them.
	if e, err := p.Router.Neigh(p.VIP.String()); err == nil {
		for name, m := range macs(t, p) {
			if bytes.Equal(e.HardwareAddr, m) {
				t.Errorf("the router resolved the VIP to %s's MAC", name)
			}
		}
	}
	for _, h := range hosts {
		h.stop()
		if got := h.sysctl(key("all", "rp_filter")); got != "1" {
			t.Errorf("%s: all/rp_filter = %s after stop, want 1", h.ns.Name(), got)
		}
	}
}
