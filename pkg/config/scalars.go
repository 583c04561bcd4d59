package config

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// text reads f[key] as text (any scalar but an empty one).
func (d *decoder) text(f map[string]entry, path, key, want string) *rawString {
	e, ok := f[key]
	if !ok {
		return nil
	}
	p := nodePos(e.value, joinField(path, key))
	r := resolve(e.value)
	if r.Kind != yaml.ScalarNode || isNull(r) {
		d.ps.add(p, fmt.Sprintf("must be %s, got %s", want, describe(e.value)))
		return &rawString{pos: p}
	}
	return &rawString{pos: p, s: r.Value, ok: true}
}

// integer reads f[key] as an integer, in any spelling YAML resolves to
// one (80, 0x50, 0o120, 1_000).
func (d *decoder) integer(f map[string]entry, path, key string) *rawInt {
	e, ok := f[key]
	if !ok {
		return nil
	}
	return d.intValue(e.value, joinField(path, key))
}

// intValue reads n as an integer.
func (d *decoder) intValue(n *yaml.Node, field string) *rawInt {
	p := nodePos(n, field)
	r := resolve(n)
	if r.Kind == yaml.ScalarNode && r.ShortTag() == "!!int" {
		var i int64
		if err := r.Decode(&i); err == nil {
			return &rawInt{pos: p, n: i, text: r.Value, ok: true}
		}
		var u uint64
		if err := r.Decode(&u); err == nil {
			return &rawInt{pos: p, n: -1, text: r.Value, overflow: true, ok: true}
		}
	}
	d.ps.add(p, fmt.Sprintf("must be an integer, got %s", describe(n)))
	return &rawInt{pos: p}
}

// boolean reads f[key] as true or false.
func (d *decoder) boolean(f map[string]entry, path, key string) *rawBool {
	e, ok := f[key]
	if !ok {
		return nil
	}
	p := nodePos(e.value, joinField(path, key))
	r := resolve(e.value)
	var b bool
	if r.Kind == yaml.ScalarNode && r.ShortTag() == "!!bool" && r.Decode(&b) == nil {
		return &rawBool{pos: p, b: b, ok: true}
	}
	d.ps.add(p, fmt.Sprintf("must be true or false, got %s", describe(e.value)))
	return &rawBool{pos: p}
}

// netmask reads persistence_netmask: an integer prefix length or a dotted
// mask.
func (d *decoder) netmask(f map[string]entry, path string) *rawNetmask {
	e, ok := f["persistence_netmask"]
	if !ok {
		return nil
	}
	field := joinField(path, "persistence_netmask")
	r := resolve(e.value)
	if r.Kind == yaml.ScalarNode && r.ShortTag() == "!!int" {
		return &rawNetmask{prefix: d.intValue(e.value, field)}
	}
	if r.Kind == yaml.ScalarNode && r.ShortTag() == "!!str" {
		return &rawNetmask{dotted: &rawString{pos: nodePos(e.value, field), s: r.Value, ok: true}}
	}
	p := nodePos(e.value, field)
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

// nodePos returns the position of n (as written, not of an alias target)
// under the given field path.
func nodePos(n *yaml.Node, field string) pos {
	return pos{field: field, line: n.Line, col: n.Column}
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
