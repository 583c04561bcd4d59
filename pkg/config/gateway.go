package config

import (
	"fmt"
	"net/netip"
	"slices"
)

// gateways checks the addresses of realserver.gateway (or of --gateway):
// each by checkGateway's rules, and at most one per family. It returns
// the usable ones in the order written, with where each was written.
func gateways(ps *problems, items []*rawString) ([]netip.Addr, []pos) {
	var out []netip.Addr
	var at []pos
	for _, it := range items {
		if !it.ok {
			continue
		}
		gw, problem := checkGateway(it.s)
		if problem != "" {
			ps.add(it.pos, problem)
			continue
		}
		if i := slices.IndexFunc(out, func(g netip.Addr) bool { return g.Is4() == gw.Is4() }); i >= 0 {
			ps.add(it.pos, fmt.Sprintf("%s is a second %s gateway, after %s%s: give at most one IPv4 and one IPv6 address",
				gw, familyName(familyOf(gw)), out[i], atLine(at[i])))
			continue
		}
		out, at = append(out, gw), append(at, it.pos)
	}
	return out, at
}

// sortGateways puts the IPv4 gateway first.
func sortGateways(gws []netip.Addr) {
	slices.SortFunc(gws, func(a, b netip.Addr) int { return familyOf(a) - familyOf(b) })
}

// gatewayFlags checks the --gateway values, each one address or a
// comma-separated list, by realserver.gateway's rules. It returns the
// usable gateways, the IPv4 one first.
func gatewayFlags(ps *problems, args []string) []netip.Addr {
	at := pos{field: "--gateway"}
	var items []*rawString
	for _, arg := range args {
		for _, item := range splitList(arg) {
			if item == "" {
				ps.add(at, fmt.Sprintf("empty address in %s", quote(arg)))
				continue
			}
			items = append(items, &rawString{pos: at, s: item, ok: true})
		}
	}
	gws, _ := gateways(ps, items)
	sortGateways(gws)
	return gws
}

// ParseGateways parses the --gateway flags of a real server: each one
// address or a comma-separated list, together at most one IPv4 and one
// IPv6 address, each by the rules of realserver.gateway (see
// checkGateway). The result has the IPv4 one first. Problems are
// returned as Errors whose Field is --gateway.
func ParseGateways(args []string) ([]netip.Addr, error) {
	ps := &problems{}
	gws := gatewayFlags(ps, args)
	if err := ps.err(); err != nil {
		return nil, err
	}
	return gws, nil
}

// gatewayFamilyProblem explains why gw cannot route the replies of nat
// VIPs (of whom, for the message) that are all of family fam.
func gatewayFamilyProblem(gw netip.Addr, fam int, whom string) string {
	return fmt.Sprintf("%s is %s but %s is %s: nat replies would not route through it, and it would replace the host's %s default route; give the director's %s address",
		gw, familyName(familyOf(gw)), whom, familyName(fam), familyName(familyOf(gw)), familyName(fam))
}

// GatewayProblem returns what is wrong with gw as a gateway given for a
// real server that has bindings (--gateway), or "": a gateway of a
// family that none of its nat VIPs has would route no nat reply, and
// would replace the host's default route of its own family. A zero gw,
// or bindings without nat, have no problem (the gateway is then routed
// on its own or ignored). A gateway of the file is checked against the
// file's nat VIPs instead: a real server routes through those of the
// families it serves nat VIPs of, and leaves the others unused.
func GatewayProblem(gw netip.Addr, bindings []Binding) string {
	var natFams uint8
	var vip netip.Addr
	for _, b := range bindings {
		if b.Mode == ModeNAT {
			natFams |= 1 << familyOf(b.VIP)
			vip = b.VIP
		}
	}
	if !gw.IsValid() || natFams == 0 || natFams&(1<<familyOf(gw)) != 0 {
		return ""
	}
	return gatewayFamilyProblem(gw, familyOf(vip), "every nat VIP of this host")
}
