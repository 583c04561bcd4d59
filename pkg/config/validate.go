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
//
// It takes the services one at a time (add), so that the decoder can hand
// each over as soon as it is read and reuse its raw values' memory for the
// next one (see decoder.document): a file's raw values are then never all
// alive at once.
type validator struct {
	ps    *problems
	flags bool
	cfg   *Config
	// realServers finds duplicate real servers in one service; reused
	// from service to service.
	realServers dupIndex[rsKey]
	// rsArray holds the RealServers of every service, each service's
	// slice capped at its own end: one allocation for the file.
	rsArray []RealServer
	// first maps the key of each service without problems to its index
	// in places; places keeps what later messages need of every service.
	first  map[ServiceKey]int32
	places []servicePlace
	nat    bool // a real server (or sorry server) of an IPv4 service uses nat
	// natFamilies has bit 1<<4 (1<<6) set when a real server or sorry
	// server of an IPv4 (IPv6) service uses nat.
	natFamilies uint8
	// gatewayAt is where each of cfg.RealServer.Gateways was written.
	gatewayAt []pos
}

// servicePlace is what the validator keeps of a service once it has
// checked it: where it was written, and where its mark list was (nil for
// none).
type servicePlace struct {
	at    pos
	marks *pos
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
// A rawConfig from decodeDocument comes with its services checked
// already (raw.checked), and their problems held apart until now: they
// come after the decoder's, as they would had they been checked here.
func validate(raw *rawConfig, ps *problems) *Config {
	v := raw.checked
	if v == nil {
		n := 0
		for i := range raw.services {
			n += len(raw.services[i].realServers)
		}
		v = newValidator(raw, ps, len(raw.services), n)
		for i := range raw.services {
			v.add(&raw.services[i])
		}
	} else {
		ps.absorb(v.ps)
		v.ps = ps
	}
	return v.finish(raw)
}

// newValidator starts checking raw: its interface and gateway. services
// and realServers are how many there are (or an estimate), to size the
// Config.
func newValidator(raw *rawConfig, ps *problems, services, realServers int) *validator {
	v := &validator{ps: ps, flags: raw.flags, cfg: &Config{}}
	cfg := v.cfg
	if raw.iface != nil && raw.iface.ok {
		if problem := checkInterface(raw.iface.s); problem != "" {
			ps.add(raw.iface.pos, problem)
		} else {
			cfg.Director.Interface = strings.Clone(raw.iface.s) // not a slice of the file
		}
	}
	if raw.gateway != nil && raw.gateway.ok {
		cfg.RealServer.Gateways, v.gatewayAt = gateways(ps, raw.gateway.items)
	}
	v.first = make(map[ServiceKey]int32, services)
	if services > 0 {
		cfg.VirtualServers = make([]VirtualServer, 0, services)
		v.places = make([]servicePlace, 0, services)
		v.rsArray = make([]RealServer, 0, realServers)
	}
	return v
}

// add checks the next service. It keeps no pointer into rs.
func (v *validator) add(rs *rawService) {
	i := len(v.places)
	place := servicePlace{at: rs.at}
	if rs.marks != nil {
		p := rs.marks.pos
		place.marks = &p
	}
	v.places = append(v.places, place)
	vs, keyOK := v.service(*rs)
	if keyOK {
		key := vs.Key()
		if j, dup := v.first[key]; dup {
			p := v.places[j].at
			v.ps.add(rs.at, fmt.Sprintf("%s is already defined by %s%s", key, p.name(), atLine(p)))
		} else {
			v.first[key] = int32(i)
		}
	}
	// The sorry server is added in the service's mode: a nat one is
	// forwarded to as a nat real server is.
	nat := vs.SorryServer.IsValid() && vs.Mode == ModeNAT
	for i := range vs.RealServers {
		nat = nat || vs.RealServers[i].Mode == ModeNAT
	}
	if nat && vs.VIP.IsValid() {
		// ip_forward is IPv4's: an IPv6 nat service does not need it.
		v.nat = v.nat || vs.VIP.Is4()
		v.natFamilies |= 1 << familyOf(vs.VIP)
	}
	v.cfg.VirtualServers = append(v.cfg.VirtualServers, vs)
}

// finish checks the rest of raw, once every service has been added, and
// returns the Config.
func (v *validator) finish(raw *rawConfig) *Config {
	cfg := v.cfg
	cfg.Director.IPForward = v.nat
	if raw.ipForward != nil && raw.ipForward.ok {
		cfg.Director.IPForward = raw.ipForward.b
	}
	v.director2(raw.rawDirector2, &cfg.Director, v.nat)
	v.markConflicts()
	for i, gw := range cfg.RealServer.Gateways {
		if v.natFamilies != 0 && v.natFamilies&(1<<familyOf(gw)) == 0 {
			v.ps.add(v.gatewayAt[i], gatewayFamilyProblem(gw, 4+6-familyOf(gw), "every nat VIP of this file"))
		}
	}
	sortGateways(cfg.RealServer.Gateways)
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
// kernel would send its packets to one of the two.
func (v *validator) markConflicts() {
	marked := map[ServiceKey]pos{}
	for i := range v.cfg.VirtualServers {
		if v.places[i].marks == nil {
			continue
		}
		vs := &v.cfg.VirtualServers[i]
		for _, m := range vs.Marks {
			key := ServiceKey{Protocol: m.Protocol, VIP: vs.VIP, Port: m.Port}
			at := *v.places[i].marks
			if j, dup := v.first[key]; dup {
				p := v.places[j].at
				v.ps.add(at, fmt.Sprintf("marks %s, which %s receives as a service of its own%s", key, p.name(), atLine(p)))
			} else if p, dup := marked[key]; dup {
				v.ps.add(at, fmt.Sprintf("marks %s, which %s marks too", key, p.name()))
			} else {
				marked[key] = at
			}
		}
	}
}
