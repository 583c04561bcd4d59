package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// RealServerFromFlags builds the configuration of a real server started
// without a file: lvs-rs start --role realserver --mode MODE --vip ADDR...
// [--gateway ADDR...] [--tunnel T...]. Each vips, gateways and tunnels
// element may be a comma-separated list.
//
// mode "" means dr. dr and tun need at least one VIP; nat needs none (the
// director rewrites the destination) but its VIPs are returned too, like
// RealServerVIPs does. --gateway is only for nat: at most one IPv4 and
// one IPv6 address, each of the family of a VIP when VIPs are given, and
// each by realserver.gateway's rules (see checkGateway: a link-local IPv6
// gateway names its interface as the zone, fe80::1%eth0). --tunnel is
// only for tun: each value is ipip, gre or gue:PORT (the UDP port the
// director sends to, 1..65535), and every VIP gets a binding per tunnel;
// without one, tun is ipip. The bindings are deduplicated and sorted; the
// Config carries only the gateways. Problems are returned as Errors whose
// Field is the flag, such as `--vip: "x" is not an IP address`.
func RealServerFromFlags(mode string, vips []string, gateways []string, tunnels ...string) (*Config, []Binding, error) {
	ps := &problems{}
	m, modeOK := DefaultMode, true
	if mode != "" {
		if m = Mode(mode); !m.Valid() {
			ps.add(pos{field: "--mode"}, unknownMode(mode))
			m, modeOK = DefaultMode, false
		}
	}
	tuns := tunnelFlags(ps, tunnels, m, modeOK)
	var bindings []Binding
	seen := map[netip.Addr]bool{}
	vipProblems := false
	for _, arg := range vips {
		for _, item := range splitList(arg) {
			if item == "" {
				ps.add(pos{field: "--vip"}, fmt.Sprintf("empty address in %s", quote(arg)))
				vipProblems = true
				continue
			}
			a, problem := checkAddr(item)
			if problem == "" {
				problem = checkVIP(a)
			}
			if problem == "" && m == ModeTUN && a.Is6() {
				problem = fmt.Sprintf("%s: %s", a, tunIPv6)
			}
			if problem != "" {
				ps.add(pos{field: "--vip"}, problem)
				vipProblems = true
				continue
			}
			if !seen[a] {
				seen[a] = true
				for _, tun := range tuns {
					bindings = append(bindings, Binding{VIP: a, Mode: m, Tunnel: tun.typ, TunnelPort: tun.port})
				}
			}
		}
	}
	if len(bindings) == 0 && !vipProblems && len(tuns) > 0 && modeOK && m != ModeNAT {
		ps.add(pos{field: "--vip"}, fmt.Sprintf("required with --mode %s (the VIPs this real server accepts traffic for)", m))
	}
	cfg := &Config{}
	if len(gateways) > 0 {
		if modeOK && m != ModeNAT {
			ps.add(pos{field: "--gateway"}, fmt.Sprintf("only used with --mode nat (it routes replies through the director); this is --mode %s", m))
		}
		gws := gatewayFlags(ps, gateways)
		for _, gw := range gws {
			if modeOK && m == ModeNAT && len(bindings) > 0 && GatewayProblem(gw, bindings) != "" {
				ps.add(pos{field: "--gateway"}, gatewayFamilyProblem(gw, familyOf(bindings[0].VIP), "every --vip"))
			}
		}
		cfg.RealServer.Gateways = gws
	}
	if err := ps.err(); err != nil {
		return nil, nil, err
	}
	sortBindings(bindings)
	return cfg, bindings, nil
}

// DirectorFlags are the command-line flags of a director started without
// a file, for the single-service case:
// --vip ADDR --port N [--protocol P] --scheduler NAME --mode M
// --realserver ADDR[:PORT]... --interface IFACE [--persistence SECONDS].
// Empty strings and zero numbers mean "not given", but for Port: -1 (0 is
// every port).
type DirectorFlags struct {
	VIP       string // --vip ADDR: required
	Port      int    // --port N: required, -1 means not given; 0 means every port, which needs Persistence
	Protocol  string // --protocol tcp|udp|sctp: default tcp
	Scheduler string // --scheduler NAME: default wlc
	Mode      string // --mode dr|tun|nat: default dr
	Interface string // --interface IFACE: required; the VIP is bound there
	// RealServers are the --realserver values: ADDR, ADDR:PORT, [IPv6] or
	// [IPv6]:PORT, each possibly a comma-separated list. A port other than
	// Port needs mode nat.
	RealServers []string
	Persistence int // --persistence SECONDS: default 0 (off)
}

// DirectorFromFlags builds the configuration of a director started without
// a file. It applies the file's defaults and validation; problems are
// returned as Errors whose Field is the flag (--vip, --realserver ...).
// --interface is required. Config.Source is "".
func DirectorFromFlags(f DirectorFlags) (*Config, error) {
	ps := &problems{}
	raw := &rawConfig{flags: true}
	if f.Interface == "" {
		ps.add(pos{field: "--interface"}, "required (the director binds the VIP on it)")
	} else {
		raw.iface = &rawString{pos: pos{field: "--interface"}, s: f.Interface, ok: true}
	}
	s := rawService{
		vip:       flagString("--vip", f.VIP),
		protocol:  flagString("--protocol", f.Protocol),
		scheduler: flagString("--scheduler", f.Scheduler),
		mode:      flagString("--mode", f.Mode),
	}
	if f.Port != -1 {
		s.port = flagInt("--port", f.Port)
	}
	if f.Persistence != 0 {
		s.persistence = flagInt("--persistence", f.Persistence)
	}
	for _, arg := range f.RealServers {
		for _, item := range splitList(arg) {
			if r, ok := realServerFlag(ps, arg, item); ok {
				s.realServers = append(s.realServers, r)
			}
		}
	}
	raw.services = []rawService{s}
	cfg := validate(raw, ps)
	if err := ps.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// realServerFlag parses one --realserver item: ADDR, ADDR:PORT, [IPv6] or
// [IPv6]:PORT. arg is the whole flag value, for messages.
func realServerFlag(ps *problems, arg, item string) (rawRealServer, bool) {
	at := pos{field: "--realserver"}
	if item == "" {
		ps.add(at, fmt.Sprintf("empty address in %s", quote(arg)))
		return rawRealServer{}, false
	}
	host, port := item, ""
	if _, err := netip.ParseAddr(item); err != nil {
		switch {
		case strings.HasPrefix(item, "[") && strings.HasSuffix(item, "]"):
			host = item[1 : len(item)-1]
		case strings.Count(item, ":") == 1 || strings.HasPrefix(item, "["):
			i := strings.LastIndex(item, ":")
			host, port = strings.TrimSuffix(strings.TrimPrefix(item[:i], "["), "]"), item[i+1:]
		}
	}
	r := rawRealServer{at: at, address: &rawString{pos: at, s: host, ok: true}, rawRealServer2: noRealServer2}
	if port != "" || strings.HasSuffix(item, ":") {
		n, err := strconv.ParseInt(port, 10, 64)
		if err != nil {
			ps.add(at, fmt.Sprintf("%s has an invalid port %s (write ADDR, ADDR:PORT or [IPv6]:PORT)", quote(item), quote(port)))
			return rawRealServer{}, false
		}
		r.port = &rawInt{pos: pos{field: "--realserver " + quote(item)}, n: n, text: port, ok: true}
	}
	return r, true
}

// flagString returns a string flag as a raw value, nil when not given.
func flagString(name, v string) *rawString {
	if v == "" {
		return nil
	}
	return &rawString{pos: pos{field: name}, s: v, ok: true}
}

// flagInt returns an integer flag as a raw value.
func flagInt(name string, v int) *rawInt {
	return &rawInt{pos: pos{field: name}, n: int64(v), text: strconv.Itoa(v), ok: true}
}

// splitList splits a comma-separated flag value, trimming spaces.
func splitList(arg string) []string {
	items := strings.Split(arg, ",")
	for i, item := range items {
		items[i] = strings.TrimSpace(item)
	}
	return items
}
