package config

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// mapping checks that n is a mapping (or, when nullOK, empty) and returns
// its entries by key. It reports unknown keys; at the top level (path "")
// keys starting with "x-" are ignored.
func (d *decoder) mapping(n *yaml.Node, path string, known []string, nullOK bool) (map[string]entry, bool) {
	r := resolve(n)
	switch {
	case d.stopped:
		return nil, false
	case nullOK && isNull(r):
		return nil, true
	case r.Kind != yaml.MappingNode:
		d.ps.add(nodePos(n, path), fmt.Sprintf("must be a mapping with the keys %s, got %s", strings.Join(known, ", "), describe(n)))
		return nil, false
	}
	entries := d.mappingEntries(r, path)
	if !d.charge(len(entries), n, path) {
		return nil, false
	}
	out := map[string]entry{}
	for _, e := range entries {
		name := resolve(e.key).Value
		switch {
		case contains(known, name):
			out[name] = e
		case path == "" && strings.HasPrefix(name, extensionPrefix):
		default:
			d.ps.add(nodePos(e.key, joinField(path, keyName(name))), unknownKey(name, known))
		}
	}
	return out, true
}

// mappingEntries returns the entries of mapping n in document order, with
// merge keys (<<) expanded the YAML way: keys written in n win over merged
// ones, and earlier merged mappings over later ones. Duplicate keys, keys
// that are not scalars and bad merge values are reported, once per node.
func (d *decoder) mappingEntries(n *yaml.Node, path string) []entry {
	if es, ok := d.entries[n]; ok {
		return es
	}
	d.visiting[n] = true
	defer delete(d.visiting, n)
	var out, merges []entry
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		e := entry{key: n.Content[i], value: n.Content[i+1]}
		k := resolve(e.key)
		switch {
		case k.Kind != yaml.ScalarNode:
			d.ps.add(nodePos(e.key, path), fmt.Sprintf("a key must be a string, got %s", describe(e.key)))
		case k.ShortTag() == "!!merge":
			merges = append(merges, e)
		case seen[k.Value] != nil:
			first := seen[k.Value]
			d.ps.add(nodePos(e.key, joinField(path, keyName(k.Value))), fmt.Sprintf("duplicate key (first at line %d)", first.Line))
		default:
			seen[k.Value] = e.key
			out = append(out, e)
		}
	}
	for _, m := range merges {
		for _, src := range d.mergeSources(m, path) {
			merged := d.mappingEntries(src, path)
			if !d.charge(len(merged), n, path) {
				break
			}
			for _, e := range merged {
				name := resolve(e.key).Value
				if seen[name] == nil {
					seen[name] = e.key
					out = append(out, e)
				}
			}
		}
	}
	d.entries[n] = out
	return out
}

// mergeSources returns the mappings that merge key entry m brings in.
func (d *decoder) mergeSources(m entry, path string) []*yaml.Node {
	at := nodePos(m.value, joinField(path, "<<"))
	v := resolve(m.value)
	var srcs []*yaml.Node
	switch v.Kind {
	case yaml.MappingNode:
		srcs = []*yaml.Node{v}
	case yaml.SequenceNode:
		for _, item := range v.Content {
			if r := resolve(item); r.Kind == yaml.MappingNode {
				srcs = append(srcs, r)
			} else {
				d.ps.add(nodePos(item, at.field), fmt.Sprintf("can only merge mappings, got %s", describe(item)))
			}
		}
	default:
		d.ps.add(at, fmt.Sprintf("can only merge a mapping or a list of mappings, got %s", describe(m.value)))
	}
	var out []*yaml.Node
	for _, src := range srcs {
		if d.visiting[src] {
			d.ps.add(at, "merges a mapping into itself")
			continue
		}
		out = append(out, src)
	}
	return out
}

// sequence checks that n is a list (an empty value is an empty list) and
// returns its items.
func (d *decoder) sequence(n *yaml.Node, path, what string) ([]*yaml.Node, bool) {
	r := resolve(n)
	switch {
	case isNull(r):
		return nil, true
	case r.Kind == yaml.SequenceNode:
		return r.Content, true
	}
	d.ps.add(nodePos(n, path), fmt.Sprintf("must be %s, got %s", what, describe(n)))
	return nil, false
}
