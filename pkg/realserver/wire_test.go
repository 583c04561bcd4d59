package realserver

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/vishvananda/netlink"
)

// neighTimeout bounds the wait for a neighbour entry to settle; it is a
// safety net, not an assertion: every wait ends on a kernel state.
const neighTimeout = 20 * time.Second

// settle waits until ns's neighbour entry for addr is resolved (its MAC is
// returned) or failed (nil).
func settle(t *testing.T, ns *topo.NS, addr string) net.HardwareAddr {
	t.Helper()
	deadline := time.Now().Add(neighTimeout)
	for time.Now().Before(deadline) {
		e, err := ns.Neigh(addr)
		if err == nil {
			switch {
			case e.State&netlink.NUD_FAILED != 0:
				return nil
			case e.State&(netlink.NUD_REACHABLE|netlink.NUD_STALE|netlink.NUD_DELAY|netlink.NUD_PROBE|netlink.NUD_PERMANENT) != 0:
				return e.HardwareAddr
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: neighbour %s never settled", ns.Name(), addr)
	return nil
}

// poke sends one UDP datagram from ns to dst (from src when valid), which
// makes the kernel resolve the next hop.
func poke(t *testing.T, ns *topo.NS, src, dst netip.Addr) {
	t.Helper()
	err := ns.Do(func() error {
		var laddr *net.UDPAddr
		if src.IsValid() {
			laddr = &net.UDPAddr{IP: src.AsSlice()}
		}
		c, err := net.DialUDP("udp", laddr, &net.UDPAddr{IP: dst.AsSlice(), Port: 9})
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte("who"))
		return err
	})
	if err != nil {
		t.Fatalf("%s: udp %s -> %s: %v", ns.Name(), src, dst, err)
	}
}

// onLink routes addr straight out of dev, so ns asks ARP/ND for it.
func onLink(t *testing.T, ns *topo.NS, dev string, addr netip.Addr) {
	t.Helper()
	l, err := ns.Handle().LinkByName(dev)
	if err == nil {
		err = ns.Handle().RouteReplace(&netlink.Route{Dst: ipNet(netip.PrefixFrom(addr, addr.BitLen())), LinkIndex: l.Attrs().Index, Scope: netlink.SCOPE_LINK})
	}
	if err != nil {
		t.Fatalf("%s: route %s dev %s: %v", ns.Name(), addr, dev, err)
	}
}

// forget removes ns's neighbour entry for addr on dev, if any.
func forgetNeigh(ns *topo.NS, dev string, addr netip.Addr) {
	l, err := ns.Handle().LinkByName(dev)
	if err != nil {
		return
	}
	ns.Handle().NeighDel(&netlink.Neigh{LinkIndex: l.Attrs().Index, IP: addr.AsSlice()})
}

func effectiveZero(t *testing.T, ns *topo.NS, param string) bool {
	t.Helper()
	for _, dev := range []string{"all", "eth0"} {
		v, err := ns.ReadSysctl(fmt.Sprintf("net/ipv4/conf/%s/%s", dev, param))
		if err != nil {
			t.Fatal(err)
		}
		if v != "0" {
			return false
		}
	}
	return true
}

// TestDRSilentOnTheWire proves on a real (host) kernel that a dr real
// server configured by Start never claims its VIPs on the wire: it does
// not answer ARP (arp_ignore) or neighbour solicitations (IPv6, no sysctl
// needed) for them, and never announces a VIP as the sender of its own ARP
// requests (arp_announce). Controls show the same probes do resolve the
// real server's own address, and an IPv4 VIP on lo without lvs-rs.
func TestDRSilentOnTheWire(t *testing.T) {
	p := topo.DR(t)
	rs, cl := p.RS1, p.Client
	rsMAC, err := rs.HardwareAddr("eth0")
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []*topo.NS{rs, cl} {
		for _, k := range []string{"net/ipv4/neigh/eth0/retrans_time_ms", "net/ipv6/neigh/eth0/retrans_time_ms"} {
			if err := ns.WriteSysctl(k, "100"); err != nil {
				t.Fatal(err)
			}
		}
	}
	rs6, cl6 := netip.MustParseAddr("fd00::11"), netip.MustParseAddr("fd00::2")
	if err := rs.AddAddr("eth0", "fd00::11/64"); err != nil {
		t.Fatal(err)
	}
	if err := cl.AddAddr("eth0", "fd00::2/64"); err != nil {
		t.Fatal(err)
	}
	v4, v6 := p.VIP, netip.MustParseAddr("2001:db8::100")
	control := netip.MustParseAddr("10.0.0.200")
	for _, a := range []netip.Addr{v4, v6, control} {
		onLink(t, cl, "eth0", a)
	}

	// Controls: the probe method resolves the real server's own addresses.
	for _, a := range []netip.Addr{p.RS1IP, rs6} {
		poke(t, cl, netip.Addr{}, a)
		if mac := settle(t, cl, a.String()); !bytes.Equal(mac, rsMAC) {
			t.Fatalf("control: client resolved %s to %v, want %s", a, mac, rsMAC)
		}
	}
	// Control: without lvs-rs, an IPv4 VIP on lo is answered on eth0 and
	// announced as an ARP sender.
	if effectiveZero(t, rs, "arp_ignore") && effectiveZero(t, rs, "arp_announce") {
		if err := rs.AddAddr("lo", control.String()+"/32"); err != nil {
			t.Fatal(err)
		}
		poke(t, cl, netip.Addr{}, control)
		if mac := settle(t, cl, control.String()); !bytes.Equal(mac, rsMAC) {
			t.Fatalf("control: without lvs-rs, client resolved %s to %v, want %s (the probe cannot fail)", control, mac, rsMAC)
		}
		forgetNeigh(cl, "eth0", control)
		forgetNeigh(rs, "eth0", p.ClientIP)
		poke(t, rs, control, p.ClientIP)
		settle(t, rs, p.ClientIP.String())
		if mac := settle(t, cl, control.String()); !bytes.Equal(mac, rsMAC) {
			t.Fatalf("control: without arp_announce, the real server's ARP request did not announce %s (got %v)", control, mac)
		}
		if err := rs.Handle().AddrDel(mustLink(t, rs, "lo"), &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(control, 32))}); err != nil {
			t.Fatal(err)
		}
	} else {
		t.Log("the host's defaults already quiet ARP; skipping the no-lvs-rs control")
	}

	// lvs-rs.
	opt := Options{StateDir: filepath.Join(t.TempDir(), "state"), Handle: rs.Handle()}
	err = rs.Do(func() error {
		_, err := Start(context.Background(), Desired{Bindings: dr(v4, v6)}, opt)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []netip.Addr{v4, v6} {
		poke(t, cl, netip.Addr{}, a)
		if mac := settle(t, cl, a.String()); mac != nil {
			t.Errorf("client resolved VIP %s to %s: the real server answered for it", a, mac)
		}
	}
	// The real server sends from the VIP: its ARP request must not name it.
	forgetNeigh(rs, "eth0", p.ClientIP)
	poke(t, rs, v4, p.ClientIP)
	if mac := settle(t, rs, p.ClientIP.String()); mac == nil {
		t.Fatal("the real server could not resolve the client")
	}
	if e, err := cl.Neigh(v4.String()); err == nil && bytes.Equal(e.HardwareAddr, rsMAC) {
		t.Errorf("client learnt VIP %s -> %s from the real server's ARP request", v4, rsMAC)
	}
	// Same for IPv6: a solicitation from the VIP must not teach it.
	forgetNeigh(rs, "eth0", cl6)
	poke(t, rs, v6, cl6)
	settle(t, rs, cl6.String())
	if e, err := cl.Neigh(v6.String()); err == nil && bytes.Equal(e.HardwareAddr, rsMAC) {
		t.Errorf("client learnt VIP %s -> %s from the real server's solicitation", v6, rsMAC)
	}
}

func mustLink(t *testing.T, ns *topo.NS, dev string) netlink.Link {
	t.Helper()
	l, err := ns.Handle().LinkByName(dev)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
