package director

import (
	"math"
	"net/netip"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// scan is a minimal JSON reader for the state record's fast path (see
// decodeRecordFast). It accepts a strict subset of JSON, the one
// json.Marshal writes for the record's types, plus whitespace: strings of
// printable ASCII without escapes, integers without fraction or exponent,
// no null. Anything else makes it fail, and the caller falls back to
// encoding/json, whose result and errors are then the record's.
type scan struct {
	b []byte
	i int

	dests []ipvs.Destination    // every desired destination (see decodeDesiredFast)
	keys  []ipvs.DestinationKey // every recorded destination
	sched string                // the last scheduler read
}

// ws skips JSON whitespace.
func (s *scan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek skips whitespace and reports whether the next byte is c,
// consuming it if so.
func (s *scan) peek(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// str reads a string of printable ASCII without escapes and returns its
// contents (aliasing the input).
func (s *scan) str() ([]byte, bool) {
	if !s.peek('"') {
		return nil, false
	}
	start := s.i
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], true
		case c < 0x20 || c >= 0x7f || c == '\\':
			return nil, false
		}
	}
	return nil, false
}

// The values encoding/json fills with UnmarshalText, read with the same
// method (called directly: through an interface, each value would escape
// to the heap).

func (s *scan) addr(v *netip.Addr) bool {
	b, ok := s.str()
	if !ok {
		return false
	}
	if a, ok := parseIPv4(b); ok {
		*v = a
		return true
	}
	return v.UnmarshalText(b) == nil
}

// parseIPv4 parses a dotted quad as netip.ParseAddr does (four decimal
// fields of at most 255, no leading zeros), without converting b to a
// string; false for anything else, which ParseAddr then reads.
func parseIPv4(b []byte) (netip.Addr, bool) {
	var ip [4]byte
	field, n, digits := 0, 0, 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == '.' {
			if digits == 0 || field > 3 {
				return netip.Addr{}, false
			}
			ip[field] = byte(n)
			field, n, digits = field+1, 0, 0
			continue
		}
		c := b[i]
		if c < '0' || c > '9' || digits > 0 && n == 0 {
			return netip.Addr{}, false
		}
		n, digits = n*10+int(c-'0'), digits+1
		if n > 255 {
			return netip.Addr{}, false
		}
	}
	return netip.AddrFrom4(ip), field == 4
}

func (s *scan) family(v *ipvs.Family) bool {
	b, ok := s.str()
	return ok && v.UnmarshalText(b) == nil
}

func (s *scan) protocol(v *ipvs.Protocol) bool {
	b, ok := s.str()
	return ok && v.UnmarshalText(b) == nil
}

func (s *scan) forward(v *ipvs.ForwardMethod) bool {
	b, ok := s.str()
	return ok && v.UnmarshalText(b) == nil
}

// uint reads a non-negative integer of at most max.
func (s *scan) uint(max uint64) (uint64, bool) {
	s.ws()
	start := s.i
	var n uint64
	for ; s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9'; s.i++ {
		d := uint64(s.b[s.i] - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	digits := s.i - start
	if digits == 0 || digits > 1 && s.b[start] == '0' || n > max {
		return 0, false
	}
	if s.i < len(s.b) {
		switch s.b[s.i] {
		case '.', 'e', 'E', '-', '+':
			return 0, false
		}
	}
	return n, true
}

// int reads an integer that fits an int.
func (s *scan) int() (int, bool) {
	neg := s.peek('-')
	if neg && (s.i >= len(s.b) || s.b[s.i] < '0' || s.b[s.i] > '9') {
		return 0, false
	}
	n, ok := s.uint(math.MaxInt)
	if neg {
		return -int(n), ok
	}
	return int(n), ok
}

// skip returns the next value's bytes without decoding them (strings and
// nesting matched, nothing validated: the caller decodes them).
func (s *scan) skip() ([]byte, bool) {
	s.ws()
	start, depth := s.i, 0
	if start < len(s.b) && (s.b[start] == '{' || s.b[start] == '[') {
		end, ok := skipNested(s.b, start)
		if !ok {
			return nil, false
		}
		s.i = end
		return s.b[start:end:end], true
	}
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; c {
		case '"':
			for s.i++; s.i < len(s.b) && s.b[s.i] != '"'; s.i++ {
				if s.b[s.i] == '\\' {
					s.i++
				}
			}
		case '{', '[':
			depth++
			continue
		case '}', ']':
			if depth == 0 { // the end of a literal's enclosing value
				return s.b[start:s.i:s.i], s.i > start
			}
			depth--
		default:
			if depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
				return s.b[start:s.i:s.i], s.i > start
			}
			continue
		}
		if s.i >= len(s.b) {
			return nil, false
		}
		if depth == 0 {
			s.i++
			return s.b[start:s.i:s.i], true
		}
	}
	return s.b[start:s.i:s.i], depth == 0 && s.i > start
}

// skipNested returns the index just past the array or object that starts
// at b[i] ('{' or '['), strings and nesting matched, nothing validated;
// false when b ends first. It is the loop that finds the end of a
// record's desired state (about half of a large record), so it is kept
// tight: c|0x20 folds '[' onto '{' and ']' onto '}'.
func skipNested(b []byte, i int) (int, bool) {
	depth := 0
	for ; i < len(b); i++ {
		c := b[i]
		if c == '"' {
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			continue
		}
		switch c | 0x20 {
		case '{':
			depth++
		case '}':
			if depth--; depth == 0 {
				return i + 1, true
			}
		}
	}
	return 0, false
}

// object reads an object, calling field for each key (positioned at its
// value); a repeated key (bit set in seen by field's index) fails, as
// does field's failure.
func (s *scan) object(field func(key []byte) bool) bool {
	if !s.peek('{') {
		return false
	}
	if s.peek('}') {
		return true
	}
	for {
		key, ok := s.str()
		if !ok || !s.peek(':') || !field(key) {
			return false
		}
		if s.peek(',') {
			continue
		}
		return s.peek('}')
	}
}

// array reads an array, calling elem for each element; it reports
// whether the array was empty ([] decodes to an empty, non-nil slice).
func (s *scan) array(elem func() bool) bool {
	if !s.peek('[') {
		return false
	}
	if s.peek(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if s.peek(',') {
			continue
		}
		return s.peek(']')
	}
}

// end reports whether only whitespace remains.
func (s *scan) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// once marks bit i of seen, failing when it was already set: a key
// repeated in one object (encoding/json merges those; the fast path
// leaves them to it).
func once(seen *uint32, i int) bool {
	if *seen&(1<<i) != 0 {
		return false
	}
	*seen |= 1 << i
	return true
}
