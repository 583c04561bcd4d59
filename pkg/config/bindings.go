package config

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
)

// Binding is a VIP a real server must accept traffic for, and how: dr binds
// it on lo, tun on the device that decapsulates its tunnel (tunl0 for ipip
// and gue, gre0 for gre); nat needs no VIP on the real server at all (the
// director rewrites the destination), and callers may skip it.
type Binding struct {
	VIP  netip.Addr
	Mode Mode
	// Tunnel, TunnelPort and TunnelFlag are a tun real server's
	// encapsulation (its Tunnel: type, gue port, its one flag if any),
	// so that the real server sets up the receiving end the director
	// sends to; zero for dr and nat. An empty Tunnel with tun is ipip.
	Tunnel     TunnelType
	TunnelPort uint16
	TunnelFlag TunnelFlag
}

// RealServerVIPs returns the VIPs this host serves as a real server: those
// of every virtual server that lists one of the host's own addresses
// (isLocal reports them) among its real servers, each in that real
// server's mode, or as its sorry server, in the service's mode (the
// director adds the sorry server so). A loopback real server or sorry
// server (the director itself) names no host. The result is deduplicated
// and sorted by VIP, then mode.
//
// A host cannot bind one VIP both on lo (dr) and on tunl0 (tun): when the
// configuration asks for that, the error names both services. nat next to
// dr or tun is no conflict, and both bindings are returned.
//
// A tun binding carries its real server's tunnel: one VIP reached by two
// tunnels (ipip and gue, or two gue ports) is two bindings.
func (c *Config) RealServerVIPs(isLocal func(netip.Addr) bool) ([]Binding, error) {
	type use struct {
		mode Mode
		svc  int
	}
	seen := map[Binding]bool{}
	onHost := map[netip.Addr]use{} // the first dr or tun use of a VIP
	reported := map[netip.Addr]bool{}
	var out []Binding
	var errs []error
	for i, vs := range c.VirtualServers {
		bind := func(m Mode, t Tunnel) {
			b := Binding{VIP: vs.VIP, Mode: m, Tunnel: t.Type, TunnelPort: t.Port}
			if len(t.Flags) > 0 {
				b.TunnelFlag = t.Flags[0] // at most one
			}
			if m != ModeNAT {
				first, ok := onHost[vs.VIP]
				switch {
				case !ok:
					onHost[vs.VIP] = use{m, i}
				case first.mode != m && !reported[vs.VIP]:
					reported[vs.VIP] = true
					errs = append(errs, fmt.Errorf("%sVIP %s would be bound in %s mode for virtual_servers[%d] (%s) and in %s mode for virtual_servers[%d] (%s) on this host; one host serves a VIP in one mode",
						c.sourcePrefix(), vs.VIP, first.mode, first.svc, c.VirtualServers[first.svc].Key(), m, i, vs.Key()))
				}
			}
			if !seen[b] {
				seen[b] = true
				out = append(out, b)
			}
		}
		for _, rs := range vs.RealServers {
			if ownAddress(rs.Address, isLocal) {
				bind(rs.Mode, rs.Tunnel)
			}
		}
		if vs.SorryServer.IsValid() && ownAddress(vs.SorryServer, isLocal) {
			var t Tunnel
			if vs.Mode == ModeTUN {
				t.Type = TunnelIPIP // the director adds it with the default tunnel
			}
			bind(vs.Mode, t)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sortBindings(out)
	return out, nil
}

// ownAddress reports whether a, a real server or sorry server, names
// this host: a loopback one is the director serving the VIP itself (the
// local node of IPVS), which every host has and none is.
func ownAddress(a netip.Addr, isLocal func(netip.Addr) bool) bool {
	return !a.IsLoopback() && isLocal(a)
}

// sortBindings orders bindings by VIP, then mode, then tunnel.
func sortBindings(bs []Binding) {
	slices.SortFunc(bs, func(a, b Binding) int {
		return cmp.Or(a.VIP.Compare(b.VIP), cmp.Compare(a.Mode, b.Mode),
			cmp.Compare(a.Tunnel, b.Tunnel), cmp.Compare(a.TunnelPort, b.TunnelPort), cmp.Compare(a.TunnelFlag, b.TunnelFlag))
	})
}

// sourcePrefix returns "FILE: " for messages, or "" for flags.
func (c *Config) sourcePrefix() string {
	if c.Source == "" {
		return ""
	}
	return c.Source + ": "
}

// CheckDirector reports what the director role needs beyond a valid
// configuration: director.interface, where the VIPs are bound, whenever
// there is a virtual server. Real servers share the file and do not need
// it, so Parse does not require it.
func (c *Config) CheckDirector() error {
	if len(c.VirtualServers) == 0 || c.Director.Interface != "" {
		return nil
	}
	return Errors{{File: c.Source, Field: "director.interface", Problem: "missing (the director binds the VIPs on it)"}}
}
