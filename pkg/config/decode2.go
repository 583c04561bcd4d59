package config

import "slices"

// director2 reads the director keys beyond interface and ip_forward.
func (d *decoder) director2(df fields) rawDirector2 {
	path := pathOf("director")
	r := rawDirector2{
		reconcile:     d.text(df, path, "reconcile_interval", "a duration such as 10s"),
		metrics:       d.text(df, path, "metrics", "an ADDRESS:PORT"),
		sendRedirects: d.boolean(df, path, "send_redirects"),
	}
	if e, ok := df.get("ipvs_sysctls"); ok {
		p := path.sub("ipvs_sysctls")
		known := ipvsSysctlKeys()
		if f, ok := d.mapping(e.value, p, known, true); ok {
			names := make([]string, 0, len(f.entries))
			for _, e := range f.entries {
				if name := f.name(e); contains(known, name) {
					names = append(names, name)
				}
			}
			slices.Sort(names)
			for _, name := range names {
				r.ipvsSysctls = append(r.ipvsSysctls, rawNamedInt{name: name, v: d.integer(f, p, name)})
			}
		}
	}
	if e, ok := df.get("timeouts"); ok {
		p := path.sub("timeouts")
		if f, ok := d.mapping(e.value, p, timeoutKeys(), true); ok {
			r.timeouts = &rawTimeouts{
				tcp:    d.text(f, p, "tcp", "a duration such as 900s"),
				tcpFin: d.text(f, p, "tcp_fin", "a duration such as 120s"),
				udp:    d.text(f, p, "udp", "a duration such as 300s"),
			}
		}
	}
	if e, ok := df.get("sync"); ok {
		p := path.sub("sync")
		if f, ok := d.mapping(e.value, p, syncKeys(), false); ok {
			r.sync = &rawSync{
				at:     p.at(d.n(e.value)),
				iface:  d.text(f, p, "interface", "an interface name"),
				state:  d.text(f, p, "state", "master, backup or both"),
				syncid: d.integer(f, p, "syncid"),
				maxlen: d.integer(f, p, "maxlen"),
				group:  d.text(f, p, "group", "a multicast address"),
				port:   d.integer(f, p, "port"),
				ttl:    d.integer(f, p, "ttl"),
			}
		}
	}
	if e, ok := df.get("announce"); ok {
		p := path.sub("announce")
		if f, ok := d.mapping(e.value, p, announceKeys(), false); ok {
			r.announce = &rawAnnounce{at: p.at(d.n(e.value)), table: d.integer(f, p, "table"), protocol: d.integer(f, p, "protocol")}
		}
	}
	return r
}

// service2 reads a virtual server's keys beyond the first release.
func (d *decoder) service2(f fields, path fieldPath) rawService2 {
	r := rawService2{
		check:        d.check(f, path),
		onFailure:    d.text(f, path, "on_failure", "quiesce or remove"),
		drainTimeout: d.text(f, path, "drain_timeout", "a duration such as 5m"),
		slowStart:    d.text(f, path, "slow_start", "a duration such as 30s"),
		sorry:        d.text(f, path, "sorry_server", "an IP address"),
		schedFlags:   d.list(f, path, "scheduler_flags", "a list of scheduler flags"),
	}
	if e, ok := f.get("mark"); ok {
		p := path.sub("mark")
		items, ok := d.sequence(e.value, p, "a list of {protocol, port}")
		if ok && d.charge(len(items), e.value, p) {
			r.marks = &rawMarks{pos: p.at(d.n(e.value))}
			for i, item := range items {
				ip := p.index(i)
				if mf, ok := d.mapping(item, ip, markKeys(), false); ok {
					r.marks.items = append(r.marks.items, rawMark{at: ip.at(d.n(item)), protocol: d.text(mf, ip, "protocol", "a protocol name"), port: d.integer(mf, ip, "port")})
				}
			}
		}
	}
	return r
}

// realServer2 reads a real server's keys beyond the first release.
func (d *decoder) realServer2(f fields, path fieldPath) *rawRealServer2 {
	r := rawRealServer2{
		check: d.check(f, path),
		upper: d.integer(f, path, "upper_threshold"),
		lower: d.integer(f, path, "lower_threshold"),
	}
	if e, ok := f.get("tunnel"); ok {
		p := path.sub("tunnel")
		if tf, ok := d.mapping(e.value, p, tunnelKeys(), false); ok {
			r.tunnel = &rawTunnel{
				at:    p.at(d.n(e.value)),
				typ:   d.text(tf, p, "type", "ipip, gue or gre"),
				port:  d.integer(tf, p, "port"),
				flags: d.list(tf, p, "flags", "a list of tunnel flags"),
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

// check reads the check block f["check"], when there is one.
func (d *decoder) check(f fields, path fieldPath) *rawCheck {
	e, ok := f.get("check")
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
		typ:          d.text(cf, p, "type", "a check type"),
		port:         d.integer(cf, p, "port"),
		via:          d.text(cf, p, "via", "direct or vip"),
		interval:     d.text(cf, p, "interval", "a duration such as 2s"),
		timeout:      d.text(cf, p, "timeout", "a duration such as 1s"),
		rise:         d.integer(cf, p, "rise"),
		fall:         d.integer(cf, p, "fall"),
		path:         d.text(cf, p, "path", "a URL path"),
		host:         d.text(cf, p, "host", "a host name"),
		expectStatus: d.text(cf, p, "expect_status", `status codes such as "200-399"`),
		expectBody:   d.text(cf, p, "expect_body", "a string"),
		query:        d.text(cf, p, "query", "a domain name"),
		command:      d.list(cf, p, "command", "a list of arguments"),
	}
}

// list reads f[key] as a list of scalars.
func (d *decoder) list(f fields, path fieldPath, key, what string) *rawList {
	e, ok := f.get(key)
	if !ok {
		return nil
	}
	p := path.sub(key)
	items, ok := d.sequence(e.value, p, what)
	if !ok || !d.charge(len(items), e.value, p) {
		return &rawList{pos: p.at(d.n(e.value))}
	}
	l := &rawList{pos: p.at(d.n(e.value)), ok: true}
	for i, item := range items {
		ip := p.index(i).at(d.n(item))
		r := d.resolve(item)
		if d.t.kind(r) != scalarNode || d.t.isNull(r) {
			d.ps.add(ip, "must be a string, got "+d.describe(item))
			l.ok = false
			continue
		}
		l.items = append(l.items, &rawString{pos: ip, s: d.t.value(r), ok: true})
	}
	return l
}
