package doctor

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/nstest"
)

// The ndp-flux kernel tests' addresses: the director's, the VIP's and the
// other host's own (a real server's, or a peer director's).
const (
	nsDirector = "2001:db8:5::1/64"
	nsVIP      = "2001:db8:5::100"
	nsOther    = "2001:db8:5::21/64"
)

// ndpLink is a director namespace and another host's, joined by a veth
// (eth0 on both sides), with duplicate address detection off so that the
// link-local addresses are usable at once. The director holds nsDirector
// and the VIP as lvs-rs binds it (deprecated, nodad); the other host
// holds nsOther.
func ndpLink(t *testing.T) (dir, other *nstest.NS) {
	t.Helper()
	dir, other = nstest.New(t), nstest.New(t)
	for _, ns := range []*nstest.NS{dir, other} {
		if err := ns.Do(func() error {
			return os.WriteFile("/proc/sys/net/ipv6/conf/default/accept_dad", []byte("0"), 0o644)
		}); err != nil {
			t.Fatal(err)
		}
	}
	la := netlink.NewLinkAttrs()
	la.Name = "eth0"
	if err := dir.Handle.LinkAdd(&netlink.Veth{LinkAttrs: la, PeerName: "ndp-peer"}); err != nil {
		t.Fatal(err)
	}
	p, err := dir.Handle.LinkByName("ndp-peer")
	if err == nil {
		err = dir.Handle.LinkSetNsFd(p, other.Fd())
	}
	if err == nil {
		p, err = other.Handle.LinkByName("ndp-peer")
	}
	if err == nil {
		err = other.Handle.LinkSetName(p, "eth0")
	}
	if err != nil {
		t.Fatalf("veth into the other namespace: %v", err)
	}
	for _, ns := range []*nstest.NS{dir, other} {
		l, err := ns.Handle.LinkByName("eth0")
		if err == nil {
			err = ns.Handle.LinkSetUp(l)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	addAddr(t, dir, "eth0", nsDirector)
	addAddr(t, dir, "eth0", nsVIP+"/128")
	addAddr(t, other, "eth0", nsOther)
	for _, ns := range []*nstest.NS{dir, other} {
		waitLinkLocal(t, ns)
	}
	return dir, other
}

// addAddr binds cidr on dev, nodad; a /128 (a VIP) deprecated too, as
// lvs-rs binds IPv6 VIPs.
func addAddr(t *testing.T, ns *nstest.NS, dev, cidr string) {
	t.Helper()
	l, err := ns.Handle.LinkByName(dev)
	if err != nil {
		t.Fatal(err)
	}
	a, err := netlink.ParseAddr(cidr)
	if err != nil {
		t.Fatal(err)
	}
	a.Flags = unix.IFA_F_NODAD
	if ones, _ := a.Mask.Size(); ones == 128 {
		a.PreferedLft, a.ValidLft = 0, 0xFFFFFFFF
	}
	if err := ns.Handle.AddrAdd(l, a); err != nil {
		t.Fatalf("%s on %s: %v", cidr, dev, err)
	}
}

// waitLinkLocal waits until eth0 has a link-local address that is not
// tentative: the link is up on this side and the probe can bind it.
func waitLinkLocal(t *testing.T, ns *nstest.NS) {
	t.Helper()
	l, err := ns.Handle.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		as, err := ns.Handle.AddrList(l, netlink.FAMILY_V6)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(as, func(a netlink.Addr) bool {
			return a.IP.IsLinkLocalUnicast() && a.Flags&unix.IFA_F_TENTATIVE == 0
		}) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("eth0 got no usable link-local address in 5 s")
}

// solicitedNode is the range of the solicited-node multicast groups.
var solicitedNode = netip.MustParsePrefix("ff02::1:ff00:0/104")

// kernelState is what the probe must leave as it was on the director:
// its addresses, and its neighbour entries with their MACs: unicast
// ones, and those of solicited-node groups, which the kernel keeps (as
// NOARP entries, never collected on a small table) for a group it sent
// to. Entries of other groups (ff02::2, ff02::16) come and go with the
// kernel's own router solicitations and MLD reports.
func kernelState(t *testing.T, ns *nstest.NS) []string {
	t.Helper()
	as, err := ns.Handle.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range as {
		out = append(out, fmt.Sprintf("addr %s flags %#x", a.IPNet, a.Flags))
	}
	ns6, err := ns.Handle.NeighList(0, netlink.FAMILY_V6)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns6 {
		ip, _ := netip.AddrFromSlice(n.IP)
		if !ip.IsMulticast() || solicitedNode.Contains(ip) {
			out = append(out, fmt.Sprintf("neigh %s dev %d lladdr %s", n.IP, n.LinkIndex, n.HardwareAddr))
		}
	}
	slices.Sort(out)
	return out
}

// ndpFlux runs the check in the director's namespace, through the real
// sockets, for VIP nsVIP on eth0, with director.announce as given; the
// other host is listed as a real server unless peer.
func ndpFlux(t *testing.T, dir *nstest.NS, announce, peer bool) []Result {
	t.Helper()
	tg := Target{Role: RoleDirector, Interface: "eth0", VIPs: []netip.Addr{netip.MustParseAddr(nsVIP)}, Announce: announce}
	if !peer {
		tg.RealServers = []netip.Addr{netip.MustParsePrefix(nsOther).Addr()}
	}
	var rs []Result
	if err := dir.Do(func() error {
		rs = checkNDPFlux(t.Context(), Host{}, tg)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return rs
}

func wantFlux(t *testing.T, what string, rs []Result, okWant bool, has ...string) {
	t.Helper()
	if len(rs) != 1 || rs[0].OK != okWant {
		t.Fatalf("%s: %+v; want one result, ok=%v", what, rs, okWant)
	}
	text := rs[0].Problem + rs[0].Note
	for _, s := range has {
		if !strings.Contains(text, s) {
			t.Errorf("%s: %q lacks %q", what, text, s)
		}
	}
}

// TestNDPFluxKernel: a real server holding the VIP on the interface that
// faces the director answers the director's neighbour solicitation, and
// ndp-flux names its MAC as that real server's; the probe changes neither
// the director's addresses nor its neighbour entries, and closes its
// sockets.
func TestNDPFluxKernel(t *testing.T) {
	dir, rs := ndpLink(t)
	addAddr(t, rs, "eth0", nsVIP+"/128")
	rsMAC := macOf(t, rs)
	before, files := kernelState(t, dir), openFiles(t)
	wantFlux(t, "VIP on the real server's eth0", ndpFlux(t, dir, false, false), false,
		fmt.Sprintf("VIP %s: %s (real server %s) answered neighbour solicitations on eth0", nsVIP, rsMAC, netip.MustParsePrefix(nsOther).Addr()))
	if d := diffStrings(before, kernelState(t, dir)); d != "" {
		t.Errorf("the probe changed the director's addresses or neighbours:\n%s", d)
	}
	if after := openFiles(t); after != files {
		t.Errorf("open files: %d before the check, %d after: a socket was left open", files, after)
	}
}

// TestNDPFluxKernelLo: a dr real server with the VIP on lo does not
// answer a solicitation that arrives on eth0: ndp-flux is ok. The same
// probe gets the real server's answer for its own address, so the
// silence is the VIP's.
func TestNDPFluxKernelLo(t *testing.T) {
	dir, rs := ndpLink(t)
	addAddr(t, rs, "lo", nsVIP+"/128")
	wantFlux(t, "VIP on the real server's lo", ndpFlux(t, dir, false, false), true)
	own := netip.MustParsePrefix(nsOther).Addr()
	var got map[netip.Addr][]string
	if err := dir.Do(func() error {
		c, err := DialNDP("eth0")
		if err != nil {
			return err
		}
		defer c.Close()
		got, err = probe(t.Context(), ndpAsker{c}, []netip.Addr{own})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if want := macOf(t, rs).String(); !slices.Equal(got[own], []string{want}) {
		t.Errorf("answers for the real server's own address %s: %v, want [%s]", own, got[own], want)
	}
}

// TestNDPFluxKernelProxy: a real server that publishes the VIP with
// proxy_ndp (forwarding on, a proxy entry on eth0) answers for it, after
// the kernel's random proxy delay: ndp-flux names it.
func TestNDPFluxKernelProxy(t *testing.T) {
	dir, rs := ndpLink(t)
	addAddr(t, rs, "lo", nsVIP+"/128")
	if err := rs.Do(func() error {
		for _, k := range []string{"all/forwarding", "eth0/proxy_ndp"} {
			if err := os.WriteFile("/proc/sys/net/ipv6/conf/"+k, []byte("1"), 0o644); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	l, err := rs.Handle.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	n := &netlink.Neigh{LinkIndex: l.Attrs().Index, Family: netlink.FAMILY_V6, Flags: netlink.NTF_PROXY, IP: netip.MustParseAddr(nsVIP).AsSlice()}
	if err := rs.Handle.NeighAdd(n); err != nil {
		t.Fatalf("proxy entry: %v", err)
	}
	wantFlux(t, "VIP published by proxy_ndp", ndpFlux(t, dir, false, false), false,
		fmt.Sprintf("VIP %s: %s (real server %s) answered neighbour solicitations on eth0", nsVIP, macOf(t, rs), netip.MustParsePrefix(nsOther).Addr()))
}

// TestNDPFluxKernelPeerDirector: a host that holds the VIP on its
// interface and is no real server is a peer director with
// director.announce (a note), and a problem without.
func TestNDPFluxKernelPeerDirector(t *testing.T) {
	dir, peer := ndpLink(t)
	addAddr(t, peer, "eth0", nsVIP+"/128")
	peerMAC := macOf(t, peer)
	wantFlux(t, "peer director, announce", ndpFlux(t, dir, true, true), true,
		fmt.Sprintf("VIP %s: also answered by %s on eth0, not a real server: a peer director", nsVIP, peerMAC))
	wantFlux(t, "peer director, no announce", ndpFlux(t, dir, false, true), false,
		fmt.Sprintf("VIP %s: %s answered neighbour solicitations on eth0", nsVIP, peerMAC))
}

func macOf(t *testing.T, ns *nstest.NS) net.HardwareAddr {
	t.Helper()
	l, err := ns.Handle.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	return l.Attrs().HardwareAddr
}

// diffStrings lists the lines only in a (-) or only in b (+).
func diffStrings(a, b []string) string {
	var d []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			d = append(d, "- "+s)
		}
	}
	for _, s := range b {
		if !slices.Contains(a, s) {
			d = append(d, "+ "+s)
		}
	}
	return strings.Join(d, "\n")
}

// TestNDPFluxKernelUnusable: on a director interface that is down, or
// whose IPv6 is disabled, ndp-flux says so (the kernel removes the
// link-local address in both cases; "no link-local address" would send
// the reader to the wrong fix).
func TestNDPFluxKernelUnusable(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(dir *nstest.NS) error
		want  string
	}{
		{"down", func(dir *nstest.NS) error {
			l, err := dir.Handle.LinkByName("eth0")
			if err != nil {
				return err
			}
			return dir.Handle.LinkSetDown(l)
		}, "cannot open an NDP socket on eth0: eth0 is down"},
		{"disable_ipv6", func(dir *nstest.NS) error {
			return dir.Do(func() error {
				return os.WriteFile("/proc/sys/net/ipv6/conf/eth0/disable_ipv6", []byte("1"), 0o644)
			})
		}, "IPv6 is disabled on eth0 (net.ipv6.conf.eth0.disable_ipv6=1)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir, _ := ndpLink(t)
			if err := c.setup(dir); err != nil {
				t.Fatal(err)
			}
			wantFlux(t, c.name, ndpFlux(t, dir, false, false), false, c.want)
		})
	}
}

// openFiles counts the test process's open file descriptors.
func openFiles(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}
