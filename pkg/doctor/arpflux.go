package doctor

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"
)

// NameARPFlux is the director's ARP flux check: it asks, on the director's
// interface, who has each IPv4 VIP, and names every MAC address other
// than the director's own that answers. Such a host (usually a real server
// whose arp_ignore is 0) steals clients from the director. A MAC that also
// answers for a real server's own address is that real server: always a
// problem. Any other MAC is a problem unless director.announce is set:
// then it is a peer director, which binds the VIP too (README: Several
// directors), and routers reach the VIP through BGP next hops, not ARP;
// it gets a note.
const NameARPFlux = "arp-flux"

// ARPReply is one ARP reply: who claims which address.
type ARPReply struct {
	IP  netip.Addr
	MAC net.HardwareAddr
}

// ARPConn sends ARP requests and reads replies on one interface.
type ARPConn interface {
	// HardwareAddr is the interface's own MAC address.
	HardwareAddr() net.HardwareAddr
	// Request broadcasts "who has target, tell sender".
	Request(sender, target netip.Addr) error
	// Read returns the next ARP reply, or an error once deadline passed.
	Read(deadline time.Time) (ARPReply, error)
	Close() error
}

// ARPDialer opens an ARPConn on the named interface.
type ARPDialer func(iface string) (ARPConn, error)

// arpWords is what arp-flux says.
var arpWords = fluxWords{
	name:     NameARPFlux,
	proto:    "ARP",
	answered: "answered ARP",
	notVia:   "not ARP",
	fixRS:    "on that real server: lvs-rs start --role realserver sets arp_ignore=1 and arp_announce=2 (or: sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2)",
	fixOther: "if that host is a real server: lvs-rs start --role realserver sets arp_ignore=1 and arp_announce=2 (or: sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2); if it is another director: several directors need director.announce and a BGP daemon (README: Several directors)",
}

func checkARPFlux(ctx context.Context, h Host, t Target) []Result {
	var vips, rss []netip.Addr
	for _, v := range t.VIPs {
		if v.Is4() {
			vips = append(vips, v)
		}
	}
	if len(vips) == 0 {
		r := ok(NameARPFlux)
		r.Note = "no IPv4 VIP to probe"
		if len(t.ipv6VIPs()) > 0 {
			r.Note += "; ndp-flux probes the IPv6 ones"
		}
		return []Result{r}
	}
	for _, a := range t.RealServers {
		if a.Is4() && !slices.Contains(vips, a) {
			rss = append(rss, a)
		}
	}
	dial := h.ARP
	if dial == nil {
		dial = DialARP
	}
	sender, err := h.senderAddr(t.Interface, t.VIPs)
	if err != nil {
		return []Result{problem(NameARPFlux, fmt.Sprintf("%s: %v", t.Interface, err), "run doctor on the director, with director.interface naming an existing interface")}
	}
	conn, err := dial(t.Interface)
	if err != nil {
		return []Result{problem(NameARPFlux, fmt.Sprintf("cannot open an ARP socket on %s: %v", t.Interface, err), "run doctor as root on the director")}
	}
	defer conn.Close()
	return fluxCheck(ctx, arpAsker{conn, sender}, arpWords, t.Interface, vips, rss, t.Announce)
}

// arpAsker asks through an ARPConn, from sender.
type arpAsker struct {
	conn   ARPConn
	sender netip.Addr
}

func (a arpAsker) own() string { return a.conn.HardwareAddr().String() }

func (a arpAsker) ask(target netip.Addr) error { return a.conn.Request(a.sender, target) }

func (a arpAsker) answer(deadline time.Time) (netip.Addr, string, error) {
	r, err := a.conn.Read(deadline)
	return r.IP, r.MAC.String(), err
}

// senderAddr picks the IPv4 address the requests come from: the first
// address on the interface that is not a VIP (a real server ignores a
// request from an address it holds itself), else 0.0.0.0 (an RFC 5227
// probe, which hosts answer too).
func (h Host) senderAddr(iface string, vips []netip.Addr) (netip.Addr, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return netip.Addr{}, err
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, err
	}
	for _, a := range addrs {
		p, err := netip.ParsePrefix(a.String())
		if err == nil && p.Addr().Is4() && !slices.Contains(vips, p.Addr()) {
			return p.Addr(), nil
		}
	}
	return netip.IPv4Unspecified(), nil
}
