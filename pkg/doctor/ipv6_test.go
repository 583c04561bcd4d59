package doctor

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/config"
)

// dir6 is a director with an IPv6 nat service on eth0.
func dir6() Target {
	cfg := &config.Config{Director: config.Director{Interface: "eth0"}, VirtualServers: []config.VirtualServer{{
		VIP: netip.MustParseAddr("2001:db8:1::100"), Port: 80, Mode: config.ModeNAT,
		RealServers: []config.RealServer{{Address: netip.MustParseAddr("2001:db8:1::101"), Mode: config.ModeNAT}},
	}}}
	return DirectorTarget(cfg)
}

func TestIPv6ChecksApply(t *testing.T) {
	names := func(tg Target) []string {
		var out []string
		for _, c := range Checks(tg) {
			out = append(out, c.Name)
		}
		return out
	}
	tg := dir6()
	if !tg.NAT6 {
		t.Fatal("DirectorTarget: NAT6 not set for an IPv6 nat service")
	}
	got := names(tg)
	for _, n := range []string{NameIPv6Forwarding, NameVIPSource, NameKeepAddrOnDown} {
		if !slices.Contains(got, n) {
			t.Errorf("director checks %v lack %s", got, n)
		}
	}
	v4 := Target{Role: RoleDirector, Interface: "eth0", VIPs: []netip.Addr{netip.MustParseAddr("10.0.0.100")}}
	for _, n := range names(v4) {
		if n == NameIPv6Forwarding || n == NameVIPSource || n == NameKeepAddrOnDown {
			t.Errorf("IPv4 director runs %s", n)
		}
	}
}

func TestIPv6Forwarding(t *testing.T) {
	fwd := func(v string) Host {
		return tree(t, map[string]string{"proc/sys/net/ipv6/conf/all/forwarding": v + "\n"})
	}
	run(t, checkIPv6Forwarding, fwd("1"), dir6(), outcome{NameIPv6Forwarding, true, nil})
	run(t, checkIPv6Forwarding, fwd("0"), dir6(),
		outcome{NameIPv6Forwarding, false, []string{"net.ipv6.conf.all.forwarding is 0 and an IPv6 virtual server uses nat", "lvs-rs start --role director sets it to 1"}})
	run(t, checkIPv6Forwarding, tree(t, map[string]string{"proc/sys/net/ipv4/ip_forward": "1\n"}), dir6(),
		outcome{NameIPv6Forwarding, false, []string{"IPv6 is disabled"}})
}

func TestVIPSource(t *testing.T) {
	const (
		iface = "20010db8000100000000000000000002 02 40 00 80     eth0\n"
		vipOK = "20010db8000100000000000000000100 02 80 00 a2     eth0\n" // deprecated, as lvs-rs binds it
		vipNo = "20010db8000100000000000000000100 02 80 00 82     eth0\n" // bound by another tool
		other = "20010db8000100000000000000000100 03 80 00 82     eth1\n"
	)
	h := func(lines string) Host { return tree(t, map[string]string{"proc/net/if_inet6": lines}) }
	run(t, checkVIPSource, h(iface+vipOK), dir6(), outcome{NameVIPSource, true, nil})
	run(t, checkVIPSource, h(iface+vipNo), dir6(),
		outcome{NameVIPSource, false, []string{"IPv6 VIP 2001:db8:1::100 on eth0 is not deprecated", "ip -6 addr change 2001:db8:1::100/128 dev eth0 preferred_lft 0"}})
	run(t, checkVIPSource, h(iface+other), dir6(), outcome{NameVIPSource, true, nil})
	run(t, checkVIPSource, h(iface), dir6(), outcome{NameVIPSource, true, nil}) // not bound: nothing to say
	run(t, checkVIPSource, tree(t, map[string]string{}), dir6(), outcome{NameVIPSource, true, []string{"IPv6 is disabled"}})
}

func TestKeepAddrOnDown(t *testing.T) {
	h := func(all, eth0 string) Host {
		return tree(t, map[string]string{"proc/sys/net/ipv6/conf/all/keep_addr_on_down": all + "\n", "proc/sys/net/ipv6/conf/eth0/keep_addr_on_down": eth0 + "\n"})
	}
	warn := []string{"keep_addr_on_down is off for eth0", "lvs-rs run binds them again", "net.ipv6.conf.eth0.keep_addr_on_down=1"}
	run(t, checkKeepAddrOnDown, h("0", "0"), dir6(), outcome{NameKeepAddrOnDown, true, warn})
	run(t, checkKeepAddrOnDown, h("1", "0"), dir6(), outcome{NameKeepAddrOnDown, true, nil})
	run(t, checkKeepAddrOnDown, h("0", "1"), dir6(), outcome{NameKeepAddrOnDown, true, nil})
	run(t, checkKeepAddrOnDown, h("-1", "1"), dir6(), outcome{NameKeepAddrOnDown, true, warn}) // all < 0 wins
}

// TestNATGatewayLinkLocal: a link-local realserver.gateway (fe80::1%eth0)
// is the director through its zone's interface only.
func TestNATGatewayLinkLocal(t *testing.T) {
	nat := rsTarget(config.ModeNAT, "2001:db8:1::100")
	nat.Gateways = []netip.Addr{netip.MustParseAddr("fe80::1%eth0")}
	h := func(dev string) Host {
		return routed(tree(t, map[string]string{}), []route{{Dev: dev, Dst: netip.MustParsePrefix("::/0"), Gateway: netip.MustParseAddr("fe80::1"), Metric: 1}})
	}
	run(t, checkNATGateway, h("eth0"), nat, outcome{NameNATGateway, true, nil})
	run(t, checkNATGateway, h("eth1"), nat, outcome{NameNATGateway, false, []string{"via fe80::1 dev eth1"}})
}

// TestNAT6SorryServer: doctor checks IPv6 forwarding for an IPv6 nat
// service whose sorry server alone is nat.
func TestNAT6SorryServer(t *testing.T) {
	cfg := loadConfig(t, `director:
  interface: eth0
virtual_servers:
  - vip: 2001:db8::100
    port: 80
    mode: nat
    sorry_server: 2001:db8:1::50
    real_servers: [{address: 2001:db8:1::11, mode: dr}]
`)
	tg := DirectorTarget(cfg)
	if !tg.NAT6 {
		t.Errorf("NAT6 false with a nat IPv6 sorry server: no ipv6-forwarding check")
	}
}

// TestSysctlDAcceptRA: an IPv6 nat director: start sets forwarding=1 and
// accept_ra=2 on every interface with 1; a sysctl.d line putting accept_ra
// back to 1 makes the forwarding host ignore router advertisements (its
// default route expires).
func TestSysctlDAcceptRA(t *testing.T) {
	cfg := loadConfig(t, `director:
  interface: eth0
virtual_servers:
  - vip: 2001:db8::100
    port: 80
    mode: nat
    real_servers: [{address: 2001:db8:1::11}]
`)
	tg := DirectorTarget(cfg)
	h := tree(t, map[string]string{"etc/sysctl.d/90-net.conf": "net.ipv6.conf.eth0.accept_ra = 1\nnet.ipv6.conf.default.accept_ra = 1\n"})
	rs := checkSysctlD(t.Context(), h, tg)
	if AllOK(rs) {
		t.Errorf("sysctl.d: %+v; want accept_ra = 1 reported (lvs-rs sets 2 so the forwarding director keeps learning its default route)", rs)
	}
}
