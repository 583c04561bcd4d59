package config

import (
	"fmt"
	"math"
	"net/netip"
)

// serviceFacts is what a real server's checks need to know about the
// service's own checks.
type serviceFacts struct {
	family int  // of the VIP: 4 or 6, 0 when the VIP is wrong
	portOK bool // the service's port is known
	modeOK bool // the service's mode is known
	check  checkFacts
	// said holds the problems the service's real servers' checks
	// reported: a field of the service's check that is wrong for every
	// real server inheriting it is reported once.
	said map[saidKey]bool
}

// saidKey is a problem reported at a position.
type saidKey struct {
	at      pos
	problem string
}

// rsKey identifies a real server within a service, as the kernel does.
type rsKey = netip.AddrPort

// realServer checks one real server of vs, into rs. first holds the real servers
// seen so far in the service with their positions, to find duplicates.
func (v *validator) realServer(rs *RealServer, r *rawRealServer, vs *VirtualServer, known *serviceFacts, first *dupIndex[rsKey]) {
	*rs = RealServer{Weight: DefaultWeight, Mode: vs.Mode, Port: vs.Port}

	addrOK := false
	switch {
	case r.address == nil:
		v.missing(r.at, "address", "every real server needs one")
	case r.address.ok:
		rs.Address, addrOK = v.addr(r.address)
		if problem := checkDest(rs.Address, "real server"); addrOK && problem != "" {
			v.ps.add(r.address.pos, problem)
			addrOK = false
		}
	}
	if fam := familyOf(rs.Address); addrOK && known.family != 0 && fam != known.family {
		v.ps.add(r.address.pos, fmt.Sprintf("%s is %s but the vip %s is %s; a service's real servers must be of its family",
			rs.Address, familyName(fam), vs.VIP, familyName(known.family)))
	}

	modeOK := known.modeOK
	if r.mode != nil {
		rs.Mode, modeOK = v.mode(r.mode, vs.Mode)
		if modeOK && rs.Mode == ModeTUN && known.family == 6 {
			v.ps.add(r.mode.pos, tunIPv6)
		}
	}

	if r.weight != nil {
		n, _ := v.intRange(r.weight, 0, math.MaxUint16, "")
		rs.Weight = int(n)
	}

	portOK := known.portOK && modeOK
	if r.port != nil {
		n, ok := v.intRange(r.port, 0, math.MaxUint16, "")
		switch {
		case !ok:
			portOK = false
		case portOK:
			v.realServerPort(uint16(n), r.port.pos, vs, rs)
		}
	}

	if r.check != nil || vs.Check != nil { // else there is nothing to check
		rs.Check = v.realServerCheck(r.check, vs, *rs, known, portOK, modeOK, r.mode)
	}
	v.thresholds(r, rs)
	v.tunnel(r.tunnel, rs, modeOK)

	if addrOK && portOK {
		key := netip.AddrPortFrom(rs.Address, rs.Port)
		if p, dup := first.find(key); dup {
			v.ps.add(r.address.pos, fmt.Sprintf("duplicate real server %s (first %s)", key, firstAt(p)))
		} else {
			first.add(key, r.address.pos)
		}
	}
}

// realServerPort applies a real server's port n, written at p: nat maps
// it (0 is the service's port, the kernel's "the port the client used");
// dr and tun must keep the service's.
func (v *validator) realServerPort(n uint16, p pos, vs *VirtualServer, rs *RealServer) {
	switch {
	case rs.Mode == ModeNAT:
		if n != 0 {
			rs.Port = n
		}
	case n == vs.Port:
	case vs.FWMark != 0:
		v.ps.add(p, fmt.Sprintf("a %s real server of a fwmark service takes no port (packets keep the port they were sent to); only mode nat can map ports", rs.Mode))
	default:
		v.ps.add(p, fmt.Sprintf("%d differs from the service's port %d; %s forwards to the VIP's own port, only mode nat can map ports", n, vs.Port, rs.Mode))
	}
}

// dupIndex holds the keys seen so far with where each was written, to
// find duplicates: a short scan for the few real servers of a service,
// a map past indexFrom keys. reset empties it for reuse.
type dupIndex[K comparable] struct {
	keys  []K
	at    []pos
	index map[K]int
}

// reset empties x, keeping its memory.
func (x *dupIndex[K]) reset() {
	x.keys, x.at = x.keys[:0], x.at[:0]
	clear(x.index)
}

// find returns where k was first written.
func (x *dupIndex[K]) find(k K) (pos, bool) {
	if len(x.keys) > indexFrom {
		i, ok := x.index[k]
		if !ok {
			return pos{}, false
		}
		return x.at[i], true
	}
	for i := range x.keys {
		if x.keys[i] == k {
			return x.at[i], true
		}
	}
	return pos{}, false
}

// add records k, not seen yet, written at p.
func (x *dupIndex[K]) add(k K, p pos) {
	x.keys, x.at = append(x.keys, k), append(x.at, p)
	switch n := len(x.keys); {
	case n == indexFrom+1:
		if x.index == nil {
			x.index = make(map[K]int, 2*n)
		}
		for i, k := range x.keys {
			x.index[k] = i
		}
	case n > indexFrom+1:
		x.index[k] = n - 1
	}
}
