package config

import (
	"fmt"
	"strings"
	"unsafe"
)

// entry is one key/value pair of a mapping.
type entry struct {
	key   int32 // the key as written, for key problems
	value int32 // the value as written (maybe an alias), for positions
}

// fields are the entries of a mapping, one per key, in tree t, with the
// known keys found once: at[k] is 1 + the index in entries of the key
// numbered k (0 when absent), so that reading a key is no scan.
type fields struct {
	t       *tree
	entries []entry
	known   []string
	at      [maxKnown]int32
}

// maxKnown is how many keys a kind of mapping may have to be read by
// keyID (the sysctls of ipvs_sysctls are read by name instead).
const maxKnown = 16

// name returns the text of e's key.
func (f *fields) name(e entry) string { return f.t.keyName(e.key) }

// keyName returns the text of key k.
func (t *tree) keyName(k int32) string { return t.value(t.resolve(k)) }

// get returns the entry of the known key k.
func (f *fields) get(k keyID) (entry, bool) {
	if i := f.at[k]; i > 0 {
		return f.entries[i-1], true
	}
	return entry{}, false
}

// mapping checks that n is a mapping (or, when nullOK, empty) and returns
// its entries. It reports unknown keys; at the top level keys starting
// with "x-" are ignored.
func (d *decoder) mapping(n int32, path fieldPath, known *keyList, nullOK bool) (fields, bool) {
	r := d.resolve(n)
	switch {
	case d.stopped:
		return fields{}, false
	case nullOK && d.t.isNull(r):
		return fields{known: known.names}, true
	case d.t.kind(r) != mappingNode:
		d.ps.add(path.at(d.n(n)), fmt.Sprintf("must be a mapping with the keys %s, got %s", strings.Join(known.names, ", "), d.describe(n)))
		return fields{}, false
	}
	f := fields{t: d.t, known: known.names}
	plain := d.memo == nil && f.knownKeys(d.t.content(r), known)
	if !plain {
		f.at = [maxKnown]int32{}
		f.entries = d.mappingEntries(r, path)
	}
	if !d.charge(len(f.entries), n, path) {
		return fields{}, false
	}
	if plain {
		return f, true
	}
	for i, e := range f.entries {
		name := d.t.keyName(e.key)
		k := known.index(name)
		switch {
		case k >= 0:
			if k < maxKnown {
				f.at[k] = int32(i) + 1
			}
		case path.isTop() && strings.HasPrefix(name, extensionPrefix):
		default:
			d.ps.add(d.keyPos(e.key, path, name), unknownKey(name, known.names))
		}
	}
	return f, true
}

// knownKeys takes the content of a mapping as f's entries when its keys
// are all plain scalars (no alias, no merge key), known, different, and
// read by keyID: there is then nothing to report, and mappingEntries
// would find the same entries. It reports false otherwise, with f.at
// partly filled.
func (f *fields) knownKeys(content []int32, known *keyList) bool {
	if len(content)%2 != 0 {
		return false
	}
	for i := 0; i < len(content); i += 2 {
		k := content[i]
		n := &f.t.nodes[k]
		if n.kind != scalarNode || n.tag == tagMerge || n.tag == tagOther || n.tag == tagNone {
			return false
		}
		j := known.index(f.t.value(k))
		if j < 0 || j >= maxKnown || f.at[j] != 0 {
			return false
		}
		f.at[j] = int32(i/2) + 1
	}
	f.entries = asEntries(content)
	return true
}

// keyPos returns the position of key (named name) of the mapping at path.
func (d *decoder) keyPos(key int32, path fieldPath, name string) pos {
	k := d.n(key)
	return pos{field: joinField(path.String(), keyName(name)), line: k.line, col: k.col}
}

// mappingEntries returns the entries of mapping n in document order, with
// merge keys (<<) expanded the YAML way: keys written in n win over merged
// ones, and earlier merged mappings over later ones. Duplicate keys, keys
// that are not scalars and bad merge values are reported, once per node.
func (d *decoder) mappingEntries(n int32, path fieldPath) []entry {
	if d.memo != nil {
		if es, ok := d.memo.entries[n]; ok {
			return es
		}
		d.memo.visiting[n] = true
		defer delete(d.memo.visiting, n)
	}
	content := d.t.content(n)
	if d.t.plainKeys(content) {
		es := asEntries(content)
		if d.memo != nil {
			d.memo.entries[n] = es
		}
		return es
	}
	var merges []entry
	ks := keySet{t: d.t, out: d.entries.take(len(content) / 2)}
	for i := 0; i+1 < len(content); i += 2 {
		e := entry{key: content[i], value: content[i+1]}
		k := d.resolve(e.key)
		switch {
		case d.t.kind(k) != scalarNode:
			d.ps.add(path.at(d.n(e.key)), fmt.Sprintf("a key must be a string, got %s", d.describe(e.key)))
		case d.t.shortTag(k) == tagMerge:
			merges = append(merges, e)
		default:
			name := d.t.value(k)
			if first, ok := ks.find(name); ok {
				d.ps.add(d.keyPos(e.key, path, name), fmt.Sprintf("duplicate key (first at line %d)", d.n(first).line))
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
				if _, ok := ks.find(d.t.keyName(e.key)); !ok {
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

// plainKeys reports whether the keys of a mapping's content are scalars
// (not aliases), none a merge key (<<), and all different, and fewer
// than indexFrom: the mapping's entries are then its content as it is.
func (t *tree) plainKeys(content []int32) bool {
	if len(content) > 2*indexFrom {
		return false
	}
	for i := 0; i+1 < len(content); i += 2 {
		k := content[i]
		if t.kind(k) != scalarNode || t.shortTag(k) == tagMerge {
			return false
		}
		name := t.value(k)
		for j := 0; j < i; j += 2 {
			if t.value(content[j]) == name {
				return false
			}
		}
	}
	return len(content)%2 == 0
}

// asEntries views the content of a mapping (key, value, key, value...) as
// its entries, which have the same layout.
func asEntries(content []int32) []entry {
	if len(content) == 0 {
		return nil
	}
	return unsafe.Slice((*entry)(unsafe.Pointer(&content[0])), len(content)/2)
}

// indexFrom is how many keys a mapping has before its keys are looked up
// in a map rather than by a scan.
const indexFrom = 16

// keySet is the entries of a mapping being read, by key.
type keySet struct {
	t     *tree
	out   []entry
	index map[string]int32 // the first key of each name, once out is long
}

// find returns the key already read with that name.
func (s *keySet) find(name string) (int32, bool) {
	if s.index != nil {
		k, ok := s.index[name]
		return k, ok
	}
	for i := range s.out {
		if s.t.keyName(s.out[i].key) == name {
			return s.out[i].key, true
		}
	}
	return 0, false
}

// add appends e, whose name is not in the set yet.
func (s *keySet) add(e entry) {
	s.out = append(s.out, e)
	switch {
	case s.index != nil:
		s.index[s.t.keyName(e.key)] = e.key
	case len(s.out) > indexFrom:
		s.index = make(map[string]int32, 2*len(s.out))
		for _, x := range s.out {
			s.index[s.t.keyName(x.key)] = x.key
		}
	}
}

// mergeSources returns the mappings that merge key entry m brings in.
func (d *decoder) mergeSources(m entry, path fieldPath) []int32 {
	mp := path.sub("<<")
	v := d.resolve(m.value)
	var srcs []int32
	switch d.t.kind(v) {
	case mappingNode:
		srcs = []int32{v}
	case sequenceNode:
		for _, item := range d.t.content(v) {
			if r := d.resolve(item); d.t.kind(r) == mappingNode {
				srcs = append(srcs, r)
			} else {
				d.ps.add(mp.at(d.n(item)), fmt.Sprintf("can only merge mappings, got %s", d.describe(item)))
			}
		}
	default:
		d.ps.add(mp.at(d.n(m.value)), fmt.Sprintf("can only merge a mapping or a list of mappings, got %s", d.describe(m.value)))
	}
	if d.memo == nil {
		if d.aliased {
			return nil // read again with the memo
		}
		return srcs // without aliases no mapping can be merged into itself
	}
	var out []int32
	for _, src := range srcs {
		if d.memo.visiting[src] {
			d.ps.add(mp.at(d.n(m.value)), "merges a mapping into itself")
			continue
		}
		out = append(out, src)
	}
	return out
}

// sequence checks that n is a list (an empty value is an empty list) and
// returns its items.
func (d *decoder) sequence(n int32, path fieldPath, what string) ([]int32, bool) {
	r := d.resolve(n)
	switch {
	case d.t.isNull(r):
		return nil, true
	case d.t.kind(r) == sequenceNode:
		return d.t.content(r), true
	}
	d.ps.add(path.at(d.n(n)), fmt.Sprintf("must be %s, got %s", what, d.describe(n)))
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

// reset makes the slab hand out its current chunk again, zeroed: every
// value it handed out before must be dead. Chunks before the current one
// are left to the garbage collector.
func (s *slab[T]) reset() {
	clear(s.buf)
	s.buf = s.buf[:0]
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
