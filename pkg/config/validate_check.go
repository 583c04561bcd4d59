package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Bounds of a check.
const (
	minCheckInterval = 100 * time.Millisecond
	maxCheckInterval = time.Hour
	minCheckTimeout  = 10 * time.Millisecond
	maxCheckCount    = 100 // rise, fall
	maxNameLen       = 253 // host, query: a DNS name
	maxCheckText     = 1024
)

// checkFacts is what the checks of a service's real servers need to know
// about the service's own check.
type checkFacts struct {
	ok    bool           // the service's check (or its absence) is valid
	at    pos            // the service's check block
	where map[string]pos // the fields written in it
}

// checkBlock validates the fields of one check block on their own and
// returns them as an override, with the position of every field written.
// ok is false when a field is wrong (already reported).
func (v *validator) checkBlock(c *rawCheck) (o *CheckOverride, where map[string]pos, ok bool) {
	o, where, ok = &CheckOverride{}, map[string]pos{}, true
	note := func(name string, p pos, good bool) {
		where[name] = p
		ok = ok && good
	}
	if c.typ != nil {
		t, good := oneOf(v, c.typ, checkTypes(), "check type")
		o.Type = ptrIf(t, good)
		note("type", c.typ.pos, good)
	}
	if c.port != nil {
		n, good := v.intRange(c.port, 1, math.MaxUint16, "")
		o.Port = ptrIf(uint16(n), good)
		note("port", c.port.pos, good)
	}
	if c.via != nil {
		via, good := oneOf(v, c.via, []CheckVia{ViaDirect, ViaVIP}, "check path")
		o.Via = ptrIf(via, good)
		note("via", c.via.pos, good)
	}
	if c.interval != nil {
		d, good := v.duration(c.interval, minCheckInterval, maxCheckInterval, false)
		o.Interval = ptrIf(d, good)
		note("interval", c.interval.pos, good)
	}
	if c.timeout != nil {
		d, good := v.duration(c.timeout, minCheckTimeout, maxCheckInterval, false)
		o.Timeout = ptrIf(d, good)
		note("timeout", c.timeout.pos, good)
	}
	for _, f := range []struct {
		name string
		raw  *rawInt
		dst  **int
	}{{"rise", c.rise, &o.Rise}, {"fall", c.fall, &o.Fall}} {
		if f.raw != nil {
			n, good := v.intRange(f.raw, 1, maxCheckCount, "")
			*f.dst = ptrIf(int(n), good)
			note(f.name, f.raw.pos, good)
		}
	}
	v.checkTexts(c, o, note)
	if c.expectStatus != nil {
		r, good := v.statusRanges(c.expectStatus)
		o.ExpectStatus = r
		note("expect_status", c.expectStatus.pos, good)
	}
	if c.command != nil {
		cmd, good := v.command(c.command)
		o.Command = cmd
		note("command", c.command.pos, good)
	}
	return o, where, ok
}

// checkTexts validates the free-text fields of a check block.
func (v *validator) checkTexts(c *rawCheck, o *CheckOverride, note func(string, pos, bool)) {
	for _, f := range []struct {
		name    string
		raw     *rawString
		dst     **string
		max     int
		noSpace bool
	}{
		{"path", c.path, &o.Path, maxCheckText, true},
		{"host", c.host, &o.Host, maxNameLen, true},
		{"expect_body", c.expectBody, &o.ExpectBody, maxCheckText, false},
		{"query", c.query, &o.Query, maxNameLen, true},
	} {
		if f.raw == nil {
			continue
		}
		s, good := v.plainText(f.raw, f.max, f.noSpace)
		if good && f.name == "path" && !strings.HasPrefix(s, "/") {
			v.ps.add(f.raw.pos, fmt.Sprintf("%s must start with '/'", quote(s)))
			good = false
		}
		*f.dst = ptrIf(s, good)
		note(f.name, f.raw.pos, good)
	}
}

// statusRanges parses expect_status: codes and ranges of codes separated
// by commas, such as "200-399" or "200,204,301-302".
func (v *validator) statusRanges(s *rawString) ([]StatusRange, bool) {
	if !s.ok {
		return nil, false
	}
	var out []StatusRange
	for _, part := range strings.Split(s.s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, errA := strconv.Atoi(strings.TrimSpace(lo))
		b, errB := a, error(nil)
		if isRange {
			b, errB = strconv.Atoi(strings.TrimSpace(hi))
		}
		switch {
		case errA != nil || errB != nil:
			v.ps.add(s.pos, fmt.Sprintf("%s is not a list of status codes and ranges such as \"200-399\" or \"200,204\"", quote(s.s)))
		case a < 100 || b > 599:
			v.ps.add(s.pos, fmt.Sprintf("%s: status codes are 100..599", quote(part)))
		case a > b:
			v.ps.add(s.pos, fmt.Sprintf("%s: the range is empty (write LOW-HIGH)", quote(part)))
		default:
			out = append(out, StatusRange{Lo: a, Hi: b})
			continue
		}
		return nil, false
	}
	return out, true
}

// command checks an exec check's argv: at least the program, an absolute
// path, and only the {address} and {port} placeholders.
func (v *validator) command(l *rawList) ([]string, bool) {
	if !l.ok {
		return nil, false
	}
	if len(l.items) == 0 {
		v.ps.add(l.pos, "must name at least the program to run")
		return nil, false
	}
	ok := true
	out := make([]string, 0, len(l.items))
	for i, it := range l.items {
		if i == 0 && !strings.HasPrefix(it.s, "/") {
			v.ps.add(it.pos, fmt.Sprintf("%s: the program must be an absolute path (no $PATH lookup)", quote(it.s)))
			ok = false
		}
		if p := badPlaceholder(it.s); p != "" {
			v.ps.add(it.pos, fmt.Sprintf("unknown placeholder %s; the placeholders are {address} and {port}", quote(p)))
			ok = false
		}
		out = append(out, strings.Clone(it.s)) // not a slice of the file
	}
	return out, ok
}

// badPlaceholder returns the first {...} in s that is not {address} or
// {port}, or "".
func badPlaceholder(s string) string {
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			return ""
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return s[i:]
		}
		if p := s[i : i+j+1]; p != "{address}" && p != "{port}" {
			return p
		}
		s = s[i+j+1:]
	}
}

// ptrIf returns &x when ok, else nil.
func ptrIf[T any](x T, ok bool) *T {
	if !ok {
		return nil
	}
	return &x
}
