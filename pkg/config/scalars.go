package config

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// text reads f[key] as text (any scalar but an empty one).
func (d *decoder) text(f fields, path fieldPath, key, want string) *rawString {
	e, ok := f.get(key)
	if !ok {
		return nil
	}
	p := path.keyAt(e.value, key)
	r := d.resolve(e.value)
	out := d.strings.new()
	if r.Kind != yaml.ScalarNode || isNull(r) {
		d.ps.add(p, fmt.Sprintf("must be %s, got %s", want, describe(e.value)))
		*out = rawString{pos: p}
		return out
	}
	*out = rawString{pos: p, s: r.Value, ok: true}
	return out
}

// integer reads f[key] as an integer, in any spelling YAML resolves to
// one (80, 0x50, 0o120, 1_000).
func (d *decoder) integer(f fields, path fieldPath, key string) *rawInt {
	e, ok := f.get(key)
	if !ok {
		return nil
	}
	return d.intValue(e.value, path.keyAt(e.value, key))
}

// intValue reads n, written at p, as an integer.
func (d *decoder) intValue(n *yaml.Node, p pos) *rawInt {
	r := d.resolve(n)
	out := d.integers.new()
	if r.Kind == yaml.ScalarNode && r.ShortTag() == "!!int" {
		if i, ok := plainDecimal(r.Value); ok {
			*out = rawInt{pos: p, n: i, text: r.Value, ok: true}
			return out
		}
		var i int64
		if err := r.Decode(&i); err == nil {
			*out = rawInt{pos: p, n: i, text: r.Value, ok: true}
			return out
		}
		var u uint64
		if err := r.Decode(&u); err == nil {
			*out = rawInt{pos: p, n: -1, text: r.Value, overflow: true, ok: true}
			return out
		}
	}
	d.ps.add(p, fmt.Sprintf("must be an integer, got %s", describe(n)))
	*out = rawInt{pos: p}
	return out
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
func (d *decoder) boolean(f fields, path fieldPath, key string) *rawBool {
	e, ok := f.get(key)
	if !ok {
		return nil
	}
	p := path.keyAt(e.value, key)
	r := d.resolve(e.value)
	var b bool
	if r.Kind == yaml.ScalarNode && r.ShortTag() == "!!bool" && r.Decode(&b) == nil {
		return &rawBool{pos: p, b: b, ok: true}
	}
	d.ps.add(p, fmt.Sprintf("must be true or false, got %s", describe(e.value)))
	return &rawBool{pos: p}
}

// netmask reads persistence_netmask: an integer prefix length or a dotted
// mask.
func (d *decoder) netmask(f fields, path fieldPath) *rawNetmask {
	e, ok := f.get("persistence_netmask")
	if !ok {
		return nil
	}
	p := path.keyAt(e.value, "persistence_netmask")
	r := d.resolve(e.value)
	if r.Kind == yaml.ScalarNode && r.ShortTag() == "!!int" {
		return &rawNetmask{prefix: d.intValue(e.value, p)}
	}
	if r.Kind == yaml.ScalarNode && r.ShortTag() == "!!str" {
		return &rawNetmask{dotted: &rawString{pos: p, s: r.Value, ok: true}}
	}
	d.ps.add(p, fmt.Sprintf("must be a prefix length or a dotted netmask, got %s", describe(e.value)))
	return &rawNetmask{prefix: &rawInt{pos: p}}
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 8; i++ {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is an empty value ("", "~", "null").
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what n is, for "must be X, got Y" messages.
func describe(n *yaml.Node) string {
	r := resolve(n)
	switch r.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch r.ShortTag() {
		case "!!null":
			if r.Value == "" {
				return "an empty value"
			}
			return r.Value
		case "!!int", "!!float", "!!bool":
			return clip(r.Value)
		}
		return quote(r.Value)
	}
	return "nothing"
}
