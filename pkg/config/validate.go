package config

import (
	"fmt"
	"strings"
)

// MaxPersistence is the longest persistence timeout accepted, in seconds:
// 31 days, the limit ipvsadm enforces (the kernel multiplies the timeout by
// HZ in 32 bits, so much larger values overflow).
const MaxPersistence = 31 * 24 * 3600

// Defaults applied by Load, Parse and the flag constructors.
const (
	DefaultProtocol  = TCP
	DefaultScheduler = "wlc" // ipvsadm's default
	DefaultMode      = ModeDR
	DefaultWeight    = 1
)

// validator checks a rawConfig and builds the Config it describes. Values
// that fail a check are reported and left at their defaults; the Config is
// only handed out when nothing was reported.
type validator struct {
	ps    *problems
	flags bool
	// realServers finds duplicate real servers in one service; reused
	// from service to service.
	realServers dupIndex[rsKey]
	// rsArray holds the RealServers of every service, each service's
	// slice capped at its own end: one allocation for the file.
	rsArray []RealServer
}

// takeRealServers returns an empty slice with room for n real servers.
func (v *validator) takeRealServers(n int) []RealServer {
	if cap(v.rsArray)-len(v.rsArray) < n {
		return make([]RealServer, 0, n)
	}
	i := len(v.rsArray)
	v.rsArray = v.rsArray[:i+n]
	return v.rsArray[i : i : i+n]
}

// validate checks raw, reporting to ps, and returns the resolved Config.
func validate(raw *rawConfig, ps *problems) *Config {
	v := &validator{ps: ps, flags: raw.flags}
	cfg := &Config{}
	if raw.iface != nil && raw.iface.ok {
		if problem := checkInterface(raw.iface.s); problem != "" {
			ps.add(raw.iface.pos, problem)
		} else {
			cfg.Director.Interface = strings.Clone(raw.iface.s) // not a slice of the file
		}
	}
	if raw.gateway != nil && raw.gateway.ok {
		cfg.RealServer.Gateway, _ = v.addr(raw.gateway)
	}
	first := make(map[ServiceKey]int32, len(raw.services)) // the index in raw.services
	if len(raw.services) > 0 {
		cfg.VirtualServers = make([]VirtualServer, 0, len(raw.services))
		n := 0
		for i := range raw.services {
			n += len(raw.services[i].realServers)
		}
		v.rsArray = make([]RealServer, 0, n)
	}
	nat := false
	for i, rs := range raw.services {
		vs, keyOK := v.service(rs)
		if keyOK {
			key := vs.Key()
			if j, dup := first[key]; dup {
				p := raw.services[j].at
				ps.add(rs.at, fmt.Sprintf("%s is already defined by %s%s", key, p.name(), atLine(p)))
			} else {
				first[key] = int32(i)
			}
		}
		for _, r := range vs.RealServers {
			// ip_forward is IPv4's: an IPv6 nat service does not need it.
			nat = nat || (r.Mode == ModeNAT && vs.VIP.Is4())
		}
		cfg.VirtualServers = append(cfg.VirtualServers, vs)
	}
	cfg.Director.IPForward = nat
	if raw.ipForward != nil && raw.ipForward.ok {
		cfg.Director.IPForward = raw.ipForward.b
	}
	v.director2(raw.rawDirector2, &cfg.Director, nat)
	v.markConflicts(raw.services, cfg.VirtualServers, first)
	return cfg
}

// missing reports that key is absent from the mapping at "at".
func (v *validator) missing(at pos, key, why string) {
	if v.flags {
		v.ps.add(pos{field: flagFor(key)}, "required ("+why+")")
		return
	}
	v.ps.add(at.child(key), "missing ("+why+")")
}

// flagFor names the command-line flag that carries a file key.
func flagFor(key string) string {
	if key == "address" {
		return "--realserver"
	}
	return "--" + key
}

// atLine renders " at line N" for a position, or "".
func atLine(p pos) string {
	if p.line == 0 {
		return ""
	}
	return fmt.Sprintf(" at line %d", p.line)
}

// firstAt renders where the first of two duplicates is.
func firstAt(p pos) string {
	if p.line == 0 {
		return "given earlier"
	}
	return fmt.Sprintf("at line %d", p.line)
}

// unknownMode explains an unknown forwarding mode.
func unknownMode(s string) string {
	return fmt.Sprintf("unknown mode %s; valid modes are dr, tun, nat", quote(s))
}

// markConflicts reports a mark that another fwmark service marks too, or
// that a service of its own (protocol, VIP, port) already receives: the
// kernel would send its packets to one of the two. first maps the keys of
// the services without fwmark to their index in raws.
func (v *validator) markConflicts(raws []rawService, vss []VirtualServer, first map[ServiceKey]int32) {
	marked := map[ServiceKey]pos{}
	for i, vs := range vss {
		if i >= len(raws) || raws[i].marks == nil {
			continue
		}
		for _, m := range vs.Marks {
			key := ServiceKey{Protocol: m.Protocol, VIP: vs.VIP, Port: m.Port}
			at := raws[i].marks.pos
			if j, dup := first[key]; dup {
				p := raws[j].at
				v.ps.add(at, fmt.Sprintf("marks %s, which %s receives as a service of its own%s", key, p.name(), atLine(p)))
			} else if p, dup := marked[key]; dup {
				v.ps.add(at, fmt.Sprintf("marks %s, which %s marks too", key, p.name()))
			} else {
				marked[key] = at
			}
		}
	}
}
