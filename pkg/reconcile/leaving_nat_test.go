package reconcile

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

// natSettings are the host-wide settings of a director with an IPv4 nat
// real server, as the in-memory kernel holds them.
func (m *memKernel) natSettings() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return fmt.Sprintf("ip_forward=%s all/send_redirects=%s eth0/send_redirects=%s", m.sysctls[sysctl.IPForward().String()],
		m.sysctls[sysctl.IPv4Conf("all", "send_redirects").String()], m.sysctls[sysctl.IPv4Conf("eth0", "send_redirects").String()])
}

// TestRemovedNATServiceDrainKeepsForwarding: a nat service removed from
// the file while busy drains with ip_forward=1 and send_redirects=0 kept:
// its real server's replies to the clients of its established
// connections are forwarded by the director. They were restored with the
// reload, and every draining connection hung; once the real server is
// idle and deleted, they are restored.
func TestRemovedNATServiceDrainKeepsForwarding(t *testing.T) {
	const nat = `  - vip: 10.0.0.101
    port: 81
    scheduler: wrr
    mode: nat
    drain_timeout: 1h
    real_servers:
      - {address: 127.0.0.3, port: 8081, weight: 3}
`
	lp, k, _ := runLoop(t, leavingVIPConfig(nat))
	const set = "ip_forward=1 all/send_redirects=0 eth0/send_redirects=0"
	if got := k.natSettings(); got != set {
		t.Fatalf("with the nat service: %s, want %s", got, set)
	}
	k.setConns(81, "127.0.0.3", 5)
	writeConfig(t, lp.opts.File, leavingVIPConfig(""))
	lp.Reload()
	waitUntil(t, "the nat real server draining", func() (bool, string) {
		w := k.weights(81)
		return fmt.Sprint(w) == fmt.Sprint(map[string]int{"127.0.0.3": 0}), fmt.Sprint(w)
	})
	// A whole pass after the one that set weight 0 (which would restore
	// the settings last).
	n := counts(lp).passes
	lp.Kick()
	waitUntil(t, "a pass after that", func() (bool, string) { return counts(lp).passes > n+1, "" })
	if got := k.natSettings(); got != set {
		t.Fatalf("while the nat real server drains: %s, want %s", got, set)
	}
	k.setConns(81, "127.0.0.3", 0)
	lp.Kick()
	waitUntil(t, "the settings restored once it is deleted", func() (bool, string) {
		got := k.natSettings()
		return got == "ip_forward=0 all/send_redirects= eth0/send_redirects=", fmt.Sprint(got, k.weights(81))
	})
}

// TestOverlayLeavingNAT: a draining nat real server keeps the forwarding
// settings it left with (Leaving.Forwarding); one that left a file
// leaving them alone, a dr one, or an idle nat one (deleted), asks for
// none, nor for anything else a damaged record names; base's sysctls
// are not edited.
func TestOverlayLeavingNAT(t *testing.T) {
	v6 := ipvs.Service{Family: ipvs.Inet6, Protocol: ipvs.TCP, Address: netip.MustParseAddr("2001:db8::100"), Port: 80, Scheduler: "rr", Netmask: 128}
	nat4 := dest(rs1, 8080, 1)
	nat4.Forward = ipvs.Masq
	nat6 := ipvs.Destination{Family: ipvs.Inet6, Address: netip.MustParseAddr("2001:db8::11"), Port: 80, Forward: ipvs.Masq, Weight: 1}
	fwd4 := []director.SysctlWant{
		{Key: "net/ipv4/conf/all/send_redirects", Value: "0"}, {Key: "net/ipv4/conf/eth0/send_redirects", Value: "0"},
		{Key: "net/ipv4/ip_forward", Value: "1"}}
	fwd6 := []director.SysctlWant{{Key: "net/ipv6/conf/all/forwarding", Value: "1"}}
	for _, c := range []struct {
		name  string
		l     Leaving
		conns uint32
		want  []director.SysctlWant
	}{
		{"nat IPv4 draining", Leaving{Service: web, Destination: nat4, Since: t0, Forwarding: fwd4}, 1, fwd4},
		{"nat IPv6 draining", Leaving{Service: v6, Destination: nat6, Since: t0, Forwarding: fwd6}, 1, fwd6},
		{"nat IPv4 draining, left alone by its file", Leaving{Service: web, Destination: nat4, Since: t0}, 1, nil},
		{"nat IPv4 draining, a damaged record", Leaving{Service: web, Destination: nat4, Since: t0, Forwarding: []director.SysctlWant{
			{Key: "net/ipv4/ip_forward", Value: "0"}, {Key: "net/ipv4/conf/all/rp_filter", Value: "0"}}}, 1, nil},
		{"nat IPv4 idle", Leaving{Service: web, Destination: nat4, Since: t0, Forwarding: fwd4}, 0, nil},
		{"dr draining", Leaving{Service: web, Destination: dest(rs1, 80, 1), Since: t0}, 1, nil},
	} {
		b := director.Desired{Interface: "eth0"}
		b.Want(sysctl.IPVS("sloppy_tcp"), "1")
		m := Member{c.l.Service.Key(), c.l.Destination.Key()}
		got := Overlay(b, Inputs{Now: t0, Leaving: map[Member]Leaving{m: c.l}, Kernel: map[Member]Observed{m: {Conns: c.conns}}})
		want := append([]director.SysctlWant{{Key: "net/ipv4/vs/sloppy_tcp", Value: "1"}}, c.want...)
		slices.SortFunc(want, func(a, b director.SysctlWant) int { return strings.Compare(a.Key, b.Key) })
		if diff := cmp.Diff(want, got.Desired.Sysctls); diff != "" {
			t.Errorf("%s: sysctls (-want +got):\n%s", c.name, diff)
		}
		if len(b.Sysctls) != 1 {
			t.Errorf("%s: base's sysctls edited: %v", c.name, b.Sysctls)
		}
	}
}
