package config

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"time"
)

// Bounds of a virtual server's timings.
const (
	maxDrainTimeout = 720 * time.Hour
	maxSlowStart    = time.Hour
)

// service2 validates a virtual server's settings beyond the first
// release; vs has its identity, scheduler and real servers resolved.
func (v *validator) service2(s rawService, vs *VirtualServer, family int) {
	vs.OnFailure, vs.DrainTimeout = OnFailureQuiesce, DefaultDrainTimeout
	onFailureOK := true
	if s.onFailure != nil {
		var f OnFailure
		if f, onFailureOK = oneOf(v, s.onFailure, []OnFailure{OnFailureQuiesce, OnFailureRemove}, "failure action"); onFailureOK {
			vs.OnFailure = f
		}
	}
	if s.drainTimeout != nil {
		if d, ok := v.duration(s.drainTimeout, 0, maxDrainTimeout, false); ok {
			vs.DrainTimeout = d
		}
	}
	if s.slowStart != nil {
		vs.SlowStart, _ = v.duration(s.slowStart, 0, maxSlowStart, false)
	}
	if s.sorry != nil && s.sorry.ok {
		vs.SorryServer = v.sorryServer(s.sorry, *vs, family)
	}
	vs.Marks = v.marks(s.marks, *vs)
	mark := v.ps.mark()
	vs.SchedulerFlags = v.schedulerFlags(s.schedFlags, *vs)
	if onFailureOK && v.ps.mark() == mark { // else the flags or the action are not known
		v.quiesceKept(s, vs)
	}
}

// quiesceKept refuses a check whose failed real servers are quiesced
// (on_failure: quiesce, the default) on a service whose scheduler keeps
// sending a weight-0 real server its share of new connections: dh, sh
// without sh-fallback, mh without mh-fallback. The kernel's scheduler
// then finds the hashed real server unavailable and drops the connection
// ("no destination available"), so quiescing would take nothing out of
// rotation. The problem is at on_failure when written, else at the
// (first) check.
func (v *validator) quiesceKept(s rawService, vs *VirtualServer) {
	if vs.OnFailure != OnFailureQuiesce {
		return
	}
	var fix string
	switch {
	case vs.Scheduler == "dh":
		fix = "set on_failure: remove (dh has no fallback flag)"
	case vs.Scheduler == "sh" && !slices.Contains(vs.SchedulerFlags, FlagSHFallback):
		fix = "add sh-fallback to scheduler_flags, or set on_failure: remove"
	case vs.Scheduler == "mh" && !slices.Contains(vs.SchedulerFlags, FlagMHFallback):
		fix = "add mh-fallback to scheduler_flags, or set on_failure: remove"
	default:
		return
	}
	at, checked := pos{}, vs.Check != nil
	if checked {
		at = s.check.at
	}
	for i := 0; i < len(vs.RealServers) && !checked; i++ {
		if c := vs.RealServers[i].Check; c != nil && c.Type != nil { // a check of its own
			at, checked = s.realServers[i].check.at, true
		}
	}
	if !checked {
		return // nothing quiesces a real server
	}
	why := fmt.Sprintf("the kernel's %s scheduler keeps hashing new connections to a real server of weight 0 and drops them", vs.Scheduler)
	if s.onFailure != nil {
		v.ps.add(s.onFailure.pos, fmt.Sprintf("quiesce (weight 0) does not take a failed real server out of rotation with scheduler %s: %s; %s", vs.Scheduler, why, fix))
		return
	}
	v.ps.add(at, fmt.Sprintf("a failed real server would be quiesced (on_failure: quiesce, the default), which does not take it out of rotation with scheduler %s: %s; %s", vs.Scheduler, why, fix))
}

// sorryServer checks sorry_server: an address of the VIP's family that
// is not one of the service's real servers.
func (v *validator) sorryServer(s *rawString, vs VirtualServer, family int) netip.Addr {
	a, ok := v.addr(s)
	if !ok {
		return netip.Addr{}
	}
	if problem := checkDest(a, "sorry server (it is added as a real server)"); problem != "" {
		v.ps.add(s.pos, problem)
		return netip.Addr{}
	}
	if fam := familyOf(a); family != 0 && fam != family {
		v.ps.add(s.pos, fmt.Sprintf("%s is %s but the vip %s is %s; the sorry server must be of the service's family", a, familyName(fam), vs.VIP, familyName(family)))
		return netip.Addr{}
	}
	for _, rs := range vs.RealServers {
		if rs.Address == a {
			v.ps.add(s.pos, fmt.Sprintf("%s is also a real server of this service; the sorry server stands in when none is up", a))
			return netip.Addr{}
		}
	}
	return a
}

// marks checks a fwmark service's mark list.
func (v *validator) marks(m *rawMarks, vs VirtualServer) []Mark {
	if m == nil {
		return nil
	}
	if vs.FWMark == 0 {
		v.ps.add(m.pos, "only for a fwmark service (it says which packets get the mark); set fwmark or remove it")
		return nil
	}
	var out []Mark
	first := map[Mark]pos{}
	for _, it := range m.items {
		mk, ok := Mark{Protocol: TCP}, true
		if it.protocol != nil {
			mk.Protocol, ok = oneOf(v, it.protocol, []Protocol{TCP, UDP, SCTP}, "protocol")
		}
		switch {
		case it.port == nil:
			v.missing(it.at, "port", "every mark needs one")
			ok = false
		default:
			n, good := v.intRange(it.port, 1, math.MaxUint16, "")
			mk.Port, ok = uint16(n), ok && good
		}
		if !ok {
			continue
		}
		if p, dup := first[mk]; dup {
			v.ps.add(it.at, fmt.Sprintf("duplicate mark %s port %d (first %s)", mk.Protocol, mk.Port, firstAt(p)))
			continue
		}
		first[mk] = it.at
		out = append(out, mk)
	}
	return out
}

// schedulerFlags checks scheduler_flags against the scheduler and the
// protocol.
func (v *validator) schedulerFlags(l *rawList, vs VirtualServer) []SchedulerFlag {
	if l == nil || !l.ok {
		return nil
	}
	var out []SchedulerFlag
	seen := map[SchedulerFlag]bool{}
	for _, it := range l.items {
		f, ok := oneOf(v, it, schedulerFlags(), "scheduler flag")
		if !ok {
			continue
		}
		need := ""
		switch f {
		case FlagMHPort, FlagMHFallback:
			need = "mh"
		case FlagSHPort, FlagSHFallback:
			need = "sh"
		}
		switch {
		case seen[f]:
			v.ps.add(it.pos, fmt.Sprintf("%s is listed twice", f))
		case need != "" && vs.Scheduler != need:
			v.ps.add(it.pos, fmt.Sprintf("%s is a flag of the %s scheduler; this service uses %s", f, need, vs.Scheduler))
		case f == FlagOPS && vs.FWMark == 0 && vs.Protocol != UDP:
			v.ps.add(it.pos, fmt.Sprintf("ops (one-packet scheduling) is only for udp and fwmark services; this one is %s", vs.Protocol))
		default:
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// thresholds checks a real server's connection thresholds.
func (v *validator) thresholds(r *rawRealServer, rs *RealServer) {
	upperOK := true
	if r.upper != nil {
		n, ok := v.intRange(r.upper, 0, math.MaxUint32, "")
		rs.UpperThreshold, upperOK = uint32(n), ok
	}
	if r.lower == nil {
		return
	}
	n, ok := v.intRange(r.lower, 0, math.MaxUint32, "")
	if !ok || !upperOK {
		return
	}
	switch {
	case n == 0:
	case rs.UpperThreshold == 0:
		v.ps.add(r.lower.pos, "only with upper_threshold (a server leaves the overloaded state under it)")
		return
	case uint32(n) > rs.UpperThreshold:
		v.ps.add(r.lower.pos, fmt.Sprintf("%d is more than upper_threshold %d", n, rs.UpperThreshold))
		return
	}
	rs.LowerThreshold = uint32(n)
}

// tunnel checks a real server's tunnel block; modeOK tells whether the
// real server's mode is known.
func (v *validator) tunnel(t *rawTunnel, rs *RealServer, modeOK bool) {
	if rs.Mode == ModeTUN {
		rs.Tunnel = Tunnel{Type: TunnelIPIP}
	}
	if t == nil || !modeOK {
		return
	}
	if rs.Mode != ModeTUN {
		v.ps.add(t.at, fmt.Sprintf("only for tun real servers; this one is %s", rs.Mode))
		return
	}
	typeOK := true
	if t.typ != nil {
		var typ TunnelType
		typ, typeOK = oneOf(v, t.typ, []TunnelType{TunnelIPIP, TunnelGUE, TunnelGRE}, "tunnel type")
		if typeOK {
			rs.Tunnel.Type = typ
		}
	}
	if !typeOK {
		return
	}
	switch {
	case rs.Tunnel.Type == TunnelGUE && t.port == nil:
		v.ps.add(t.at.child("port"), "missing (a gue tunnel needs the UDP port its real server listens on)")
	case rs.Tunnel.Type == TunnelGUE:
		n, _ := v.intRange(t.port, 1, math.MaxUint16, "")
		rs.Tunnel.Port = uint16(n)
	case t.port != nil:
		v.ps.add(t.port.pos, fmt.Sprintf("only for a gue tunnel; this one is %s", rs.Tunnel.Type))
	}
	rs.Tunnel.Flags = v.tunnelFlags(t.flags, rs.Tunnel.Type)
}

// tunnelFlags checks a tunnel's flags: at most one, fitting its type.
func (v *validator) tunnelFlags(l *rawList, typ TunnelType) []TunnelFlag {
	if l == nil || !l.ok {
		return nil
	}
	var out []TunnelFlag
	for _, it := range l.items {
		f, ok := oneOf(v, it, []TunnelFlag{TunnelCsum, TunnelRemCsum}, "tunnel flag")
		switch {
		case !ok:
		case typ == TunnelIPIP || (f == TunnelRemCsum && typ != TunnelGUE):
			v.ps.add(it.pos, fmt.Sprintf("%s is not a flag of %s tunnels (csum: gue and gre; remcsum: gue)", f, typ))
		case len(out) > 0:
			v.ps.add(it.pos, fmt.Sprintf("a tunnel takes one checksum flag; %s is already set", out[0]))
		default:
			out = append(out, f)
		}
	}
	return out
}
