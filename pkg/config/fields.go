package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// addr checks an address field.
func (v *validator) addr(s *rawString) (netip.Addr, bool) {
	a, problem := checkAddr(s.s)
	if problem != "" {
		v.ps.add(s.pos, problem)
		return netip.Addr{}, false
	}
	return a, true
}

// mode checks a mode field; def is returned when it is wrong.
func (v *validator) mode(s *rawString, def Mode) (Mode, bool) {
	if !s.ok {
		return def, false
	}
	if !Mode(s.s).Valid() {
		v.ps.add(s.pos, unknownMode(s.s))
		return def, false
	}
	return canonical(s.s, []Mode{ModeDR, ModeTUN, ModeNAT}), true
}

// canonical returns the constant of values that equals s (which must be
// one of them). Values read from a file are slices of its text: a Config
// keeps none of them, so that the text can be freed after Parse.
func canonical[T ~string](s string, values []T) T {
	for _, v := range values {
		if string(v) == s {
			return v
		}
	}
	return T(strings.Clone(s))
}

// intRange checks that an integer is within lo..hi; note follows the
// range in the message.
func (v *validator) intRange(n *rawInt, lo, hi int64, note string) (int64, bool) {
	if !n.ok {
		return 0, false
	}
	if n.overflow || n.n < lo || n.n > hi {
		v.ps.add(n.pos, fmt.Sprintf("%s is outside %d..%d%s", clip(n.text), lo, hi, note))
		return 0, false
	}
	return n.n, true
}

// netmask checks persistence_netmask against the VIP's family (0 when
// unknown) and returns it as a prefix length; absent, the full length.
// A /0 mask is refused: the kernel refuses it for IPv6 (EINVAL), and the
// director does not apply it for IPv4 (it would make every client one).
func (v *validator) netmask(m *rawNetmask, family int) int {
	bits := 32
	if family == 6 {
		bits = 128
	}
	switch {
	case m == nil:
		return bits
	case m.prefix != nil:
		hi, note := int64(bits), fmt.Sprintf(" for an IPv%d service", family)
		if family == 0 {
			hi, note = 128, ""
		}
		n, ok := v.intRange(m.prefix, 1, hi, note)
		if !ok {
			return bits
		}
		return int(n)
	}
	if family == 6 {
		v.ps.add(m.dotted.pos, fmt.Sprintf("%s: an IPv6 service takes a prefix length 1..128, not a dotted mask", quote(m.dotted.s)))
		return bits
	}
	ones, problem := dottedMask(m.dotted.s)
	if problem != "" {
		v.ps.add(m.dotted.pos, problem)
		return bits
	}
	if ones == 0 {
		v.ps.add(m.dotted.pos, fmt.Sprintf("%s (/0) is outside 1..32 for an IPv4 service", m.dotted.s))
		return bits
	}
	return ones
}
