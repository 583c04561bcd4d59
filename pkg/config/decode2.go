package config

import (
	"slices"
	"strings"
)

// director2 reads the director keys beyond interface and ip_forward.
func (d *decoder) director2(df *fields) rawDirector2 {
	path := pathOf("director")
	r := rawDirector2{
		reconcile:     d.text(df, path, dirReconcile, "a duration such as 10s"),
		metrics:       d.text(df, path, dirMetrics, "an ADDRESS:PORT"),
		sendRedirects: d.boolean(df, path, dirSendRedirects),
	}
	if e, ok := df.get(dirIPVSSysctls); ok {
		p := path.sub("ipvs_sysctls")
		known := ipvsSysctlKeys()
		if f, ok := d.mapping(e.value, p, known, true); ok {
			type named struct {
				name  string
				value int32
			}
			var sysctls []named
			for _, e := range f.entries {
				if name := f.name(e); known.index(name) >= 0 {
					sysctls = append(sysctls, named{name, e.value})
				}
			}
			slices.SortFunc(sysctls, func(a, b named) int { return strings.Compare(a.name, b.name) })
			for _, s := range sysctls {
				v := d.intValue(s.value, p.keyAt(d.n(s.value), s.name))
				r.ipvsSysctls = append(r.ipvsSysctls, rawNamedInt{name: s.name, v: v})
			}
		}
	}
	if e, ok := df.get(dirTimeouts); ok {
		p := path.sub("timeouts")
		if f, ok := d.mapping(e.value, p, timeoutKeys(), true); ok {
			r.timeouts = &rawTimeouts{
				tcp:    d.text(&f, p, toTCP, "a duration such as 900s"),
				tcpFin: d.text(&f, p, toTCPFin, "a duration such as 120s"),
				udp:    d.text(&f, p, toUDP, "a duration such as 300s"),
			}
		}
	}
	if e, ok := df.get(dirSync); ok {
		p := path.sub("sync")
		if f, ok := d.mapping(e.value, p, syncKeys(), false); ok {
			r.sync = &rawSync{
				at:     p.at(d.n(e.value)),
				iface:  d.text(&f, p, syncInterface, "an interface name"),
				state:  d.text(&f, p, syncState, "master, backup or both"),
				syncid: d.integer(&f, p, syncSyncID),
				maxlen: d.integer(&f, p, syncMaxLen),
				group:  d.text(&f, p, syncGroup, "a multicast address"),
				port:   d.integer(&f, p, syncPort),
				ttl:    d.integer(&f, p, syncTTL),
			}
		}
	}
	if e, ok := df.get(dirAnnounce); ok {
		p := path.sub("announce")
		if f, ok := d.mapping(e.value, p, announceKeys(), false); ok {
			r.announce = &rawAnnounce{at: p.at(d.n(e.value)), table: d.integer(&f, p, annTable), protocol: d.integer(&f, p, annProtocol)}
		}
	}
	return r
}

// service2 reads a virtual server's keys beyond the first release.
func (d *decoder) service2(f *fields, path fieldPath) rawService2 {
	r := rawService2{
		check:        d.check(f, path, svcCheck),
		onFailure:    d.text(f, path, svcOnFailure, "quiesce or remove"),
		drainTimeout: d.text(f, path, svcDrainTimeout, "a duration such as 5m"),
		slowStart:    d.text(f, path, svcSlowStart, "a duration such as 30s"),
		sorry:        d.text(f, path, svcSorry, "an IP address"),
		schedFlags:   d.list(f, path, svcSchedFlags, "a list of scheduler flags"),
	}
	if e, ok := f.get(svcMark); ok {
		p := path.sub("mark")
		items, ok := d.sequence(e.value, p, "a list of {protocol, port}")
		if ok && d.charge(len(items), e.value, p) {
			r.marks = &rawMarks{pos: p.at(d.n(e.value))}
			for i, item := range items {
				ip := p.index(i)
				if mf, ok := d.mapping(item, ip, markKeys(), false); ok {
					r.marks.items = append(r.marks.items, rawMark{at: ip.at(d.n(item)), protocol: d.text(&mf, ip, markProtocol, "a protocol name"), port: d.integer(&mf, ip, markPort)})
				}
			}
		}
	}
	return r
}

// realServer2 reads a real server's keys beyond the first release.
func (d *decoder) realServer2(f *fields, path fieldPath) *rawRealServer2 {
	r := rawRealServer2{
		check: d.check(f, path, rsCheck),
		upper: d.integer(f, path, rsUpper),
		lower: d.integer(f, path, rsLower),
	}
	if e, ok := f.get(rsTunnel); ok {
		p := path.sub("tunnel")
		if tf, ok := d.mapping(e.value, p, tunnelKeys(), false); ok {
			r.tunnel = &rawTunnel{
				at:    p.at(d.n(e.value)),
				typ:   d.text(&tf, p, tunType, "ipip, gue or gre"),
				port:  d.integer(&tf, p, tunPort),
				flags: d.list(&tf, p, tunFlags, "a list of tunnel flags"),
			}
		}
	}
	if r == (rawRealServer2{}) {
		return noRealServer2
	}
	out := new(rawRealServer2)
	*out = r
	return out
}

// check reads the check block f[key], when there is one.
func (d *decoder) check(f *fields, path fieldPath, key keyID) *rawCheck {
	e, ok := f.get(key)
	if !ok {
		return nil
	}
	p := path.sub("check")
	cf, ok := d.mapping(e.value, p, checkKeys(), false)
	if !ok {
		return nil
	}
	return &rawCheck{
		at:           p.at(d.n(e.value)),
		typ:          d.text(&cf, p, chkType, "a check type"),
		port:         d.integer(&cf, p, chkPort),
		via:          d.text(&cf, p, chkVia, "direct or vip"),
		interval:     d.text(&cf, p, chkInterval, "a duration such as 2s"),
		timeout:      d.text(&cf, p, chkTimeout, "a duration such as 1s"),
		rise:         d.integer(&cf, p, chkRise),
		fall:         d.integer(&cf, p, chkFall),
		path:         d.text(&cf, p, chkPath, "a URL path"),
		host:         d.text(&cf, p, chkHost, "a host name"),
		expectStatus: d.text(&cf, p, chkExpectStatus, `status codes such as "200-399"`),
		expectBody:   d.text(&cf, p, chkExpectBody, "a string"),
		query:        d.text(&cf, p, chkQuery, "a domain name"),
		command:      d.list(&cf, p, chkCommand, "a list of arguments"),
	}
}

// list reads f[key] as a list of scalars.
func (d *decoder) list(f *fields, path fieldPath, key keyID, what string) *rawList {
	e, ok := f.get(key)
	if !ok {
		return nil
	}
	p := path.sub(f.known[key])
	items, ok := d.sequence(e.value, p, what)
	if !ok || !d.charge(len(items), e.value, p) {
		return &rawList{pos: p.at(d.n(e.value))}
	}
	l := &rawList{pos: p.at(d.n(e.value)), ok: true}
	d.scalars(l, items, p, "a string")
	return l
}

// scalars appends items, the nodes of the list at p, to l as strings;
// an item that is not a scalar is a problem ("must be WHAT") and makes l
// not ok.
func (d *decoder) scalars(l *rawList, items []int32, p fieldPath, what string) {
	for i, item := range items {
		ip := p.index(i).at(d.n(item))
		r := d.resolve(item)
		if d.t.kind(r) != scalarNode || d.t.isNull(r) {
			d.ps.add(ip, "must be "+what+", got "+d.describe(item))
			l.ok = false
			continue
		}
		l.items = append(l.items, &rawString{pos: ip, s: d.t.value(r), ok: true})
	}
}

// gatewayWant is what realserver.gateway must be.
const gatewayWant = "an IP address or a list of them"

// gateways reads realserver.gateway: one address, read as a list of one,
// or a list of addresses. An empty list is refused here.
func (d *decoder) gateways(f *fields, path fieldPath) *rawList {
	e, ok := f.get(gwGateway)
	if !ok {
		return nil
	}
	if d.t.kind(d.resolve(e.value)) != sequenceNode {
		s := d.text(f, path, gwGateway, gatewayWant)
		return &rawList{pos: s.pos, items: []*rawString{s}, ok: s.ok}
	}
	p := path.sub(f.known[gwGateway])
	items, ok := d.sequence(e.value, p, gatewayWant)
	l := &rawList{pos: p.at(d.n(e.value)), ok: ok}
	if !ok || !d.charge(len(items), e.value, p) {
		l.ok = false
		return l
	}
	if len(items) == 0 {
		d.ps.add(l.pos, "an empty list; give the director's address, or one IPv4 and one IPv6 address, or leave gateway out")
		l.ok = false
		return l
	}
	d.scalars(l, items, p, "an IP address")
	return l
}
