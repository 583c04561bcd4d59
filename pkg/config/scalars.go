package config

import (
	"fmt"
	"strconv"
	"strings"
)

// text reads f[key] as text (any scalar but an empty one).
func (d *decoder) text(f *fields, path fieldPath, key keyID, want string) *rawString {
	e, ok := f.get(key)
	if !ok {
		return nil
	}
	p := path.keyAt(d.n(e.value), f.known[key])
	r := d.resolve(e.value)
	out := d.strings.new()
	if d.t.kind(r) != scalarNode || d.t.isNull(r) {
		d.ps.add(p, fmt.Sprintf("must be %s, got %s", want, d.describe(e.value)))
		*out = rawString{pos: p}
		return out
	}
	*out = rawString{pos: p, s: d.t.value(r), ok: true}
	return out
}

// integer reads f[key] as an integer, in any spelling YAML resolves to
// one (80, 0x50, 0o120, 1_000).
func (d *decoder) integer(f *fields, path fieldPath, key keyID) *rawInt {
	e, ok := f.get(key)
	if !ok {
		return nil
	}
	return d.intValue(e.value, path.keyAt(d.n(e.value), f.known[key]))
}

// intValue reads n, written at p, as an integer.
func (d *decoder) intValue(n int32, p pos) *rawInt {
	r := d.resolve(n)
	out := d.integers.new()
	if d.t.kind(r) == scalarNode && d.t.shortTag(r) == tagInt {
		v := d.t.value(r)
		if i, ok := plainDecimal(v); ok {
			*out = rawInt{pos: p, n: i, text: v, ok: true}
			return out
		}
		if problem := leadingZero(v); problem != "" {
			d.ps.add(p, problem)
			*out = rawInt{pos: p}
			return out
		}
		y := d.t.yamlNode(r)
		var i int64
		if err := y.Decode(&i); err == nil {
			*out = rawInt{pos: p, n: i, text: v, ok: true}
			return out
		}
		var u uint64
		if err := y.Decode(&u); err == nil {
			*out = rawInt{pos: p, n: -1, text: v, overflow: true, ok: true}
			return out
		}
	}
	problem := ""
	if d.t.kind(r) == scalarNode && d.t.shortTag(r) == tagFloat {
		v := d.t.value(r)
		problem = leadingZero(v) // 0080, 09: not octal either
		if problem == "" && decimalDigits(v) {
			// An integer beyond 64 bits, which yaml.v3 reads as a float.
			*out = rawInt{pos: p, n: -1, text: v, overflow: true, ok: true}
			return out
		}
	}
	if problem == "" {
		problem = fmt.Sprintf("must be an integer, got %s", d.describe(n))
	}
	d.ps.add(p, problem)
	*out = rawInt{pos: p}
	return out
}

// leadingZero explains why an integer written with a leading zero (0443,
// -010, 0_10, 00), which yaml.v3 reads as octal as YAML 1.1 did, is
// refused; "" for any other spelling, 0x50 and 0o120 included.
func leadingZero(v string) string {
	sign, digits := "", strings.ReplaceAll(v, "_", "") // yaml.v3 drops every '_'
	if digits != "" && (digits[0] == '-' || digits[0] == '+') {
		sign, digits = digits[:1], digits[1:]
	}
	if len(digits) < 2 || digits[0] != '0' || strings.Trim(digits, "0123456789") != "" {
		return ""
	}
	decimal := clip(strings.TrimLeft(digits, "0"))
	if decimal == "" {
		decimal = "0"
	}
	// Octal and decimal differ from two digits on (010 is 8; 07 is 7).
	if octal, err := strconv.ParseInt(sign+digits, 8, 64); err == nil && len(decimal) > 1 {
		return fmt.Sprintf("%s has a leading zero, which YAML reads as octal (%d); write %s%s, or %s0o%s if octal was meant",
			clip(v), octal, sign, decimal, sign, decimal)
	}
	return fmt.Sprintf("%s has a leading zero; write %s%s", clip(v), sign, decimal)
}

// decimalDigits reports whether s is a decimal integer as YAML writes
// one: an optional sign, then digits and underscores.
func decimalDigits(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	return isDigits(strings.ReplaceAll(s, "_", ""))
}

// plainDecimal parses s when it is a plain decimal number that fits an
// int64 for sure (at most 18 digits, no sign, no leading zero: yaml.v3
// reads 010 as octal), the way nearly every integer of a file is written;
// yaml.v3 resolves the others.
func plainDecimal(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 18 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// boolean reads f[key] as true or false.
func (d *decoder) boolean(f *fields, path fieldPath, key keyID) *rawBool {
	e, ok := f.get(key)
	if !ok {
		return nil
	}
	p := path.keyAt(d.n(e.value), f.known[key])
	r := d.resolve(e.value)
	var b bool
	if d.t.kind(r) == scalarNode && d.t.shortTag(r) == tagBool && d.t.yamlNode(r).Decode(&b) == nil {
		return &rawBool{pos: p, b: b, ok: true}
	}
	d.ps.add(p, fmt.Sprintf("must be true or false, got %s", d.describe(e.value)))
	return &rawBool{pos: p}
}

// netmask reads persistence_netmask: an integer prefix length or a dotted
// mask.
func (d *decoder) netmask(f *fields, path fieldPath) *rawNetmask {
	e, ok := f.get(svcNetmask)
	if !ok {
		return nil
	}
	p := path.keyAt(d.n(e.value), "persistence_netmask")
	r := d.resolve(e.value)
	if d.t.kind(r) == scalarNode && d.t.shortTag(r) == tagInt {
		return &rawNetmask{prefix: d.intValue(e.value, p)}
	}
	if d.t.kind(r) == scalarNode && d.t.shortTag(r) == tagStr {
		return &rawNetmask{dotted: &rawString{pos: p, s: d.t.value(r), ok: true}}
	}
	d.ps.add(p, fmt.Sprintf("must be a prefix length or a dotted netmask, got %s", d.describe(e.value)))
	return &rawNetmask{prefix: &rawInt{pos: p}}
}

// describe names what n is, for "must be X, got Y" messages.
func (d *decoder) describe(n int32) string {
	r := d.t.resolve(n)
	switch d.t.kind(r) {
	case mappingNode:
		return "a mapping"
	case sequenceNode:
		return "a list"
	case scalarNode:
		v := d.t.value(r)
		switch d.t.shortTag(r) {
		case tagNull:
			if v == "" {
				return "an empty value"
			}
			return v
		case tagInt, tagFloat, tagBool:
			return clip(v)
		}
		return quote(v)
	}
	return "nothing"
}
