package config

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

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

// decoder turns a yaml.Node tree into a rawConfig, reporting structural
// problems: unknown and duplicate keys, wrong types.
//
// Decoding costs a few allocations per mapping at most: entries and raw
// values come from slabs, paths are rendered only for messages, and
// mappings are memoized only in a document with aliases (without one,
// every node is reached once).
type decoder struct {
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

// memo memoizes the effective entries of each mapping node; visiting
// catches a mapping merged into itself.
type memo struct {
	entries  map[*yaml.Node][]entry
	visiting map[*yaml.Node]bool
}

// spend counts one more virtual or real server at n, and reports false
// when reading must stop.
func (d *decoder) spend(n *yaml.Node, path fieldPath) bool {
	d.items++
	if d.items > maxItems {
		d.stop(n, path, fmt.Sprintf("more than %d virtual and real servers in all (counting each use of an alias); stopped reading here", maxItems))
	}
	return d.charge(1, n, path)
}

// charge counts work units spent at n, and reports false when reading
// must stop.
func (d *decoder) charge(units int, n *yaml.Node, path fieldPath) bool {
	d.work += units
	if d.work > maxWork {
		d.stop(n, path, "the file expands to too much through aliases and merge keys (<<); stopped reading here")
	}
	return !d.stopped
}

// stop ends reading, with problem as the reason (kept even when there are
// already too many problems to show).
func (d *decoder) stop(n *yaml.Node, path fieldPath, problem string) {
	if !d.stopped {
		d.stopped = true
		d.ps.addAlways(path.at(n), problem)
	}
}

// decodeDocument reads the document doc (as yaml.v3 decodes it; the zero
// Node for an empty file).
//
// It reads without memoizing first, as nearly every file has no alias;
// at the first alias it meets, it forgets what it read and reported and
// reads again with the memo.
func decodeDocument(doc *yaml.Node, ps *problems) *rawConfig {
	mark := ps.mark()
	d := &decoder{ps: ps}
	raw := d.document(doc)
	if d.aliased {
		ps.rewind(mark)
		d = &decoder{ps: ps, memo: &memo{entries: map[*yaml.Node][]entry{}, visiting: map[*yaml.Node]bool{}}}
		raw = d.document(doc)
	}
	return raw
}

// resolve follows aliases to the node they name. Without a memo, an alias
// stops reading: decodeDocument then reads again with one.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && d.memo == nil {
		d.aliased, d.stopped = true, true
	}
	return resolve(n)
}

// document reads the document doc.
func (d *decoder) document(doc *yaml.Node) *rawConfig {
	raw := &rawConfig{}
	top := doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		top = doc.Content[0]
	}
	if top.Kind == 0 {
		return raw
	}
	f, ok := d.mapping(top, fieldPath{}, topKeys(), true)
	if !ok {
		return raw
	}
	if e, ok := f.get("director"); ok {
		p := pathOf("director")
		if df, ok := d.mapping(e.value, p, directorKeys(), true); ok {
			raw.iface = d.text(df, p, "interface", "an interface name")
			raw.ipForward = d.boolean(df, p, "ip_forward")
			raw.rawDirector2 = d.director2(df)
		}
	}
	if e, ok := f.get("realserver"); ok {
		p := pathOf("realserver")
		if rf, ok := d.mapping(e.value, p, realserverKeys(), true); ok {
			raw.gateway = d.text(rf, p, "gateway", "an IP address")
		}
	}
	if e, ok := f.get("virtual_servers"); ok {
		p := pathOf("virtual_servers")
		items, _ := d.sequence(e.value, p, "a list of virtual servers")
		if len(items) > 0 {
			raw.services = make([]rawService, 0, len(items))
		}
		for i, item := range items {
			path := p.index(i)
			if !d.spend(item, path) {
				break
			}
			if s, ok := d.service(item, path); ok {
				raw.services = append(raw.services, s)
			}
		}
	}
	return raw
}

// service reads one item of virtual_servers.
func (d *decoder) service(n *yaml.Node, path fieldPath) (rawService, bool) {
	f, ok := d.mapping(n, path, serviceKeys(), false)
	if !ok {
		return rawService{}, false
	}
	s := rawService{
		at:          path.at(n),
		vip:         d.text(f, path, "vip", "an IP address"),
		port:        d.integer(f, path, "port"),
		protocol:    d.text(f, path, "protocol", "a protocol name"),
		fwmark:      d.integer(f, path, "fwmark"),
		scheduler:   d.text(f, path, "scheduler", "a scheduler name"),
		persistence: d.integer(f, path, "persistence"),
		netmask:     d.netmask(f, path),
		mode:        d.text(f, path, "mode", "a forwarding mode"),
		rawService2: d.service2(f, path),
	}
	if e, ok := f.get("real_servers"); ok {
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
			if r, ok := d.realServer(item, ipath); ok {
				s.realServers = append(s.realServers, r)
			}
		}
	}
	return s, true
}

// realServer reads one item of real_servers.
func (d *decoder) realServer(n *yaml.Node, path fieldPath) (rawRealServer, bool) {
	f, ok := d.mapping(n, path, realServerKeys(), false)
	if !ok {
		return rawRealServer{}, false
	}
	return rawRealServer{
		at:      path.at(n),
		address: d.text(f, path, "address", "an IP address"),
		port:    d.integer(f, path, "port"),
		weight:  d.integer(f, path, "weight"),
		mode:    d.text(f, path, "mode", "a forwarding mode"),

		rawRealServer2: d.realServer2(f, path),
	}, true
}
