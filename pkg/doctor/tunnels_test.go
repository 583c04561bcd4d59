package doctor

import (
	"net/netip"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/config"
)

// tunTarget is a tun real server of one IPv4 VIP per binding given.
func tunTarget(bs ...config.Binding) Target {
	for i := range bs {
		bs[i].VIP, bs[i].Mode = netip.AddrFrom4([4]byte{10, 0, 0, byte(100 + i)}), config.ModeTUN
	}
	return Target{Role: RoleRealServer, Bindings: bs}
}

// TestTunnelMTUPerTunnel: the MTU check counts what each tunnel type adds
// at the director (gue 32, 40 with remcsum; gre 24, 28 with csum), on the
// device that decapsulates it (tunl0 for ipip and gue, gre0 for gre), the
// largest of a device's tunnels deciding.
func TestTunnelMTUPerTunnel(t *testing.T) {
	host := func(mtu map[string]int) Host {
		f := rpTree("0", "0")
		conf(f, "gre0", "rp_filter", "0")
		h := routed(tree(t, f), eth0Routes(true))
		mtu["eth0"] = 1500
		h.MTU = func(dev string) (int, error) { return mtu[dev], nil }
		return h
	}
	gue := config.Binding{Tunnel: config.TunnelGUE, TunnelPort: 6080}
	remcsum := config.Binding{Tunnel: config.TunnelGUE, TunnelPort: 6080, TunnelFlag: config.TunnelRemCsum}
	gre := config.Binding{Tunnel: config.TunnelGRE}
	csum := config.Binding{Tunnel: config.TunnelGRE, TunnelFlag: config.TunnelCsum}
	ipip := config.Binding{Tunnel: config.TunnelIPIP}

	// tunl0's default MTU (1480) is too large for gue's 32 bytes.
	run(t, checkTunnelMTU, host(map[string]int{"tunl0": 1480}), tunTarget(gue),
		outcome{NameTunnelMTU, false, []string{"tunl0 MTU 1480 is larger than eth0's 1500 minus 32", "ip link set tunl0 mtu 1468", "1532 bytes"}})
	run(t, checkTunnelMTU, host(map[string]int{"tunl0": 1468}), tunTarget(gue),
		outcome{NameTunnelMTU, true, []string{"1532 bytes", "gue, 32 bytes", "advmss 1428"}})
	run(t, checkTunnelMTU, host(map[string]int{"tunl0": 1468}), tunTarget(remcsum),
		outcome{NameTunnelMTU, false, []string{"minus 40", "ip link set tunl0 mtu 1460"}})
	// ipip and gue on tunl0: the larger overhead decides.
	run(t, checkTunnelMTU, host(map[string]int{"tunl0": 1480}), tunTarget(ipip, gue),
		outcome{NameTunnelMTU, false, []string{"minus 32", "ipip and gue"}})
	// gre0's default MTU (1476) fits gre's 24 bytes, not 28 with csum.
	run(t, checkTunnelMTU, host(map[string]int{"gre0": 1476}), tunTarget(gre),
		outcome{NameTunnelMTU, true, []string{"1524 bytes", "gre0 (gre, 24 bytes"}})
	run(t, checkTunnelMTU, host(map[string]int{"gre0": 1476}), tunTarget(csum),
		outcome{NameTunnelMTU, false, []string{"gre0 MTU 1476 is larger than eth0's 1500 minus 28", "ip link set gre0 mtu 1472"}})
	// ipip and gre: one line per device.
	run(t, checkTunnelMTU, host(map[string]int{"tunl0": 1480, "gre0": 1476}), tunTarget(ipip, gre),
		outcome{NameTunnelMTU, true, []string{"1520 bytes"}}, outcome{NameTunnelMTU, true, []string{"1524 bytes"}})
}

// TestModulesPerTunnel: a gue real server needs ipip and fou, a gre one
// ip_gre; a built-in module without parameters (fou) is found in the
// kernel's modules.builtin.
func TestModulesPerTunnel(t *testing.T) {
	gue := tunTarget(config.Binding{Tunnel: config.TunnelGUE, TunnelPort: 6080})
	gre := tunTarget(config.Binding{Tunnel: config.TunnelGRE})
	files := func(modules string, builtin string) map[string]string {
		return map[string]string{"proc/modules": modules, "proc/sys/kernel/osrelease": "6.1.0-1\n", "lib/modules/6.1.0-1/modules.builtin": builtin}
	}
	run(t, checkModules, tree(t, files("ipip 1 0\n", "")), gue,
		outcome{NameModules, false, []string{"kernel module fou is not loaded", "GUE", "add fou to /etc/modules-load.d"}})
	run(t, checkModules, tree(t, files("ipip 1 0\n", "kernel/net/ipv4/fou.ko\n")), gue, outcome{NameModules, true, nil})
	run(t, checkModules, tree(t, files("", "")), gue,
		outcome{NameModules, false, []string{"ipip is not loaded"}}, outcome{NameModules, false, []string{"fou is not loaded"}})
	run(t, checkModules, tree(t, files("ipip 1 0\n", "")), gre,
		outcome{NameModules, false, []string{"ip_gre is not loaded", "gre0 does not exist"}})
	run(t, checkModules, tree(t, files("ip_gre 1 0\n", "")), gre, outcome{NameModules, true, nil})
}

// TestRPFilterGRE: decapsulated GRE packets arrive on gre0, whose
// effective rp_filter is checked (and tunl0's for ipip next to it).
func TestRPFilterGRE(t *testing.T) {
	gre := tunTarget(config.Binding{Tunnel: config.TunnelGRE})
	f := conf(rpTree("0", "0"), "gre0", "rp_filter", "1")
	h := routed(tree(t, f), eth0Routes(true))
	run(t, checkRPFilter, h, gre,
		outcome{NameRPFilter, false, []string{"effective rp_filter on gre0 is 1 (all=0, gre0=1)", "net.ipv4.conf.gre0.rp_filter=0"}})
	both := tunTarget(config.Binding{}, config.Binding{Tunnel: config.TunnelGRE})
	run(t, checkRPFilter, h, both, outcome{NameRPFilter, true, nil}, outcome{NameRPFilter, false, []string{"gre0"}})
}
