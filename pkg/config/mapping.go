package config

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// entry is one key/value pair of a mapping.
type entry struct {
	key   *yaml.Node // the key as written, for key problems
	value *yaml.Node // the value as written (maybe an alias), for positions
}

// name returns the text of e's key.
func (e entry) name() string { return resolve(e.key).Value }

// fields are the entries of a mapping, one per key. The keys a mapping
// may hold are few, so looking one up is a short scan.
type fields []entry

// get returns the entry of key name.
func (f fields) get(name string) (entry, bool) {
	for _, e := range f {
		if e.name() == name {
			return e, true
		}
	}
	return entry{}, false
}

// mapping checks that n is a mapping (or, when nullOK, empty) and returns
// its entries. It reports unknown keys; at the top level keys starting
// with "x-" are ignored. Only known keys are ever looked up in the result.
func (d *decoder) mapping(n *yaml.Node, path fieldPath, known []string, nullOK bool) (fields, bool) {
	r := d.resolve(n)
	switch {
	case d.stopped:
		return nil, false
	case nullOK && isNull(r):
		return nil, true
	case r.Kind != yaml.MappingNode:
		d.ps.add(path.at(n), fmt.Sprintf("must be a mapping with the keys %s, got %s", strings.Join(known, ", "), describe(n)))
		return nil, false
	}
	entries := d.mappingEntries(r, path)
	if !d.charge(len(entries), n, path) {
		return nil, false
	}
	for _, e := range entries {
		switch name := e.name(); {
		case contains(known, name):
		case path.isTop() && strings.HasPrefix(name, extensionPrefix):
		default:
			d.ps.add(keyPos(e.key, path, name), unknownKey(name, known))
		}
	}
	return entries, true
}

// keyPos returns the position of key (named name) of the mapping at path.
func keyPos(key *yaml.Node, path fieldPath, name string) pos {
	return pos{field: joinField(path.String(), keyName(name)), line: key.Line, col: key.Column}
}

// mappingEntries returns the entries of mapping n in document order, with
// merge keys (<<) expanded the YAML way: keys written in n win over merged
// ones, and earlier merged mappings over later ones. Duplicate keys, keys
// that are not scalars and bad merge values are reported, once per node.
func (d *decoder) mappingEntries(n *yaml.Node, path fieldPath) []entry {
	if d.memo != nil {
		if es, ok := d.memo.entries[n]; ok {
			return es
		}
		d.memo.visiting[n] = true
		defer delete(d.memo.visiting, n)
	}
	var merges []entry
	ks := keySet{out: d.entries.take(len(n.Content) / 2)}
	for i := 0; i+1 < len(n.Content); i += 2 {
		e := entry{key: n.Content[i], value: n.Content[i+1]}
		k := d.resolve(e.key)
		switch {
		case k.Kind != yaml.ScalarNode:
			d.ps.add(path.at(e.key), fmt.Sprintf("a key must be a string, got %s", describe(e.key)))
		case k.ShortTag() == "!!merge":
			merges = append(merges, e)
		default:
			if first := ks.find(k.Value); first != nil {
				d.ps.add(keyPos(e.key, path, k.Value), fmt.Sprintf("duplicate key (first at line %d)", first.Line))
			} else {
				ks.add(e)
			}
		}
	}
	for _, m := range merges {
		for _, src := range d.mergeSources(m, path) {
			merged := d.mappingEntries(src, path)
			if !d.charge(len(merged), n, path) {
				break
			}
			for _, e := range merged {
				if ks.find(e.name()) == nil {
					ks.add(e)
				}
			}
		}
	}
	if d.memo != nil {
		d.memo.entries[n] = ks.out
	}
	return ks.out
}

// indexFrom is how many keys a mapping has before its keys are looked up
// in a map rather than by a scan.
const indexFrom = 16

// keySet is the entries of a mapping being read, by key.
type keySet struct {
	out   []entry
	index map[string]*yaml.Node // the first key of each name, once out is long
}

// find returns the key already read with that name, or nil.
func (s *keySet) find(name string) *yaml.Node {
	if s.index != nil {
		return s.index[name]
	}
	for i := range s.out {
		if s.out[i].name() == name {
			return s.out[i].key
		}
	}
	return nil
}

// add appends e, whose name is not in the set yet.
func (s *keySet) add(e entry) {
	s.out = append(s.out, e)
	switch {
	case s.index != nil:
		s.index[e.name()] = e.key
	case len(s.out) > indexFrom:
		s.index = make(map[string]*yaml.Node, 2*len(s.out))
		for _, x := range s.out {
			s.index[x.name()] = x.key
		}
	}
}

// mergeSources returns the mappings that merge key entry m brings in.
func (d *decoder) mergeSources(m entry, path fieldPath) []*yaml.Node {
	mp := path.sub("<<")
	v := d.resolve(m.value)
	var srcs []*yaml.Node
	switch v.Kind {
	case yaml.MappingNode:
		srcs = []*yaml.Node{v}
	case yaml.SequenceNode:
		for _, item := range v.Content {
			if r := d.resolve(item); r.Kind == yaml.MappingNode {
				srcs = append(srcs, r)
			} else {
				d.ps.add(mp.at(item), fmt.Sprintf("can only merge mappings, got %s", describe(item)))
			}
		}
	default:
		d.ps.add(mp.at(m.value), fmt.Sprintf("can only merge a mapping or a list of mappings, got %s", describe(m.value)))
	}
	if d.memo == nil {
		if d.aliased {
			return nil // read again with the memo
		}
		return srcs // without aliases no mapping can be merged into itself
	}
	var out []*yaml.Node
	for _, src := range srcs {
		if d.memo.visiting[src] {
			d.ps.add(mp.at(m.value), "merges a mapping into itself")
			continue
		}
		out = append(out, src)
	}
	return out
}

// sequence checks that n is a list (an empty value is an empty list) and
// returns its items.
func (d *decoder) sequence(n *yaml.Node, path fieldPath, what string) ([]*yaml.Node, bool) {
	r := d.resolve(n)
	switch {
	case isNull(r):
		return nil, true
	case r.Kind == yaml.SequenceNode:
		return r.Content, true
	}
	d.ps.add(path.at(n), fmt.Sprintf("must be %s, got %s", what, describe(n)))
	return nil, false
}

// slab hands out values from shared chunks: one allocation for many small
// values that live as long as one another.
type slab[T any] struct{ buf []T }

// slabChunk is how many values one chunk of a slab holds.
const slabChunk = 512

// new returns a zero value from the slab.
func (s *slab[T]) new() *T {
	if len(s.buf) == cap(s.buf) {
		s.buf = make([]T, 0, slabChunk)
	}
	s.buf = s.buf[:len(s.buf)+1]
	return &s.buf[len(s.buf)-1]
}

// take returns an empty slice with room for n values; appending beyond
// that moves the slice out of the slab.
func (s *slab[T]) take(n int) []T {
	if n > slabChunk/8 {
		return make([]T, 0, n)
	}
	if cap(s.buf)-len(s.buf) < n {
		s.buf = make([]T, 0, slabChunk)
	}
	i := len(s.buf)
	s.buf = s.buf[:i+n]
	return s.buf[i : i : i+n]
}
