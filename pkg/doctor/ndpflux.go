package doctor

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"
)

// NameNDPFlux is arp-flux's IPv6 twin, for a director with IPv6 VIPs: it
// sends neighbour solicitations for each IPv6 VIP on the director's
// interface and names every MAC address other than the director's own
// whose neighbour advertisement claims the VIP. Linux answers a
// solicitation only for an address of the interface it arrived on, so a
// dr real server with the VIP on lo is silent; one with the VIP on the
// interface facing the director, or publishing it with proxy_ndp, steals
// clients. The judgement is arp-flux's: a MAC that also answers for a
// real server's own IPv6 address is that real server, always a problem;
// any other MAC is a problem unless director.announce is set (a peer
// director: a note).
const NameNDPFlux = "ndp-flux"

// NDPAdvert is one neighbour advertisement: who claims which address.
type NDPAdvert struct {
	Target netip.Addr       // the address claimed
	MAC    net.HardwareAddr // its target link-layer address option; nil without one
	Source netip.Addr       // the advertisement's IPv6 source address
}

// NDPConn sends neighbour solicitations and reads neighbour
// advertisements on one interface.
type NDPConn interface {
	// HardwareAddr is the interface's own MAC address.
	HardwareAddr() net.HardwareAddr
	// Solicit multicasts a neighbour solicitation for target to its
	// solicited-node group, with a source link-layer address option.
	Solicit(target netip.Addr) error
	// Read returns the next neighbour advertisement, or an error once
	// deadline passed.
	Read(deadline time.Time) (NDPAdvert, error)
	Close() error
}

// NDPDialer opens an NDPConn on the named interface.
type NDPDialer func(iface string) (NDPConn, error)

// ndpFix is how to stop a real server answering for an IPv6 VIP.
const ndpFix = "hold the VIP on lo only (lvs-rs start --role realserver binds a dr VIP there; Linux answers a neighbour solicitation only for an address of the interface it arrived on): ip -6 addr del VIP/128 dev IFACE on the interface facing the director, and publish no proxy entry for it (ip -6 neigh del proxy VIP dev IFACE; net.ipv6.conf.all.proxy_ndp=0)"

// ndpWords is what ndp-flux says.
var ndpWords = fluxWords{
	name:     NameNDPFlux,
	proto:    "NDP",
	answered: "answered neighbour solicitations",
	notVia:   "not neighbour discovery",
	fixRS:    "on that real server: " + ndpFix,
	fixOther: "if that host is a real server: " + ndpFix + "; if it is another director: several directors need director.announce and a BGP daemon (README: Several directors)",
}

func checkNDPFlux(ctx context.Context, h Host, t Target) []Result {
	vips := t.ipv6VIPs()
	var rss []netip.Addr
	for _, a := range t.RealServers {
		if a = a.Unmap(); a.Is6() && !slices.Contains(vips, a) {
			rss = append(rss, a)
		}
	}
	dial := h.NDP
	if dial == nil {
		dial = DialNDP
	}
	conn, err := dial(t.Interface)
	if err != nil {
		return []Result{problem(NameNDPFlux, fmt.Sprintf("cannot open an NDP socket on %s: %v", t.Interface, err),
			"run doctor as root on the director, with director.interface naming an existing interface that is up, with IPv6 enabled and a link-local address")}
	}
	defer conn.Close()
	return fluxCheck(ctx, ndpAsker{conn}, ndpWords, t.Interface, vips, rss, t.Announce)
}

// ndpAsker asks through an NDPConn.
type ndpAsker struct{ conn NDPConn }

func (a ndpAsker) own() string { return a.conn.HardwareAddr().String() }

func (a ndpAsker) ask(target netip.Addr) error { return a.conn.Solicit(target) }

// answer names an advertisement by its target link-layer address; one
// without (RFC 4861 requires it in an answer to a multicast
// solicitation) by its source address.
func (a ndpAsker) answer(deadline time.Time) (netip.Addr, string, error) {
	r, err := a.conn.Read(deadline)
	if err != nil {
		return netip.Addr{}, "", err
	}
	if len(r.MAC) == 0 {
		return r.Target, fmt.Sprintf("%s (no link-layer address option)", r.Source), nil
	}
	return r.Target, r.MAC.String(), nil
}
