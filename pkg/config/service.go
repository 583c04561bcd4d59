package config

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// service checks one virtual server. keyOK reports whether its key is
// known, so that duplicates can be looked for.
func (v *validator) service(s rawService) (vs VirtualServer, keyOK bool) {
	vs = VirtualServer{Protocol: DefaultProtocol, Scheduler: DefaultScheduler, Mode: DefaultMode}
	vipOK, portOK, keyOK := v.identity(s, &vs)
	persistOK := v.persistence(s, &vs, portOK)

	if s.scheduler != nil && s.scheduler.ok {
		if i := slices.Index(Schedulers, s.scheduler.s); i >= 0 {
			vs.Scheduler = Schedulers[i] // not s.scheduler.s: a slice of the file
		} else {
			v.ps.add(s.scheduler.pos, fmt.Sprintf("unknown scheduler %s; valid schedulers are %s", quote(s.scheduler.s), strings.Join(Schedulers, ", ")))
		}
	}
	modeOK := true
	if s.mode != nil {
		vs.Mode, modeOK = v.mode(s.mode, DefaultMode)
	}

	family := 0
	if vipOK {
		family = familyOf(vs.VIP)
	}
	if modeOK && s.mode != nil && vs.Mode == ModeTUN && family == 6 {
		v.ps.add(s.mode.pos, tunIPv6)
	}
	vs.PersistenceNetmask = v.netmask(s.netmask, family)
	if s.netmask != nil && s.netmask.typed() && (s.persistence == nil || (persistOK && vs.Persistence == 0)) {
		v.ps.add(s.netmask.at(), "has no effect without persistence; set persistence or remove it")
	}

	var checks checkFacts
	vs.Check, checks = v.serviceCheck(s.check)
	known := serviceFacts{family: family, portOK: portOK, modeOK: modeOK, check: checks}
	first := &v.realServers
	first.reset()
	if n := len(s.realServers); n > 0 {
		vs.RealServers = v.takeRealServers(n)
	}
	for i := range s.realServers {
		vs.RealServers = append(vs.RealServers, RealServer{})
		v.realServer(&vs.RealServers[i], &s.realServers[i], &vs, &known, first)
	}
	v.service2(s, &vs, family)
	return vs, keyOK
}

// identity checks what makes up the service's key: vip, fwmark, protocol
// and port. It reports which of the VIP, the port and the whole key are
// known (valid).
func (v *validator) identity(s rawService, vs *VirtualServer) (vipOK, portOK, keyOK bool) {
	switch {
	case s.vip == nil:
		v.missing(s.at, "vip", "every virtual server needs one")
	case s.vip.ok:
		vs.VIP, vipOK = v.addr(s.vip)
		if vipOK {
			if problem := checkVIP(vs.VIP); problem != "" {
				v.ps.add(s.vip.pos, problem)
				vipOK = false
			}
		}
	}
	keyOK = vipOK

	fwmark := s.fwmark != nil
	if fwmark {
		n, ok := v.intRange(s.fwmark, 1, math.MaxUint32, "")
		if ok && n >= int64(ProbeMarkBase) && n < int64(ProbeMarkBase)+ProbeMarks {
			v.ps.add(s.fwmark.pos, fmt.Sprintf("%s is reserved: marks %#x..%#x (%d..%d) are the probes of the checks through the VIP (check.via: vip); use another mark",
				clip(s.fwmark.text), ProbeMarkBase, ProbeMarkBase+ProbeMarks-1, ProbeMarkBase, ProbeMarkBase+ProbeMarks-1))
			ok = false // still a fwmark service, for the rules of its other fields
		}
		vs.FWMark = uint32(n)
		keyOK = keyOK && ok
	}

	const notForFWMark = "not used by a fwmark service (the firewall mark selects the packets); remove it"
	switch p := s.protocol; {
	case p == nil:
	case !p.ok:
		keyOK = false
	case fwmark:
		v.ps.add(p.pos, notForFWMark)
	case !Protocol(p.s).Valid():
		v.ps.add(p.pos, fmt.Sprintf("unknown protocol %s; valid protocols are tcp, udp, sctp", quote(p.s)))
		keyOK = false
	default:
		vs.Protocol = canonical(p.s, []Protocol{TCP, UDP, SCTP})
	}

	switch {
	case fwmark:
		portOK = true
		if s.port != nil && s.port.ok {
			v.ps.add(s.port.pos, notForFWMark)
		}
	case s.port == nil && v.flags:
		v.missing(s.at, "port", "the service's port; 0 with --persistence means every port")
	case s.port == nil:
		v.missing(s.at, "port", "required unless fwmark is set; 0 together with persistence means every port")
	default:
		var n int64
		n, portOK = v.intRange(s.port, 0, math.MaxUint16, "")
		vs.Port = uint16(n)
	}
	return vipOK, portOK, keyOK && portOK
}

// persistence checks the persistence timeout, and that a port-0 (every
// port) service has one. It reports whether the timeout is right (or
// absent).
func (v *validator) persistence(s rawService, vs *VirtualServer, portOK bool) bool {
	ok := true
	if s.persistence != nil {
		var n int64
		n, ok = v.intRange(s.persistence, 0, MaxPersistence, " seconds (31 days, the ipvsadm limit)")
		vs.Persistence = uint32(n)
	}
	if s.fwmark == nil && portOK && vs.Port == 0 && ok && vs.Persistence == 0 {
		v.ps.add(s.port.pos, "0 (every port) needs persistence; set persistence or give the service's port")
	}
	return ok
}

// tunIPv6 explains why an IPv6 service cannot use tun.
const tunIPv6 = "tun forwards in IPv4-in-IPv4 (ipip) tunnels; an IPv6 service cannot use it (use dr or nat)"
