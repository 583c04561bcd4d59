package config

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// flagTunnel is one --tunnel value: a tunnel type and, for gue, its port.
type flagTunnel struct {
	typ  TunnelType // "" for ipip, the default (as a binding has it)
	port uint16
}

// tunnelFlags parses the --tunnel values of a real server without a
// file: each ipip, gre or gue:PORT (PORT 1..65535), possibly a
// comma-separated list; they need --mode tun (modeOK: the mode is known,
// so a wrong one is not reported twice). They are deduplicated, in the
// order given; none is ipip alone.
func tunnelFlags(ps *problems, args []string, m Mode, modeOK bool) []flagTunnel {
	if len(args) == 0 {
		return []flagTunnel{{}}
	}
	if modeOK && m != ModeTUN {
		ps.add(pos{field: "--tunnel"}, fmt.Sprintf("only used with --mode tun (the encapsulation the director sends in); this is --mode %s", m))
		return nil
	}
	var out []flagTunnel
	for _, arg := range args {
		for _, item := range splitList(arg) {
			t, problem := parseTunnelFlag(item, arg)
			if problem != "" {
				ps.add(pos{field: "--tunnel"}, problem)
				continue
			}
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}

// parseTunnelFlag parses one --tunnel item of arg: ipip, gre or
// gue:PORT; the problem is "" when it is one.
func parseTunnelFlag(item, arg string) (flagTunnel, string) {
	if item == "" {
		return flagTunnel{}, fmt.Sprintf("empty tunnel in %s", quote(arg))
	}
	name, port, hasPort := strings.Cut(item, ":")
	typ := TunnelType(strings.ToLower(name))
	switch {
	case typ != TunnelIPIP && typ != TunnelGUE && typ != TunnelGRE:
		return flagTunnel{}, fmt.Sprintf("unknown tunnel type %s; valid types are ipip, gre, gue:PORT", quote(name))
	case typ != TunnelGUE && hasPort:
		return flagTunnel{}, fmt.Sprintf("%s: only a gue tunnel takes a port (gue:PORT); %s takes none", quote(item), typ)
	case typ != TunnelGUE:
		if typ == TunnelIPIP {
			typ = ""
		}
		return flagTunnel{typ: typ}, ""
	case !hasPort || port == "":
		return flagTunnel{}, fmt.Sprintf("%s: a gue tunnel needs the UDP port the director sends to: gue:PORT (1-65535)", quote(item))
	}
	n, err := strconv.ParseUint(port, 10, 64)
	if err != nil {
		return flagTunnel{}, fmt.Sprintf("%s: %s is not a port number (1-65535)", quote(item), quote(port))
	}
	if n < 1 || n > math.MaxUint16 {
		return flagTunnel{}, fmt.Sprintf("%s: port %d is out of range (1-65535)", quote(item), n)
	}
	return flagTunnel{typ: TunnelGUE, port: uint16(n)}, ""
}
