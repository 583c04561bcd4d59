package doctor

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lvs-rs/lvs-rs/pkg/config"
)

func TestModules(t *testing.T) {
	modules := "ip_vs 16384 0 - Live 0x0\nnf_conntrack 1 1 ip_vs, Live 0x0\n"
	dir := Target{Role: RoleDirector}
	tun := rsTarget(config.ModeTUN, "10.0.0.100")
	run(t, checkModules, tree(t, map[string]string{"proc/modules": modules}), dir, outcome{NameModules, true, nil})
	run(t, checkModules, tree(t, map[string]string{"proc/modules": modules}), tun,
		outcome{NameModules, false, []string{"ipip is not loaded", "modules-load.d"}})
	run(t, checkModules, tree(t, map[string]string{"proc/modules": "", "sys/module/ipip/parameters/log_ecn_error": "Y"}), tun,
		outcome{NameModules, true, nil}) // built in or loaded: /sys/module
	run(t, checkModules, tree(t, map[string]string{"proc/modules": "ip_vs_rr 1 0\n"}), dir,
		outcome{NameModules, false, []string{"ip_vs is not loaded"}}) // a prefix is not the module
}

// arpTree is a real server where every device has the given values.
func arpTree(allIgnore, eth0Ignore, loIgnore, announce string) map[string]string {
	f := map[string]string{}
	conf(f, "all", "arp_ignore", allIgnore)
	conf(f, "eth0", "arp_ignore", eth0Ignore)
	conf(f, "lo", "arp_ignore", loIgnore)
	conf(f, "default", "arp_ignore", "0")
	for _, d := range []string{"all", "eth0", "lo", "default"} {
		conf(f, d, "arp_announce", announce)
	}
	return f
}

func TestARPSysctls(t *testing.T) {
	dr := rsTarget(config.ModeDR, "10.0.0.100")
	// What lvs-rs sets (lo and all) makes every device effectively quiet.
	run(t, checkARPSysctls, tree(t, arpTree("1", "0", "1", "2")), dr, outcome{NameARPSysctls, true, nil})
	// The device's own value counts too: max(all, dev).
	run(t, checkARPSysctls, tree(t, arpTree("0", "1", "1", "2")), dr, outcome{NameARPSysctls, true, nil})
	run(t, checkARPSysctls, tree(t, arpTree("0", "0", "1", "2")), dr,
		outcome{NameARPSysctls, false, []string{"arp_ignore is not 1, 2, 3 or 8 on eth0 0 (all=0, eth0=0):"}})
	run(t, checkARPSysctls, tree(t, arpTree("0", "0", "0", "2")), dr,
		outcome{NameARPSysctls, false, []string{"eth0 0 (all=0, eth0=0), lo 0 (all=0, lo=0)", "net.ipv4.conf.all.arp_ignore=1"}})
	run(t, checkARPSysctls, tree(t, arpTree("1", "0", "1", "0")), dr,
		outcome{NameARPSysctls, false, []string{"arp_announce is not 2"}})
	// Stricter values keep the VIPs quiet; 4 to 7 reply as 0 does, and
	// arp_announce above 2 acts as 0.
	run(t, checkARPSysctls, tree(t, arpTree("2", "0", "8", "2")), dr, outcome{NameARPSysctls, true, nil})
	run(t, checkARPSysctls, tree(t, arpTree("3", "0", "1", "2")), dr, outcome{NameARPSysctls, true, nil})
	run(t, checkARPSysctls, tree(t, arpTree("5", "0", "1", "2")), dr,
		outcome{NameARPSysctls, false, []string{"eth0 5 (all=5, eth0=0), lo 5 (all=5, lo=1)"}})
	run(t, checkARPSysctls, tree(t, arpTree("1", "0", "1", "3")), dr,
		outcome{NameARPSysctls, false, []string{"arp_announce is not 2"}})
	// tunl0 not created yet: it will inherit conf/default.
	tun := rsTarget(config.ModeTUN, "10.0.0.100")
	run(t, checkARPSysctls, tree(t, arpTree("0", "1", "1", "2")), tun,
		outcome{NameARPSysctls, false, []string{"tunl0 0 (all=0, default=0)"}})
	// 3 keeps quiet only addresses bound scope host: not a tun VIP.
	run(t, checkARPSysctls, tree(t, arpTree("3", "1", "1", "2")), tun,
		outcome{NameARPSysctls, false, []string{"arp_ignore is not 1, 2 or 8 on eth0 3", "tunl0 3 (all=3, default=0)"}})
}

func rpTree(all, tunl0 string) map[string]string {
	f := map[string]string{}
	conf(f, "all", "rp_filter", all)
	conf(f, "tunl0", "rp_filter", tunl0)
	return f
}

// eth0Routes are a host's routes on eth0: 10.0.2.0/24, and a default
// route via 10.0.2.1 when defaultRoute is set.
func eth0Routes(defaultRoute bool) []route {
	rs := []route{{Dev: "eth0", Dst: netip.MustParsePrefix("10.0.2.0/24")}}
	if defaultRoute {
		rs = append(rs, route{Dev: "eth0", Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("10.0.2.1")})
	}
	return rs
}

// routed is h with rs as its main table.
func routed(h Host, rs []route) Host {
	h.routeList = func() ([]route, error) { return rs, nil }
	return h
}

func TestRPFilter(t *testing.T) {
	tun := rsTarget(config.ModeTUN, "10.0.0.100")
	h := func(f map[string]string, defaultRoute bool) Host { return routed(tree(t, f), eth0Routes(defaultRoute)) }
	run(t, checkRPFilter, h(rpTree("0", "0"), true), tun, outcome{NameRPFilter, true, nil})
	// The classic trap: tunl0 is 0 but all is 1, and the kernel takes the max.
	run(t, checkRPFilter, h(rpTree("1", "0"), true), tun,
		outcome{NameRPFilter, false, []string{"1 (all=1, tunl0=0)", "net.ipv4.conf.all.rp_filter=0"}})
	run(t, checkRPFilter, h(rpTree("0", "2"), true), tun, outcome{NameRPFilter, true, []string{"loose mode"}})
	strictEth0 := conf(rpTree("0", "0"), "eth0", "rp_filter", "1")
	run(t, checkRPFilter, h(strictEth0, true), tun, outcome{NameRPFilter, true, []string{"outer packets on eth0: strict 1 (all=0, eth0=1)"}})
	run(t, checkRPFilter, h(rpTree("2", "0"), false), tun,
		outcome{NameRPFilter, false, []string{"no default route"}})
	// A blackhole default route covers no client.
	bh := append(eth0Routes(false), route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Kind: "blackhole"})
	run(t, checkRPFilter, routed(tree(t, rpTree("2", "0")), bh), tun,
		outcome{NameRPFilter, false, []string{"no default route"}})
}

func TestTunnelMTU(t *testing.T) {
	tun := rsTarget(config.ModeTUN, "10.0.0.100")
	files := func(tmtu int) map[string]string {
		f := rpTree("0", "0")
		if tmtu == 0 {
			delete(f, "proc/sys/net/ipv4/conf/tunl0/rp_filter")
		}
		return f
	}
	host := func(tmtu int) Host {
		h := routed(tree(t, files(tmtu)), eth0Routes(true))
		h.MTU = func(dev string) (int, error) {
			return map[string]int{"eth0": 1500, "tunl0": tmtu}[dev], nil
		}
		return h
	}
	run(t, checkTunnelMTU, host(1480), tun, outcome{NameTunnelMTU, true, []string{"1520 bytes"}})
	run(t, checkTunnelMTU, host(1500), tun,
		outcome{NameTunnelMTU, false, []string{"tunl0 MTU 1500 is larger than eth0's 1500 minus 20", "ip link set tunl0 mtu 1480"}})
	run(t, checkTunnelMTU, host(0), tun, outcome{NameTunnelMTU, true, []string{"tunl0 does not exist"}})
}

func TestNATGateway(t *testing.T) {
	dflt := func(gw string, metric uint32) route {
		return route{Dev: "eth0", Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr(gw), Metric: metric}
	}
	viaDirector, viaOther := dflt("10.3.0.1", 100), dflt("10.3.0.254", 0)
	nat := rsTarget(config.ModeNAT, "198.51.100.100")
	nat.Gateways = []netip.Addr{netip.MustParseAddr("10.3.0.1")}
	h := func(rs ...route) Host { return routed(tree(t, nil), rs) }
	run(t, checkNATGateway, h(viaDirector), nat, outcome{NameNATGateway, true, nil})
	run(t, checkNATGateway, h(viaDirector, viaOther), nat,
		outcome{NameNATGateway, false, []string{"via 10.3.0.254 dev eth0 (metric 0), not via the director 10.3.0.1"}})
	run(t, checkNATGateway, h(viaDirector, route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Metric: 10, Kind: "unreachable"}), nat,
		outcome{NameNATGateway, false, []string{"is a route of type unreachable (metric 10)"}})
	run(t, checkNATGateway, h(), nat, outcome{NameNATGateway, false, []string{"no default route"}})
	// IPv6 gateway.
	g6 := netip.MustParseAddr("2001:db8::1")
	nat6 := rsTarget(config.ModeNAT, "2001:db8:1::100")
	nat6.Gateways = []netip.Addr{g6}
	viaDirector6 := route{Dev: "eth0", Dst: netip.MustParsePrefix("::/0"), Gateway: g6, Metric: 1024}
	run(t, checkNATGateway, h(viaDirector6), nat6, outcome{NameNATGateway, true, nil})
	run(t, checkNATGateway, h(), rsTarget(config.ModeNAT, "198.51.100.100"), outcome{NameNATGateway, true, []string{"not checked"}})
	// A gateway of a family the host serves no nat VIP of is not checked.
	nat.Gateways = []netip.Addr{netip.MustParseAddr("10.3.0.1"), g6}
	run(t, checkNATGateway, h(viaDirector), nat, outcome{NameNATGateway, true, nil})
	// A dual-stack nat host: each family's gateway is checked.
	dual := rsTarget(config.ModeNAT, "198.51.100.100")
	dual.Bindings = append(dual.Bindings, nat6.Bindings...)
	dual.Gateways = nat.Gateways
	if rs := checkNATGateway(t.Context(), h(viaDirector), dual); len(rs) != 2 || !rs[0].OK || rs[1].OK || !strings.Contains(rs[1].Problem, "no default route: replies to clients never reach the director 2001:db8::1") {
		t.Errorf("dual-stack host without an IPv6 default route: %+v", rs)
	}
	// Each ok line names its gateway: two bare "ok" lines (or JSON
	// results) could not be told apart.
	run(t, checkNATGateway, h(viaDirector, viaDirector6), dual,
		outcome{NameNATGateway, true, []string{"via the director 10.3.0.1"}}, outcome{NameNATGateway, true, []string{"via the director 2001:db8::1"}})
}

func ipvsTree(release, reuse, conntrack, nodest, template string) map[string]string {
	return map[string]string{
		"proc/sys/kernel/osrelease":                      release + "\n",
		"proc/sys/net/ipv4/vs/conn_reuse_mode":           reuse + "\n",
		"proc/sys/net/ipv4/vs/conntrack":                 conntrack + "\n",
		"proc/sys/net/ipv4/vs/expire_nodest_conn":        nodest + "\n",
		"proc/sys/net/ipv4/vs/expire_quiescent_template": template + "\n",
	}
}

func TestConnReuse(t *testing.T) {
	dir := Target{Role: RoleDirector}
	run(t, checkConnReuse, tree(t, ipvsTree("6.1.0-28-amd64", "1", "1", "1", "1")), dir, outcome{NameConnReuse, true, nil})
	run(t, checkConnReuse, tree(t, ipvsTree("5.4.0-150-generic", "1", "0", "1", "1")), dir, outcome{NameConnReuse, true, nil})
	run(t, checkConnReuse, tree(t, ipvsTree("5.4.0-150-generic", "1", "1", "1", "1")), dir,
		outcome{NameConnReuse, false, []string{"kernel 5.4.0-150-generic (before 5.9)", "1 s", "conntrack=0"}})
	run(t, checkConnReuse, tree(t, ipvsTree("5.4.0-150-generic", "2", "1", "1", "1")), dir,
		outcome{NameConnReuse, false, []string{"kernel 5.4.0-150-generic (before 5.9): conn_reuse_mode=2", "1 s"}})
	// dr or tun: their entries end in FIN_WAIT, which only bit 2 reschedules.
	oneWay := Target{Role: RoleDirector, OneWay: true}
	run(t, checkConnReuse, tree(t, ipvsTree("6.1.0", "1", "0", "1", "1")), oneWay,
		outcome{NameConnReuse, false, []string{"conn_reuse_mode=1 with dr or tun", "FIN_WAIT", "conn_reuse_mode: 2 under director.ipvs_sysctls"}})
	run(t, checkConnReuse, tree(t, ipvsTree("6.1.0", "2", "0", "1", "1")), oneWay, outcome{NameConnReuse, true, nil})
	run(t, checkConnReuse, tree(t, ipvsTree("6.1.0", "0", "0", "1", "1")), oneWay,
		outcome{NameConnReuse, false, []string{"conn_reuse_mode=0", "net.ipv4.vs.conn_reuse_mode=2"}})
	run(t, checkConnReuse, tree(t, ipvsTree("6.1.0", "3", "1", "1", "1")), oneWay, outcome{NameConnReuse, true, nil})
	run(t, checkConnReuse, tree(t, ipvsTree("6.1.0", "0", "0", "1", "1")), dir,
		outcome{NameConnReuse, false, []string{"kernel 6.1.0: conn_reuse_mode=0", "weight is 0"}})
	run(t, checkConnReuse, tree(t, map[string]string{"proc/sys/kernel/osrelease": "6.1.0"}), dir,
		outcome{NameConnReuse, false, []string{"is ip_vs loaded?"}})
}

func TestIPVSSysctls(t *testing.T) {
	dir := Target{Role: RoleDirector}
	run(t, checkIPVSSysctls, tree(t, ipvsTree("6.1.0", "1", "0", "1", "1")), dir, outcome{NameIPVSSysctls, true, nil})
	run(t, checkIPVSSysctls, tree(t, ipvsTree("6.1.0", "1", "0", "0", "0")), dir,
		outcome{NameIPVSSysctls, false, []string{"expire_nodest_conn is 0", "sysctl -w net.ipv4.vs.expire_nodest_conn=1"}},
		outcome{NameIPVSSysctls, false, []string{"expire_quiescent_template is 0", "weight 0"}})
}

func TestWriteTable(t *testing.T) {
	var b strings.Builder
	err := WriteTable(&b, []Result{
		{Check: NameModules, OK: true},
		{Check: NameTunnelMTU, OK: true, Note: "n"},
		{Check: NameRPFilter, Problem: "p", Fix: "f"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "modules     ok\ntunnel-mtu  ok (n)\nrp-filter   PROBLEM: p — f\n"
	if d := cmp.Diff(want, b.String()); d != "" {
		t.Errorf("table (-want +got):\n%s", d)
	}
}

func TestChecksByRole(t *testing.T) {
	names := func(tg Target) []string {
		var out []string
		for _, c := range Checks(tg) {
			out = append(out, c.Name)
		}
		return out
	}
	mixed := Target{Role: RoleRealServer, Gateways: []netip.Addr{netip.MustParseAddr("10.3.0.1")}, Bindings: []config.Binding{
		{VIP: netip.MustParseAddr("10.0.0.100"), Mode: config.ModeTUN}, {VIP: netip.MustParseAddr("10.0.0.101"), Mode: config.ModeNAT}}}
	for _, c := range []struct {
		tg   Target
		want []string
	}{
		{Target{Role: RoleDirector}, []string{NameModules, NameARPFlux, NameIPVSSysctls, NameConnReuse, NameSysctlD}},
		{Target{Role: RoleDirector, Interface: "eth0", VIPs: []netip.Addr{netip.MustParseAddr("2001:db8::1")}},
			[]string{NameModules, NameARPFlux, NameNDPFlux, NameIPVSSysctls, NameConnReuse, NameVIPSource, NameKeepAddrOnDown, NameSysctlD}},
		{rsTarget(config.ModeDR, "10.0.0.100"), []string{NameARPSysctls, NameSysctlD}},
		{rsTarget(config.ModeDR, "2001:db8::1"), []string{NameSysctlD}},
		{mixed, []string{NameModules, NameARPSysctls, NameRPFilter, NameTunnelMTU, NameNATGateway, NameSysctlD}},
	} {
		if d := cmp.Diff(c.want, names(c.tg)); d != "" {
			t.Errorf("Checks(%+v) (-want +got):\n%s", c.tg, d)
		}
	}
}

// TestDirectorTargetOneWay: a director's target is one-way when some real
// server is reached by dr or tun, not when all are nat.
func TestDirectorTargetOneWay(t *testing.T) {
	for mode, want := range map[string]bool{"dr": true, "tun": true, "nat": false} {
		cfg, err := config.Parse("lvs-rs.yaml", []byte(`director:
  interface: eth0
virtual_servers:
  - vip: 10.0.0.100
    port: 80
    mode: `+mode+`
    real_servers:
      - address: 10.0.0.11
`))
		if err != nil {
			t.Fatal(err)
		}
		if got := DirectorTarget(cfg).OneWay; got != want {
			t.Errorf("mode %s: OneWay = %v, want %v", mode, got, want)
		}
	}
}
