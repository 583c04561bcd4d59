package config

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
)

// Binding is a VIP a real server must accept traffic for, and how: dr binds
// it on lo, tun on tunl0; nat needs no VIP on the real server at all (the
// director rewrites the destination), and callers may skip it.
type Binding struct {
	VIP  netip.Addr
	Mode Mode
}

// RealServerVIPs returns the VIPs this host serves as a real server: those
// of every virtual server that lists one of the host's own addresses
// (isLocal reports them) among its real servers, each in that real
// server's mode, or as its sorry server, in the service's mode (the
// director adds the sorry server so). The result is deduplicated and
// sorted by VIP, then mode.
//
// A host cannot bind one VIP both on lo (dr) and on tunl0 (tun): when the
// configuration asks for that, the error names both services. nat next to
// dr or tun is no conflict, and both bindings are returned.
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
		bind := func(m Mode) {
			b := Binding{VIP: vs.VIP, Mode: m}
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
			if isLocal(rs.Address) {
				bind(rs.Mode)
			}
		}
		if vs.SorryServer.IsValid() && isLocal(vs.SorryServer) {
			bind(vs.Mode)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sortBindings(out)
	return out, nil
}

// sortBindings orders bindings by VIP, then mode.
func sortBindings(bs []Binding) {
	slices.SortFunc(bs, func(a, b Binding) int {
		return cmp.Or(a.VIP.Compare(b.VIP), cmp.Compare(a.Mode, b.Mode))
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
