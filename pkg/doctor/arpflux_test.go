package doctor

import (
	"context"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lvs-rs/lvs-rs/pkg/config"
)

// fakeARP answers requests from a table of who claims which address.
type fakeARP struct {
	own      net.HardwareAddr
	claims   map[netip.Addr][]net.HardwareAddr
	queue    []ARPReply
	requests []netip.Addr
	senders  []netip.Addr
}

func (f *fakeARP) HardwareAddr() net.HardwareAddr { return f.own }

func (f *fakeARP) Request(sender, target netip.Addr) error {
	f.requests = append(f.requests, target)
	f.senders = append(f.senders, sender)
	for _, mac := range f.claims[target] {
		f.queue = append(f.queue, ARPReply{IP: target, MAC: mac})
	}
	// Unrelated traffic on the segment must be ignored.
	f.queue = append(f.queue, ARPReply{IP: netip.MustParseAddr("10.0.0.77"), MAC: mac("02:00:00:00:00:77")})
	return nil
}

func (f *fakeARP) Read(time.Time) (ARPReply, error) {
	if len(f.queue) == 0 {
		return ARPReply{}, os.ErrDeadlineExceeded
	}
	r := f.queue[0]
	f.queue = f.queue[1:]
	return r, nil
}

func (f *fakeARP) Close() error { return nil }

func mac(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func TestProbeARP(t *testing.T) {
	vip1, vip2 := netip.MustParseAddr("10.0.0.100"), netip.MustParseAddr("10.0.0.101")
	own := mac("02:00:00:00:00:01")
	f := &fakeARP{own: own, claims: map[netip.Addr][]net.HardwareAddr{
		vip1: {own, mac("02:00:00:00:00:0b"), mac("02:00:00:00:00:0a")},
		vip2: {own},
	}}
	sender := netip.MustParseAddr("10.0.0.1")
	got, err := probe(context.Background(), arpAsker{f, sender}, []netip.Addr{vip1, vip2})
	if err != nil {
		t.Fatal(err)
	}
	want := map[netip.Addr][]string{vip1: {"02:00:00:00:00:0a", "02:00:00:00:00:0b"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("answers (-want +got):\n%s", d)
	}
	if len(f.requests) != probeRounds*2 || f.senders[0] != sender {
		t.Errorf("requests %v from %v; want %d, from %s", f.requests, f.senders, probeRounds*2, sender)
	}
}

func TestARPFluxCheck(t *testing.T) {
	vip := netip.MustParseAddr("10.0.0.100")
	own := mac("02:00:00:00:00:01")
	rs := mac("02:00:00:00:00:0b")
	dial := func(claims ...net.HardwareAddr) ARPDialer {
		return func(string) (ARPConn, error) {
			return &fakeARP{own: own, claims: map[netip.Addr][]net.HardwareAddr{vip: claims}}, nil
		}
	}
	tg := Target{Role: RoleDirector, Interface: "lo", VIPs: []netip.Addr{vip, netip.MustParseAddr("2001:db8::1")}}
	run(t, checkARPFlux, Host{ARP: dial(own)}, tg, outcome{NameARPFlux, true, nil})
	run(t, checkARPFlux, Host{ARP: dial(own, rs)}, tg,
		outcome{NameARPFlux, false, []string{"VIP 10.0.0.100: 02:00:00:00:00:0b answered ARP on lo besides the director (02:00:00:00:00:01)", "arp_ignore=1"}})
	run(t, checkARPFlux, Host{ARP: dial()}, Target{Role: RoleDirector, Interface: "lo", VIPs: []netip.Addr{netip.MustParseAddr("2001:db8::1")}},
		outcome{NameARPFlux, true, []string{"no IPv4 VIP"}})
}

// TestARPFluxSeveralDirectors: with director.announce (README: Several
// directors) every director binds the VIP, so a peer answers ARP for it;
// that is no ARP flux. A real server answering for the VIP still is: its
// MAC is the one that answers for its own address.
func TestARPFluxSeveralDirectors(t *testing.T) {
	vip := netip.MustParseAddr("10.0.0.100")
	rs1, rs2 := netip.MustParseAddr("10.0.0.21"), netip.MustParseAddr("10.0.0.22")
	own, peer := mac("02:00:00:00:00:01"), mac("02:00:00:00:00:02")
	rs1MAC, rs2MAC := mac("02:00:00:00:00:21"), mac("02:00:00:00:00:22")
	dial := func(vipClaims ...net.HardwareAddr) ARPDialer {
		return func(string) (ARPConn, error) {
			return &fakeARP{own: own, claims: map[netip.Addr][]net.HardwareAddr{
				vip: append([]net.HardwareAddr{own}, vipClaims...), rs1: {rs1MAC}, rs2: {rs2MAC}}}, nil
		}
	}
	ecmp := Target{Role: RoleDirector, Interface: "lo", VIPs: []netip.Addr{vip}, RealServers: []netip.Addr{rs1, rs2}, Announce: true}
	// The peer director: a note, not a problem.
	run(t, checkARPFlux, Host{ARP: dial(peer)}, ecmp,
		outcome{NameARPFlux, true, []string{"VIP 10.0.0.100: also answered by 02:00:00:00:00:02", "not a real server", "director.announce"}})
	// A real server answering for the VIP is ARP flux, announce or not;
	// the message names it.
	run(t, checkARPFlux, Host{ARP: dial(peer, rs2MAC)}, ecmp,
		outcome{NameARPFlux, false, []string{"VIP 10.0.0.100: 02:00:00:00:00:22 (real server 10.0.0.22) answered ARP on lo", "arp_ignore=1"}})
	single := ecmp
	single.Announce = false
	run(t, checkARPFlux, Host{ARP: dial(rs1MAC)}, single,
		outcome{NameARPFlux, false, []string{"02:00:00:00:00:21 (real server 10.0.0.21) answered ARP", "arp_ignore=1"}})
	// Without announce an unknown host answering is still a problem: a
	// second director needs announce and BGP.
	run(t, checkARPFlux, Host{ARP: dial(peer)}, single,
		outcome{NameARPFlux, false, []string{"02:00:00:00:00:02 answered ARP on lo", "director.announce"}})
}

// TestDirectorTargetPeers: the director's target carries the real and
// sorry servers of both families, each once, and whether announce is set.
func TestDirectorTargetPeers(t *testing.T) {
	cfg, err := config.Parse("lvs-rs.yaml", []byte(`director:
  interface: eth0
  announce: {table: 100}
virtual_servers:
  - vip: 10.0.0.100
    port: 80
    mode: dr
    sorry_server: 10.0.0.30
    real_servers:
      - address: 10.0.0.21
      - address: 10.0.0.22
  - vip: 10.0.0.100
    port: 443
    mode: dr
    real_servers:
      - address: 10.0.0.22
  - vip: 2001:db8::100
    port: 80
    mode: dr
    real_servers:
      - address: 2001:db8::21
`))
	if err != nil {
		t.Fatal(err)
	}
	tg := DirectorTarget(cfg)
	want := []netip.Addr{netip.MustParseAddr("10.0.0.21"), netip.MustParseAddr("10.0.0.22"), netip.MustParseAddr("10.0.0.30"), netip.MustParseAddr("2001:db8::21")}
	if d := cmp.Diff(want, tg.RealServers, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" || !tg.Announce {
		t.Errorf("RealServers (-want +got):\n%s\nAnnounce = %v, want true", d, tg.Announce)
	}
}
