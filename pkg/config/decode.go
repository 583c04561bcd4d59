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

// entry is one key/value pair of a mapping.
type entry struct {
	key   *yaml.Node // the key as written, for key problems
	value *yaml.Node // the value as written (maybe an alias), for positions
}

// decoder turns a yaml.Node tree into a rawConfig, reporting structural
// problems: unknown and duplicate keys, wrong types.
type decoder struct {
	ps *problems
	// entries memoizes the effective entries of each mapping node, so that
	// a mapping merged or aliased many times is expanded once; visiting
	// catches a mapping merged into itself.
	entries  map[*yaml.Node][]entry
	visiting map[*yaml.Node]bool
	items    int  // virtual and real servers read so far
	work     int  // mapping entries read so far
	stopped  bool // a bound was reached: read nothing more
}

// spend counts one more virtual or real server at n, and reports false
// when reading must stop.
func (d *decoder) spend(n *yaml.Node, path string) bool {
	d.items++
	if d.items > maxItems {
		d.stop(n, path, fmt.Sprintf("more than %d virtual and real servers in all (counting each use of an alias); stopped reading here", maxItems))
	}
	return d.charge(1, n, path)
}

// charge counts work units spent at n, and reports false when reading
// must stop.
func (d *decoder) charge(units int, n *yaml.Node, path string) bool {
	d.work += units
	if d.work > maxWork {
		d.stop(n, path, "the file expands to too much through aliases and merge keys (<<); stopped reading here")
	}
	return !d.stopped
}

// stop ends reading, with problem as the reason (kept even when there are
// already too many problems to show).
func (d *decoder) stop(n *yaml.Node, path, problem string) {
	if !d.stopped {
		d.stopped = true
		d.ps.addAlways(nodePos(n, path), problem)
	}
}

// decodeDocument reads the document doc (as yaml.v3 decodes it; the zero
// Node for an empty file).
func decodeDocument(doc *yaml.Node, ps *problems) *rawConfig {
	d := &decoder{ps: ps, entries: map[*yaml.Node][]entry{}, visiting: map[*yaml.Node]bool{}}
	raw := &rawConfig{}
	top := doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		top = doc.Content[0]
	}
	if top.Kind == 0 {
		return raw
	}
	f, ok := d.mapping(top, "", topKeys(), true)
	if !ok {
		return raw
	}
	if e, ok := f["director"]; ok {
		if df, ok := d.mapping(e.value, "director", directorKeys(), true); ok {
			raw.iface = d.text(df, "director", "interface", "an interface name")
			raw.ipForward = d.boolean(df, "director", "ip_forward")
			raw.rawDirector2 = d.director2(df)
		}
	}
	if e, ok := f["realserver"]; ok {
		if rf, ok := d.mapping(e.value, "realserver", realserverKeys(), true); ok {
			raw.gateway = d.text(rf, "realserver", "gateway", "an IP address")
		}
	}
	if e, ok := f["virtual_servers"]; ok {
		items, _ := d.sequence(e.value, "virtual_servers", "a list of virtual servers")
		for i, item := range items {
			path := fmt.Sprintf("virtual_servers[%d]", i)
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
func (d *decoder) service(n *yaml.Node, path string) (rawService, bool) {
	f, ok := d.mapping(n, path, serviceKeys(), false)
	if !ok {
		return rawService{}, false
	}
	s := rawService{
		at:          nodePos(n, path),
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
	if e, ok := f["real_servers"]; ok {
		rpath := joinField(path, "real_servers")
		items, _ := d.sequence(e.value, rpath, "a list of real servers")
		for i, item := range items {
			ipath := fmt.Sprintf("%s[%d]", rpath, i)
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
func (d *decoder) realServer(n *yaml.Node, path string) (rawRealServer, bool) {
	f, ok := d.mapping(n, path, realServerKeys(), false)
	if !ok {
		return rawRealServer{}, false
	}
	return rawRealServer{
		at:      nodePos(n, path),
		address: d.text(f, path, "address", "an IP address"),
		port:    d.integer(f, path, "port"),
		weight:  d.integer(f, path, "weight"),
		mode:    d.text(f, path, "mode", "a forwarding mode"),

		rawRealServer2: d.realServer2(f, path),
	}, true
}
