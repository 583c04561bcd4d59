package doctor

import (
	"context"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
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
	got, err := probeARP(context.Background(), f, sender, []netip.Addr{vip1, vip2})
	if err != nil {
		t.Fatal(err)
	}
	want := map[netip.Addr][]string{vip1: {"02:00:00:00:00:0a", "02:00:00:00:00:0b"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("answers (-want +got):\n%s", d)
	}
	if len(f.requests) != arpRequests*2 || f.senders[0] != sender {
		t.Errorf("requests %v from %v; want %d, from %s", f.requests, f.senders, arpRequests*2, sender)
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
