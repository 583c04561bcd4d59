package reconcile

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/nstest"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/director"
	vipaddr "github.com/lvs-rs/lvs-rs/pkg/vip"
)

// TestAddProbesAcceptLocalIPv4Only: accept_local, which lets the director
// take the real servers' answers to a check through the VIP (they come
// from the VIP, its own address), is IPv4's; checks through an IPv6 VIP
// alone ask for no sysctl.
func TestAddProbesAcceptLocalIPv4Only(t *testing.T) {
	const v6 = `director:
  interface: eth0
virtual_servers:
  - vip: 2001:db8::100
    port: 80
    mode: dr
    check: {type: tcp, via: vip}
    real_servers:
      - {address: 2001:db8::11}
`
	const v4 = `
  - vip: 10.0.0.100
    port: 80
    mode: dr
    check: {type: tcp, via: vip}
    real_servers:
      - {address: 10.0.0.11}
`
	for _, c := range []struct {
		name, file string
		sysctls    int
	}{{"IPv6 only", v6, 0}, {"IPv6 and IPv4", v6 + v4, 1}} {
		cfg, err := config.Parse("c.yaml", []byte(c.file))
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewSetup(cfg)
		if err != nil {
			t.Fatal(err)
		}
		d := director.Desired{Interface: "eth0"}
		s.AddProbes(&d)
		if len(d.Services) != len(s.Probes) || len(d.Sysctls) != c.sysctls {
			t.Errorf("%s: AddProbes: services %d (probes %d), sysctls %v; want %d sysctls", c.name, len(d.Services), len(s.Probes), d.Sysctls, c.sysctls)
		}
	}
}

// TestOwnSourceDelivered shows, on a real kernel, why: a dr real server
// answering a check through the VIP sends from the VIP (on its lo) to the
// director, which holds the VIP too. With every parameter at its default
// and rp_filter off, IPv4 drops that packet as a martian until
// accept_local=1; IPv6 delivers it.
func TestOwnSourceDelivered(t *testing.T) {
	dir, rs := nstest.New(t), nstest.New(t)
	for _, ns := range []*nstest.NS{dir, rs} {
		if err := ns.Do(func() error {
			// Rather than wait for the link-local addresses' duplicate
			// address detection (neighbour discovery needs them), or
			// the first datagrams are lost in it.
			return os.WriteFile("/proc/sys/net/ipv6/conf/default/accept_dad", []byte("0\n"), 0)
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := dir.Handle.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0"}, PeerName: "eth1", PeerNamespace: netlink.NsFd(rs.Fd())}); err != nil {
		t.Fatal(err)
	}
	add := func(ns *nstest.NS, dev, cidr string) {
		t.Helper()
		l, err := ns.Handle.LinkByName(dev)
		if err != nil {
			t.Fatal(err)
		}
		ip, ipn, _ := net.ParseCIDR(cidr)
		ipn.IP = ip
		if err := ns.Handle.AddrAdd(l, &netlink.Addr{IPNet: ipn, Flags: unix.IFA_F_NODAD}); err != nil {
			t.Fatal(err)
		}
		if err := ns.Handle.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
	for _, ns := range []*nstest.NS{dir, rs} {
		if err := ns.Do(func() error {
			for _, k := range []string{"net/ipv4/conf/all/rp_filter", "net/ipv4/conf/default/rp_filter", "net/ipv4/conf/all/accept_local"} {
				if err := os.WriteFile(filepath.Join("/proc/sys", k), []byte("0\n"), 0); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	add(dir, "eth0", "10.1.0.2/24")
	add(dir, "eth0", "2001:db8:1::2/64")
	add(rs, "eth1", "10.1.0.11/24")
	add(rs, "eth1", "2001:db8:1::11/64")
	for _, v := range []string{"10.1.0.100", "2001:db8:1::100"} {
		a := netip.MustParseAddr(v)
		if err := vipaddr.Bind(dir.Handle, vipaddr.Addr{Dev: "eth0", Prefix: vipaddr.HostPrefix(a)}); err != nil {
			t.Fatal(err)
		}
		if err := vipaddr.Bind(rs.Handle, vipaddr.Addr{Dev: "lo", Prefix: vipaddr.HostPrefix(a), HostScope: a.Is4()}); err != nil {
			t.Fatal(err)
		}
	}
	// delivered sends datagrams from the VIP on rs to the director's own
	// address, one every 100 ms for 2 s (the first wait for neighbour
	// discovery), and reports whether the director's socket got one.
	delivered := func(network, vipAddr, to string) bool {
		t.Helper()
		var conn net.PacketConn
		if err := dir.Do(func() (err error) { conn, err = net.ListenPacket(network, net.JoinHostPort(to, "9000")); return err }); err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var c *net.UDPConn
		if err := rs.Do(func() (err error) {
			c, err = net.DialUDP(network, &net.UDPAddr{IP: net.ParseIP(vipAddr)}, &net.UDPAddr{IP: net.ParseIP(to), Port: 9000})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for end := time.Now().Add(2 * time.Second); time.Now().Before(end); {
			if _, err := c.Write([]byte("answer")); err != nil {
				t.Fatal(err)
			}
			_ = conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			if _, _, err := conn.ReadFrom(make([]byte, 16)); err == nil {
				return true
			}
		}
		return false
	}
	if !delivered("udp6", "2001:db8:1::100", "2001:db8:1::2") {
		t.Error("IPv6: a packet from the director's own VIP was not delivered (would need a sysctl)")
	}
	if delivered("udp4", "10.1.0.100", "10.1.0.2") {
		t.Error("IPv4 delivered a packet from the director's own VIP without accept_local: the control is wrong")
	}
	if err := dir.Do(func() error {
		for _, k := range []string{"net/ipv4/conf/all/accept_local", "net/ipv4/conf/eth0/accept_local"} {
			if err := os.WriteFile(filepath.Join("/proc/sys", k), []byte("1\n"), 0); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !delivered("udp4", "10.1.0.100", "10.1.0.2") {
		t.Error("IPv4: not delivered even with accept_local=1")
	}
}
