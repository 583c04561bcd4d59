package realserver

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/lvs-rs/lvs-rs/pkg/arp"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
	"github.com/lvs-rs/lvs-rs/pkg/tunnel"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
)

// ErrInvalid marks a Desired that cannot be applied (an unknown mode, one
// VIP in both dr and tun, tun with an IPv6 VIP, ...). Nothing was changed;
// the CLI maps it to exit code 2.
var ErrInvalid = errors.New("invalid real-server configuration")

// Desired is what a real server should look like.
type Desired struct {
	// Bindings are the VIPs this host accepts traffic for, each with its
	// forwarding mode and, for tun, its tunnel (config.RealServerVIPs or
	// config.RealServerFromFlags; a tun binding without a tunnel type is
	// ipip; its flag is the director's business and ignored here).
	Bindings []config.Binding
	// Gateways are the director addresses nat replies must route
	// through, at most one per family: lvs-rs makes each the default
	// route of its family. A link-local IPv6 gateway needs a zone naming its
	// interface (fe80::1%eth0); a zone on any other IPv6 gateway binds
	// the route to that interface too. A gateway is applied when some
	// binding is nat with a VIP of its family, or when there are no
	// bindings at all (lvs-rs start --mode nat --gateway A --gateway B);
	// one of a family the host serves no nat VIP of is left unused, and a
	// dr/tun-only host ignores them with a warning, because moving its
	// default route would break it.
	Gateways []netip.Addr
}

// Normalize checks d and returns it in canonical form: VIPs unmapped,
// bindings deduplicated and sorted by VIP then mode. Errors wrap ErrInvalid
// and name the VIP or gateway.
func (d Desired) Normalize() (Desired, error) {
	out, errs := d.sift()
	if err := errors.Join(errs...); err != nil {
		return Desired{}, err
	}
	return out, nil
}

// canon is Normalize for the pure planner: what Normalize would reject is
// skipped (for one VIP in two modes, the first in sorted order wins), so
// Plan is total.
func (d Desired) canon() Desired {
	out, _ := d.sift()
	return out
}

// sift returns the usable part of d in canonical form and a problem for
// every binding or gateway it left out.
func (d Desired) sift() (Desired, []error) {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...))
	}
	bs := slices.Clone(d.Bindings)
	for i := range bs {
		bs[i].VIP = bs[i].VIP.Unmap()
		bs[i].TunnelFlag = "" // the director's business: the receiving end is the same
		switch {
		case bs[i].Mode != config.ModeTUN:
			bs[i].Tunnel, bs[i].TunnelPort = "", 0
		case bs[i].Tunnel == config.TunnelIPIP:
			bs[i].Tunnel = "" // ipip is the default; its record has no tunnel
		}
		if bs[i].Tunnel != config.TunnelGUE && bs[i].Tunnel != "" {
			bs[i].TunnelPort = 0
		}
	}
	sortBindings(bs)
	out := Desired{}
	onHost := map[netip.Addr]config.Mode{} // dr or tun
	for _, b := range bs {
		switch {
		case !b.Mode.Valid():
			bad("VIP %s: unknown mode %q (want dr, tun or nat)", b.VIP, b.Mode)
			continue
		case !b.VIP.IsValid(), b.VIP.IsUnspecified(), b.VIP.IsLoopback(), b.VIP.IsMulticast():
			bad("VIP %s: not a usable unicast address", b.VIP)
			continue
		case b.Mode == config.ModeTUN && b.VIP.Is6():
			bad("VIP %s: tun mode with an IPv6 VIP needs ip6tnl (ip6tnl0), which lvs-rs does not support; use dr for IPv6", b.VIP)
			continue
		case b.Tunnel != "" && b.Tunnel != config.TunnelGUE && b.Tunnel != config.TunnelGRE:
			bad("VIP %s: unknown tunnel type %q (want ipip, gue or gre)", b.VIP, b.Tunnel)
			continue
		case b.Tunnel == config.TunnelGUE && b.TunnelPort == 0:
			bad("VIP %s: a gue tunnel needs the UDP port the director sends to", b.VIP)
			continue
		}
		if b.Mode != config.ModeNAT {
			if m, ok := onHost[b.VIP]; ok && m != b.Mode {
				bad("VIP %s: wanted in both %s and %s mode; one host serves a VIP in one mode", b.VIP, m, b.Mode)
				continue
			}
			onHost[b.VIP] = b.Mode
		}
		if n := len(out.Bindings); n > 0 && out.Bindings[n-1] == b {
			continue // duplicate (sorted, so adjacent)
		}
		out.Bindings = append(out.Bindings, b)
	}
	for _, g := range d.Gateways {
		g = g.Unmap()
		switch {
		case !g.IsValid():
			continue
		case g.IsUnspecified() || g.IsMulticast() || g.IsLoopback():
			bad("gateway %s: not a usable unicast address", g)
			continue
		case g.Is6() && g.IsLinkLocalUnicast() && g.Zone() == "":
			bad("gateway %s: a link-local address is reached through one interface: name it, %s%%IFACE", g, g)
			continue
		}
		if o := out.gateway(g.Is6()); o.IsValid() {
			if o != g {
				bad("gateways %s and %s: one gateway per family (%s)", o, g, familyName(g.Is6()))
			}
			continue
		}
		out.Gateways = append(out.Gateways, g)
	}
	slices.SortFunc(out.Gateways, func(a, b netip.Addr) int { return cmp.Compare(a.BitLen(), b.BitLen()) }) // IPv4 first
	return out, errs
}

// familyName names a family for messages: IPv6 when v6, else IPv4.
func familyName(v6 bool) string {
	if v6 {
		return "IPv6"
	}
	return "IPv4"
}

// gateway returns d's gateway of a family (IPv6 when v6), the zero Addr
// when it has none.
func (d Desired) gateway(v6 bool) netip.Addr {
	for _, g := range d.Gateways {
		if g.Is6() == v6 {
			return g
		}
	}
	return netip.Addr{}
}

func sortBindings(bs []config.Binding) {
	slices.SortFunc(bs, func(a, b config.Binding) int {
		return cmp.Or(a.VIP.Compare(b.VIP), cmp.Compare(a.Mode, b.Mode), cmp.Compare(a.Tunnel, b.Tunnel), cmp.Compare(a.TunnelPort, b.TunnelPort))
	})
}

// device returns where a binding's VIP goes: lo (dr); for tun the device
// that decapsulates its tunnel, tunl0 (ipip, gue) or gre0 (gre); "" (nat).
func device(b config.Binding) string {
	switch b.Mode {
	case config.ModeDR:
		return "lo"
	case config.ModeTUN:
		return tunnel.For(b.Tunnel).Name
	}
	return ""
}

// tunnelName names a binding's tunnel for people: "ipip", "gue port
// 6080", "gre"; "" for dr and nat.
func tunnelName(b config.Binding) string {
	switch {
	case b.Mode != config.ModeTUN:
		return ""
	case b.Tunnel == config.TunnelGUE:
		return fmt.Sprintf("gue port %d", b.TunnelPort)
	case b.Tunnel == "":
		return string(config.TunnelIPIP)
	}
	return string(b.Tunnel)
}

// routed reports whether gw, a gateway of d, is to become the default
// route of its family: when there are no bindings at all, or some
// binding is nat with a VIP of gw's family.
func (d Desired) routed(gw netip.Addr) bool {
	if !gw.IsValid() {
		return false
	}
	if len(d.Bindings) == 0 {
		return true
	}
	return d.servesNAT(gw.Is6())
}

// servesNAT reports whether some binding of d is nat with a VIP of a
// family (IPv6 when v6).
func (d Desired) servesNAT(v6 bool) bool {
	return slices.ContainsFunc(d.Bindings, func(b config.Binding) bool { return b.Mode == config.ModeNAT && b.VIP.Is6() == v6 })
}

// RoutedGateways returns the gateways of d that are to become the default
// route of their family (see routed), in d's order: what start routes
// through, and what doctor's nat-gateway check looks for.
func (d Desired) RoutedGateways() []netip.Addr {
	var out []netip.Addr
	for _, gw := range d.Gateways {
		if d.routed(gw) {
			out = append(out, gw)
		}
	}
	return out
}

// anyRouted reports whether some gateway of d is to become a default
// route.
func (d Desired) anyRouted() bool {
	return slices.ContainsFunc(d.Gateways, d.routed)
}

// needsTunnel reports whether any binding is tun through tunl0 (ipip or
// gue: GUE carries IPIP packets, which tunl0 decapsulates).
func (d Desired) needsTunnel() bool { return d.needsDevice(tunnel.Dev) }

// needsGRE reports whether any binding is tun through gre0 (gre).
func (d Desired) needsGRE() bool { return d.needsDevice(tunnel.GREDev) }

// needsDevice reports whether some tun binding's VIP goes on dev.
func (d Desired) needsDevice(dev string) bool {
	return slices.ContainsFunc(d.Bindings, func(b config.Binding) bool { return b.Mode == config.ModeTUN && device(b) == dev })
}

// guePorts returns the UDP ports of the gue bindings, sorted, each once.
func (d Desired) guePorts() []uint16 {
	var out []uint16
	for _, b := range d.Bindings {
		if b.Mode == config.ModeTUN && b.Tunnel == config.TunnelGUE && !slices.Contains(out, b.TunnelPort) {
			out = append(out, b.TunnelPort)
		}
	}
	slices.Sort(out)
	return out
}

// hostOnly reports whether every IPv4 VIP of d is scope host, given the
// addresses on the host: a dr VIP lvs-rs binds on lo is, one already on lo
// (adopted) only with scope host, a tun VIP on tunl0 never. Then
// arp_ignore=3 keeps them quiet as well as 1 (see arp.Enough).
func (d Desired) hostOnly(addrs []vip.Addr) bool {
	for _, b := range d.Bindings {
		switch {
		case !b.VIP.Is4() || b.Mode == config.ModeNAT:
		case b.Mode != config.ModeDR:
			return false
		case slices.ContainsFunc(addrs, func(a vip.Addr) bool { return a.Dev == "lo" && a.Prefix.Addr() == b.VIP && !a.HostScope }):
			return false
		}
	}
	return true
}

// sysctlWants returns the sysctls d needs: the policy of every device
// that holds an IPv4 VIP (the ARP parameters are IPv4-only): lo's for dr,
// and for tun the tunnel device's, with rp_filter (tunl0's is
// arp.Policy(tun), gre0's the same on gre0).
func (d Desired) sysctlWants() []sysctl.Want {
	var lists [][]sysctl.Want
	for _, dev := range []string{"lo", tunnel.Dev, tunnel.GREDev} {
		if slices.ContainsFunc(d.Bindings, func(b config.Binding) bool { return b.VIP.Is4() && device(b) == dev }) {
			lists = append(lists, devicePolicy(dev))
		}
	}
	w, err := arp.Merge(lists...)
	if err != nil {
		// The policies agree on every shared key; a conflict is a bug.
		panic(err)
	}
	return w
}

// devicePolicy is the ARP (and, for a tunnel device, rp_filter) policy of
// a device that holds VIPs: arp.Policy's for lo and tunl0.
func devicePolicy(dev string) []sysctl.Want {
	switch dev {
	case "lo":
		return arp.Policy(config.ModeDR)
	case tunnel.Dev:
		return arp.Policy(config.ModeTUN)
	}
	return arp.DevicePolicy(dev, true)
}
