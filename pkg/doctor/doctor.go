package doctor

import (
	"cmp"
	"context"
	"net/netip"
	"path/filepath"
	"slices"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/reconcile"
	"github.com/lvs-rs/lvs-rs/pkg/tunnel"
)

// Roles a Target is checked for.
const (
	RoleDirector   = "director"
	RoleRealServer = "realserver"
)

// Host is where the checks read the host's state. The zero value is not
// usable; take System or RootedAt.
type Host struct {
	ProcRoot string // "/proc": sysctls (ProcRoot/sys), modules, routes, osrelease
	SysRoot  string // "/sys": /sys/module and /sys/class/net
	// EtcRoot prefixes the sysctl configuration directories: EtcRoot/etc,
	// EtcRoot/run, EtcRoot/usr/lib and EtcRoot/lib. "/" on a real host.
	EtcRoot string
	// ARP opens an ARP socket on an interface (the arp-flux check); nil
	// means DialARP.
	ARP ARPDialer
	// NDP opens an NDP socket on an interface (the ndp-flux check); nil
	// means DialNDP.
	NDP NDPDialer
	// MTU returns a device's MTU; nil asks the kernel (netlink, in the
	// caller's network namespace, which /sys/class/net need not show).
	MTU func(dev string) (int, error)
	// routeList returns the main table's routes; nil asks the kernel
	// (netlink, in the caller's network namespace). Tests set it.
	routeList func() ([]route, error)
}

// System is the running host.
func System() Host { return Host{ProcRoot: "/proc", SysRoot: "/sys", EtcRoot: "/"} }

// RootedAt is a host whose files all live below dir: dir/proc, dir/sys,
// dir/etc, ... (for tests, and for LVS_RS_DOCTOR_ROOT).
func RootedAt(dir string) Host {
	return Host{ProcRoot: filepath.Join(dir, "proc"), SysRoot: filepath.Join(dir, "sys"), EtcRoot: dir}
}

// Target is what this host should be, taken from the cluster config.
type Target struct {
	Role string // RoleDirector or RoleRealServer
	// Director: the interface that carries the VIPs, the VIPs, whether
	// lvs-rs turns ip_forward on, and whether some real server is reached
	// by dr or tun (the director then sees only the client's packets).
	Interface string
	VIPs      []netip.Addr
	IPForward bool
	OneWay    bool
	// Director: the real servers (and sorry servers) of the file, and
	// whether director.announce is set. The arp-flux and ndp-flux checks
	// report a MAC that answers for a VIP as a problem when it is a real
	// server's; with announce, any other answer is a peer director's
	// (routers reach the VIPs through BGP next hops, not ARP or NDP).
	RealServers []netip.Addr
	Announce    bool
	// Director: the mh services with a check (their keys, as status names
	// them), and of those the ones with on_failure: remove, whose real
	// servers are deleted and added again (the mh-table check, with
	// announce).
	MHChecked, MHRemove []string
	// Director: the kernel parameters lvs-rs sets, and their values:
	// those of start's desired state (director.DesiredFrom) and those run
	// adds for checks through the VIP (reconcile.Setup.AddProbes). The
	// sysctl.d check looks for lines that undo them.
	Sysctls []director.SysctlWant
	// Director: whether a real server of an IPv6 service uses nat (the
	// director must forward IPv6).
	NAT6 bool
	// Real server: the VIPs this host serves and how, and the director
	// addresses nat replies must route through, at most one per family
	// (none: not configured).
	Bindings []config.Binding
	Gateways []netip.Addr
}

// DirectorTarget is the director's Target from cfg.
func DirectorTarget(cfg *config.Config) Target {
	t := Target{Role: RoleDirector, Interface: cfg.Director.Interface, IPForward: cfg.Director.IPForward, Announce: cfg.Director.Announce != nil}
	d := director.DesiredFrom(cfg)
	if s, err := reconcile.NewSetup(cfg); err == nil {
		s.AddProbes(&d) // run refuses a file NewSetup refuses: nothing to add
	}
	t.Sysctls = d.Sysctls
	seen := map[netip.Addr]bool{} // a real server in many services is listed once
	addRS := func(a netip.Addr) {
		if a.IsValid() && !seen[a] {
			seen[a] = true
			t.RealServers = append(t.RealServers, a)
		}
	}
	for _, vs := range cfg.VirtualServers {
		if !slices.Contains(t.VIPs, vs.VIP) {
			t.VIPs = append(t.VIPs, vs.VIP)
		}
		checked := false
		for _, rs := range vs.RealServers {
			t.OneWay = t.OneWay || rs.Mode == config.ModeDR || rs.Mode == config.ModeTUN
			t.NAT6 = t.NAT6 || vs.VIP.Unmap().Is6() && cmp.Or(rs.Mode, vs.Mode) == config.ModeNAT
			addRS(rs.Address)
			checked = checked || vs.CheckFor(rs) != nil
		}
		t.NAT6 = t.NAT6 || vs.VIP.Unmap().Is6() && vs.SorryServer.IsValid() && vs.Mode == config.ModeNAT
		addRS(vs.SorryServer)
		if vs.Scheduler == "mh" && checked {
			t.MHChecked = append(t.MHChecked, vs.Key().String())
			if vs.OnFailure == config.OnFailureRemove {
				t.MHRemove = append(t.MHRemove, vs.Key().String())
			}
		}
	}
	return t
}

// hasMode reports whether some binding of t uses mode m (for an IPv4 VIP
// when v4 is set).
func (t Target) hasMode(m config.Mode, v4 bool) bool {
	return slices.ContainsFunc(t.Bindings, func(b config.Binding) bool { return b.Mode == m && (!v4 || b.VIP.Is4()) })
}

// tunDev is a fallback device that holds t's IPv4 tun VIPs: tunl0 (ipip,
// gue) or gre0 (gre), with the most bytes the director's encapsulation of
// those tunnels adds to a packet, and the tunnel types it serves.
type tunDev struct {
	name     string
	overhead int
	types    []string // "ipip", "gue", "gre"
}

// tunnelDevices returns the fallback devices of t's IPv4 tun bindings,
// tunl0 before gre0.
func (t Target) tunnelDevices() []tunDev {
	var out []tunDev
	for _, name := range []string{tunnel.Dev, tunnel.GREDev} {
		d := tunDev{name: name}
		for _, b := range t.Bindings {
			if b.Mode != config.ModeTUN || !b.VIP.Is4() || tunnel.For(b.Tunnel).Name != name {
				continue
			}
			d.overhead = max(d.overhead, tunnel.Overhead(b.Tunnel, b.TunnelFlag))
			typ := string(b.Tunnel)
			if typ == "" {
				typ = string(config.TunnelIPIP)
			}
			if !slices.Contains(d.types, typ) {
				d.types = append(d.types, typ)
			}
		}
		if d.overhead > 0 {
			out = append(out, d)
		}
	}
	return out
}

// Result is one line of the doctor's report: a check's name and either
// ok or a problem with its fix.
type Result struct {
	Check   string `json:"check"`
	OK      bool   `json:"ok"`
	Problem string `json:"problem,omitempty"` // what is wrong
	Fix     string `json:"fix,omitempty"`     // how to fix it
	Note    string `json:"note,omitempty"`    // extra information on an ok line
}

func ok(name string) Result { return Result{Check: name, OK: true} }

func problem(name, what, fix string) Result { return Result{Check: name, Problem: what, Fix: fix} }

// Check is one named check.
type Check struct {
	Name string
	// Run returns at least one Result, each named Name.
	Run func(ctx context.Context, h Host, t Target) []Result
}

// Checks returns the checks that apply to t, in a stable order.
func Checks(t Target) []Check {
	if t.Role == RoleDirector {
		cs := []Check{
			{NameModules, checkModules},
			{NameARPFlux, checkARPFlux},
		}
		if len(t.ipv6VIPs()) > 0 && t.Interface != "" {
			cs = append(cs, Check{NameNDPFlux, checkNDPFlux})
		}
		cs = append(cs, Check{NameIPVSSysctls, checkIPVSSysctls}, Check{NameConnReuse, checkConnReuse})
		if t.NAT6 {
			cs = append(cs, Check{NameIPv6Forwarding, checkIPv6Forwarding})
		}
		if len(t.ipv6VIPs()) > 0 && t.Interface != "" {
			cs = append(cs, Check{NameVIPSource, checkVIPSource}, Check{NameKeepAddrOnDown, checkKeepAddrOnDown})
		}
		if t.Announce && len(t.MHChecked) > 0 {
			cs = append(cs, Check{NameMHTable, checkMHTable})
		}
		return append(cs, Check{NameSysctlD, checkSysctlD})
	}
	var cs []Check
	if t.hasMode(config.ModeTUN, false) {
		cs = append(cs, Check{NameModules, checkModules})
	}
	if t.hasMode(config.ModeDR, true) || t.hasMode(config.ModeTUN, true) {
		cs = append(cs, Check{NameARPSysctls, checkARPSysctls})
	}
	if t.hasMode(config.ModeTUN, true) {
		cs = append(cs, Check{NameRPFilter, checkRPFilter}, Check{NameTunnelMTU, checkTunnelMTU})
	}
	if t.hasMode(config.ModeNAT, false) || (len(t.Bindings) == 0 && len(t.Gateways) > 0) {
		cs = append(cs, Check{NameNATGateway, checkNATGateway})
	}
	return append(cs, Check{NameSysctlD, checkSysctlD})
}

// Run runs every check that applies to t and returns their results in
// order.
func Run(ctx context.Context, h Host, t Target) []Result {
	var out []Result
	for _, c := range Checks(t) {
		out = append(out, c.Run(ctx, h, t)...)
	}
	return out
}

// AllOK reports whether no result is a problem.
func AllOK(rs []Result) bool {
	return !slices.ContainsFunc(rs, func(r Result) bool { return !r.OK })
}
