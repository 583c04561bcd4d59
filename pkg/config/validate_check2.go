package config

import (
	"fmt"
	"strings"
)

// locator finds where a field of an effective check was written: in the
// real server's block, else in the service's, else (not written) at the
// block being validated.
type locator struct {
	block pos
	own   map[string]pos // the block being validated
	base  map[string]pos // the service's block, for a real server's
}

// at returns the position of field name.
func (l locator) at(name string) pos {
	if p, ok := l.own[name]; ok {
		return p
	}
	if p, ok := l.base[name]; ok {
		return p
	}
	return l.block.child(name)
}

// written reports whether field name was written in either block.
func (l locator) written(name string) bool {
	_, a := l.own[name]
	_, b := l.base[name]
	return a || b
}

// checkRules validates what depends on several fields of an effective
// check: fields that belong to another type, fields a type needs, and
// timeout against interval.
func (v *validator) checkRules(c *Check, l locator) {
	web := c.Type == CheckHTTP || c.Type == CheckHTTPS
	for _, f := range []struct {
		name  string
		set   bool
		ok    bool
		types string
	}{
		{"path", c.Path != "", web, "http and https"},
		{"host", c.Host != "", web, "http and https"},
		{"expect_status", c.ExpectStatus != nil, web, "http and https"},
		{"expect_body", c.ExpectBody != "", web, "http and https"},
		{"query", c.Query != "", c.Type == CheckDNS, "dns"},
		{"command", c.Command != nil, c.Type == CheckExec, "exec"},
	} {
		if f.set && !f.ok {
			v.ps.add(l.at(f.name), fmt.Sprintf("only for %s checks; this check is %s", f.types, c.Type))
		}
	}
	switch c.Type {
	case CheckDNS:
		if c.Query == "" {
			v.ps.add(l.at("query"), "missing (a dns check needs the name to ask for)")
		}
	case CheckExec:
		if c.Command == nil {
			v.ps.add(l.at("command"), "missing (an exec check needs the program to run)")
		}
	case CheckAgent:
		if !l.written("port") {
			v.ps.add(l.at("port"), "missing (an agent check needs the port its agent listens on)")
		}
	}
	if c.Via == ViaVIP && (c.Type == CheckExec || c.Type == CheckAgent) {
		v.ps.add(l.at("via"), fmt.Sprintf("vip is only for tcp, http, https and dns checks; this check is %s", c.Type))
	}
	if c.Timeout >= c.Interval {
		note := ""
		if !l.written("timeout") {
			note = " (the default timeout); set a longer interval or a shorter timeout"
		}
		v.ps.add(l.at(l.culprit()), fmt.Sprintf("timeout %s must be less than interval %s%s", fmtDuration(c.Timeout), fmtDuration(c.Interval), note))
	}
}

// culprit names the field to blame when timeout is not less than
// interval: the one written in the innermost block, timeout first.
func (l locator) culprit() string {
	for _, m := range []map[string]pos{l.own, l.base} {
		for _, name := range []string{"timeout", "interval"} {
			if _, ok := m[name]; ok {
				return name
			}
		}
	}
	return "interval"
}

// serviceCheck validates a service's check block and returns its check
// (nil for none) and what its real servers' checks need.
func (v *validator) serviceCheck(raw *rawCheck) (*Check, checkFacts) {
	if raw == nil {
		return nil, checkFacts{ok: true}
	}
	o, where, ok := v.checkBlock(raw)
	facts := checkFacts{at: raw.at, where: where}
	if o.Type == nil {
		if _, bad := where["type"]; !bad {
			v.ps.add(raw.at.child("type"), "missing (one of "+strings.Join(typeNames(), ", ")+")")
		}
		return nil, facts
	}
	c := mergeCheck(nil, o)
	if ok {
		// Rules across fields only once each field is right on its own.
		v.checkRules(c, locator{block: raw.at, own: where})
	}
	facts.ok = ok
	return c, facts
}

// realServerCheck validates a real server's check block against the
// service's check, and the effective check of the real server. modeKnown
// tells whether rs.Mode is right, mode is where the real server set it
// (nil when it has the service's).
func (v *validator) realServerCheck(raw *rawCheck, vs *VirtualServer, rs RealServer, known *serviceFacts, portKnown, modeKnown bool, mode *rawString) *CheckOverride {
	facts := known.check
	var o *CheckOverride
	l := locator{block: facts.at, own: facts.where}
	ok := facts.ok
	if raw != nil {
		var where map[string]pos
		var good bool
		o, where, good = v.checkBlock(raw)
		ok = ok && good
		l = locator{block: raw.at, own: where, base: facts.where}
		if vs.Check == nil && o.Type == nil {
			if _, bad := where["type"]; !bad && facts.ok {
				v.ps.add(raw.at.child("type"), "missing (the service has no check to override; one of "+strings.Join(typeNames(), ", ")+")")
			}
			return o
		}
	}
	if !ok || (raw == nil && vs.Check == nil) {
		return o
	}
	rs.Check = o
	c := vs.CheckFor(rs)
	if raw != nil {
		v.checkRules(c, l)
	}
	if portKnown && c.Port == 0 && (c.Type != CheckExec || strings.Contains(strings.Join(c.Command, " "), "{port}")) {
		if vs.FWMark != 0 {
			v.once(known, l.at("port"), "missing (a real server of a fwmark service has no port of its own to check)")
		} else {
			v.once(known, l.at("port"), "missing (the service is on every port, port 0, so a real server has no port of its own to check)")
		}
	}
	// exec and agent checks with vip are refused by checkRules already.
	if modeKnown && rs.Mode == ModeNAT && c.Via == ViaVIP && c.Type != CheckExec && c.Type != CheckAgent {
		v.once(known, l.at("via"), "vip is for dr and tun real servers (a nat real server's check already goes through the director); "+natWhy(rs, mode))
	}
	return o
}

// once reports problem at p unless a real server of the service reported
// it already: thousands of real servers inheriting a field of the
// service's check would otherwise fill the list of problems with one.
func (v *validator) once(known *serviceFacts, p pos, problem string) {
	k := saidKey{p, problem}
	if known.said[k] {
		return
	}
	if known.said == nil {
		known.said = map[saidKey]bool{}
	}
	known.said[k] = true
	v.ps.add(p, problem)
}

// natWhy says why real server rs is nat: its own mode, written at mode,
// or the service's (mode nil). The service's gives one message for all
// its real servers, reported once.
func natWhy(rs RealServer, mode *rawString) string {
	if mode == nil {
		return "the service's mode is nat"
	}
	who := "the real server"
	if rs.Address.IsValid() {
		who = "real server " + rs.Address.String()
	}
	return who + " is nat" + atLine(mode.pos)
}

// typeNames lists the check types for messages.
func typeNames() []string {
	var out []string
	for _, t := range checkTypes() {
		out = append(out, string(t))
	}
	return out
}
