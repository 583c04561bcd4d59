package doctor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
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

// ARP probing times: requests per VIP, the gap between them, and how long
// to listen after the last one.
const (
	arpRequests = 3
	arpGap      = 100 * time.Millisecond
	arpListen   = time.Second
)

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

func checkARPFlux(ctx context.Context, h Host, t Target) []Result {
	var vips []netip.Addr
	for _, v := range t.VIPs {
		if v.Is4() {
			vips = append(vips, v)
		}
	}
	if len(vips) == 0 {
		r := ok(NameARPFlux)
		r.Note = "no IPv4 VIP to probe"
		return []Result{r}
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
	answers, err := probeARP(ctx, conn, sender, vips)
	if err != nil {
		return []Result{problem(NameARPFlux, fmt.Sprintf("ARP on %s: %v", t.Interface, err), "run doctor as root on the director")}
	}
	// Only a real server's answer is ARP flux. Its MAC is the one that
	// answers for its own address: ask for the real servers only when
	// some VIP had a foreign answer.
	owners := map[string][]netip.Addr{} // MAC -> the real servers it answers for
	if len(answers) > 0 {
		var rss []netip.Addr
		for _, a := range t.RealServers {
			if a.Is4() && !slices.Contains(vips, a) {
				rss = append(rss, a)
			}
		}
		if len(rss) > 0 {
			byRS, err := probeARP(ctx, conn, sender, rss)
			if err != nil {
				return []Result{problem(NameARPFlux, fmt.Sprintf("ARP on %s: %v", t.Interface, err), "run doctor as root on the director")}
			}
			for _, a := range rss {
				for _, m := range byRS[a] {
					owners[m] = append(owners[m], a)
				}
			}
		}
	}
	var out, notes []Result
	for _, v := range vips {
		var rsMACs, others []string
		for _, m := range answers[v] {
			if rs := owners[m]; len(rs) > 0 {
				rsMACs = append(rsMACs, fmt.Sprintf("%s (real server %s)", m, joinAddrs(rs)))
			} else {
				others = append(others, m)
			}
		}
		switch {
		case len(rsMACs) > 0:
			what := fmt.Sprintf("VIP %s: %s answered ARP on %s besides the director (%s): clients may send the VIP's traffic there",
				v, strings.Join(rsMACs, ", "), t.Interface, conn.HardwareAddr())
			if len(others) > 0 && t.Announce {
				what += fmt.Sprintf(" (%s, not a real server, answered too: a peer director)", strings.Join(others, ", "))
			}
			out = append(out, problem(NameARPFlux, what,
				"on that real server: lvs-rs start --role realserver sets arp_ignore=1 and arp_announce=2 (or: sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2)"))
		case len(others) > 0 && t.Announce:
			r := ok(NameARPFlux)
			r.Note = fmt.Sprintf("VIP %s: also answered by %s on %s, not a real server: a peer director, which binds the VIP too; with director.announce routers reach the VIP through BGP next hops, not ARP",
				v, strings.Join(others, ", "), t.Interface)
			notes = append(notes, r)
		case len(others) > 0:
			out = append(out, problem(NameARPFlux,
				fmt.Sprintf("VIP %s: %s answered ARP on %s besides the director (%s): clients may send the VIP's traffic there", v, strings.Join(others, ", "), t.Interface, conn.HardwareAddr()),
				"if that host is a real server: lvs-rs start --role realserver sets arp_ignore=1 and arp_announce=2 (or: sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2); if it is another director: several directors need director.announce and a BGP daemon (README: Several directors)"))
		}
	}
	if len(out) == 0 {
		out = notes
	}
	if len(out) == 0 {
		out = append(out, ok(NameARPFlux))
	}
	return out
}

// joinAddrs lists addresses, comma separated.
func joinAddrs(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// probeARP asks for each VIP a few times and returns, per VIP, the sorted
// MAC addresses other than conn's own that claimed it.
func probeARP(ctx context.Context, conn ARPConn, sender netip.Addr, vips []netip.Addr) (map[netip.Addr][]string, error) {
	for i := range arpRequests {
		if i > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(arpGap):
			}
		}
		for _, v := range vips {
			if err := conn.Request(sender, v); err != nil {
				return nil, fmt.Errorf("request for %s: %w", v, err)
			}
		}
	}
	deadline := time.Now().Add(arpListen)
	if d, has := ctx.Deadline(); has && d.Before(deadline) {
		deadline = d
	}
	want := map[netip.Addr]bool{}
	for _, v := range vips {
		want[v] = true
	}
	own := conn.HardwareAddr()
	out := map[netip.Addr][]string{}
	for {
		r, err := conn.Read(deadline)
		if errors.Is(err, os.ErrDeadlineExceeded) || (err != nil && !time.Now().Before(deadline)) {
			break
		}
		if err != nil {
			return nil, err
		}
		if !want[r.IP] || bytes.Equal(r.MAC, own) {
			continue
		}
		if mac := r.MAC.String(); !slices.Contains(out[r.IP], mac) {
			out[r.IP] = append(out[r.IP], mac)
		}
	}
	for _, macs := range out {
		slices.Sort(macs)
	}
	return out, nil
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
