package config

import "fmt"

// extensionPrefix marks top-level keys that lvs-rs ignores, so that a file
// can hold YAML anchors to merge (<<: *defaults) into several services.
const extensionPrefix = "x-"

// Bounds on what one file may describe, counted after expanding aliases
// and merge keys (<<): a small file that repeats an alias of a long list
// could otherwise describe millions of servers or keys.
const (
	maxItems = 100_000   // virtual and real servers
	maxWork  = 2_000_000 // mapping entries read, merged ones included
)

// decoder turns a tree into a rawConfig, reporting structural
// problems: unknown and duplicate keys, wrong types.
//
// Decoding costs a few allocations per mapping at most: entries and raw
// values come from slabs, paths are rendered only for messages, and
// mappings are memoized only in a document with aliases (without one,
// every node is reached once).
type decoder struct {
	t  *tree
	ps *problems
	// memo is set when the document has aliases: a mapping merged or
	// aliased many times is then expanded once. Without it, the first
	// alias met sets aliased and stops reading (see decodeDocument).
	memo        *memo
	aliased     bool
	items       int  // virtual and real servers read so far
	work        int  // mapping entries read so far
	stopped     bool // a bound was reached: read nothing more
	entries     slab[entry]
	realServers slab[rawRealServer]
	strings     slab[rawString]
	integers    slab[rawInt]
}

// memo memoizes the effective entries of each mapping node, by index;
// visiting catches a mapping merged into itself.
type memo struct {
	entries  map[int32][]entry
	visiting map[int32]bool
}

// n returns node i of the tree.
func (d *decoder) n(i int32) *cnode { return &d.t.nodes[i] }

// spend counts one more virtual or real server at n, and reports false
// when reading must stop.
func (d *decoder) spend(n int32, path fieldPath) bool {
	d.items++
	if d.items > maxItems {
		d.stop(n, path, fmt.Sprintf("more than %d virtual and real servers in all (counting each use of an alias); stopped reading here", maxItems))
	}
	return d.charge(1, n, path)
}

// charge counts work units spent at n, and reports false when reading
// must stop.
func (d *decoder) charge(units int, n int32, path fieldPath) bool {
	d.work += units
	if d.work > maxWork {
		d.stop(n, path, "the file expands to too much through aliases and merge keys (<<); stopped reading here")
	}
	return !d.stopped
}

// stop ends reading, with problem as the reason (kept even when there are
// already too many problems to show).
func (d *decoder) stop(n int32, path fieldPath, problem string) {
	if !d.stopped {
		d.stopped = true
		d.ps.addAlways(path.at(d.n(n)), problem)
	}
}

// decodeDocument reads the document of t (node 0; no node for an empty
// file).
//
// It reads without memoizing first, as nearly every file has no alias;
// at the first alias it meets, it forgets what it read and reported and
// reads again with the memo.
func decodeDocument(t *tree, ps *problems) *rawConfig {
	mark := ps.mark()
	d := &decoder{t: t, ps: ps}
	raw := d.document(0)
	if d.aliased {
		ps.rewind(mark)
		d = &decoder{t: t, ps: ps, memo: &memo{entries: map[int32][]entry{}, visiting: map[int32]bool{}}}
		raw = d.document(0)
	}
	return raw
}

// noServices tells how to write a configuration without services, for
// the problem of an empty file.
const noServices = "write virtual_servers: [] for a configuration with no services"

// resolve follows aliases to the node they name. Without a memo, an alias
// stops reading: decodeDocument then reads again with one.
func (d *decoder) resolve(n int32) int32 {
	if d.t.kind(n) == aliasNode && d.memo == nil {
		d.aliased, d.stopped = true, true
	}
	return d.t.resolve(n)
}

// document reads the document doc.
func (d *decoder) document(doc int32) *rawConfig {
	raw := &rawConfig{}
	top := doc
	if c := d.t.content(doc); d.t.kind(doc) == documentNode && len(c) > 0 {
		top = c[0]
	}
	// A file with nothing in it is most likely one caught between being
	// truncated and rewritten: read as no services, it would take every
	// VIP down. No services is written virtual_servers: [].
	switch {
	case d.t.kind(top) == 0 || d.t.kind(top) == documentNode || (d.t.isNull(top) && d.t.value(top) == ""):
		d.ps.add(pos{line: 1, col: 1}, "the file is empty (nothing but whitespace and comments); "+noServices)
		return raw
	case d.t.isNull(top):
		d.ps.add(fieldPath{}.at(d.n(top)), "the file holds nothing but a null value; "+noServices)
		return raw
	}
	f, ok := d.mapping(top, fieldPath{}, topKeys(), false)
	if !ok {
		return raw
	}
	if e, ok := f.get(topDirector); ok {
		p := pathOf("director")
		if df, ok := d.mapping(e.value, p, directorKeys(), true); ok {
			raw.iface = d.text(&df, p, dirInterface, "an interface name")
			raw.ipForward = d.boolean(&df, p, dirIPForward)
			raw.rawDirector2 = d.director2(&df)
		}
	}
	if e, ok := f.get(topRealserver); ok {
		p := pathOf("realserver")
		if rf, ok := d.mapping(e.value, p, realserverKeys(), true); ok {
			raw.gateway = d.gateways(&rf, p)
		}
	}
	if e, ok := f.get(topVirtualServers); ok {
		d.services(e.value, raw)
	}
	return raw
}

// services reads virtual_servers (node n) and checks each service as soon
// as it is read, into raw.checked: the memory of its raw values is then
// reused for the next one. The values read before (the director's) keep
// theirs, as the validator checks them last.
func (d *decoder) services(n int32, raw *rawConfig) {
	p := pathOf("virtual_servers")
	items, _ := d.sequence(n, p, "a list of virtual servers")
	v := newValidator(raw, &problems{file: d.ps.file}, len(items), d.t.countRealServers(items))
	raw.checked = v
	d.strings, d.integers, d.realServers = slab[rawString]{}, slab[rawInt]{}, slab[rawRealServer]{}
	for i, item := range items {
		path := p.index(i)
		if !d.spend(item, path) {
			break
		}
		if s, ok := d.service(item, path); ok {
			v.add(&s)
		}
		d.strings.reset()
		d.integers.reset()
		d.realServers.reset()
	}
}

// countRealServers estimates how many real servers the services items
// list, to size the Config: merge keys are not followed.
func (t *tree) countRealServers(items []int32) int {
	n := 0
	for _, item := range items {
		r := t.resolve(item)
		if t.kind(r) != mappingNode {
			continue
		}
		content := t.content(r)
		for i := 0; i+1 < len(content); i += 2 {
			if t.keyName(content[i]) == "real_servers" {
				if v := t.resolve(content[i+1]); t.kind(v) == sequenceNode {
					n += len(t.content(v))
				}
			}
		}
	}
	return n
}

// service reads one item of virtual_servers.
func (d *decoder) service(n int32, path fieldPath) (rawService, bool) {
	f, ok := d.mapping(n, path, serviceKeys(), false)
	if !ok {
		return rawService{}, false
	}
	s := rawService{
		at:          path.at(d.n(n)),
		vip:         d.text(&f, path, svcVIP, "an IP address"),
		port:        d.integer(&f, path, svcPort),
		protocol:    d.text(&f, path, svcProtocol, "a protocol name"),
		fwmark:      d.integer(&f, path, svcFWMark),
		scheduler:   d.text(&f, path, svcScheduler, "a scheduler name"),
		persistence: d.integer(&f, path, svcPersistence),
		netmask:     d.netmask(&f, path),
		mode:        d.text(&f, path, svcMode, "a forwarding mode"),
		rawService2: d.service2(&f, path),
	}
	if e, ok := f.get(svcRealServers); ok {
		rpath := path.sub("real_servers")
		items, _ := d.sequence(e.value, rpath, "a list of real servers")
		if len(items) > 0 {
			s.realServers = d.realServers.take(len(items))
		}
		for i, item := range items {
			ipath := rpath.index(i)
			if !d.spend(item, ipath) {
				break
			}
			s.realServers = append(s.realServers, rawRealServer{})
			if !d.realServer(item, ipath, &s.realServers[len(s.realServers)-1]) {
				s.realServers = s.realServers[:len(s.realServers)-1]
			}
		}
	}
	return s, true
}

// realServer reads one item of real_servers into r, and reports whether
// it is a mapping.
func (d *decoder) realServer(n int32, path fieldPath, r *rawRealServer) bool {
	f, ok := d.mapping(n, path, realServerKeys(), false)
	if !ok {
		return false
	}
	*r = rawRealServer{
		at:      path.at(d.n(n)),
		address: d.text(&f, path, rsAddress, "an IP address"),
		port:    d.integer(&f, path, rsPort),
		weight:  d.integer(&f, path, rsWeight),
		mode:    d.text(&f, path, rsMode, "a forwarding mode"),

		rawRealServer2: d.realServer2(&f, path),
	}
	return true
}
