package config

import (
	"fmt"
	"strings"
	"time"
)

// duration checks a duration field: Go's syntax (2s, 500ms, 1h30m), within
// lo..hi, and a whole number of seconds when whole is set.
func (v *validator) duration(s *rawString, lo, hi time.Duration, whole bool) (time.Duration, bool) {
	if s == nil || !s.ok {
		return 0, false
	}
	d, err := time.ParseDuration(s.s)
	if err != nil {
		hint := "write a number with a unit, such as 2s, 500ms or 5m"
		if isDigits(s.s) {
			hint = "a number needs a unit, such as " + s.s + "s"
		}
		v.ps.add(s.pos, fmt.Sprintf("%s is not a duration; %s", quote(s.s), hint))
		return 0, false
	}
	if d < lo || d > hi {
		v.ps.add(s.pos, fmt.Sprintf("%s is outside %s..%s", clip(s.s), fmtDuration(lo), fmtDuration(hi)))
		return 0, false
	}
	if whole && d%time.Second != 0 {
		v.ps.add(s.pos, fmt.Sprintf("%s is not a whole number of seconds (the kernel counts in seconds)", clip(s.s)))
		return 0, false
	}
	return d, true
}

// fmtDuration renders d without trailing zero units: 1h, 5m, 100ms.
func fmtDuration(d time.Duration) string {
	s := d.String()
	for _, z := range []string{"m0s", "h0m"} {
		s = strings.Replace(s, z, z[:1], 1)
	}
	return s
}

// isDigits reports whether s is a non-empty run of ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// oneOf checks that s is one of allowed; what names the kind of value in
// the message ("check type").
func oneOf[T ~string](v *validator, s *rawString, allowed []T, what string) (T, bool) {
	if s == nil || !s.ok {
		return "", false
	}
	for _, a := range allowed {
		if string(a) == s.s {
			return a, true
		}
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	v.ps.add(s.pos, fmt.Sprintf("unknown %s %s; valid %ss are %s", what, quote(s.s), what, strings.Join(names, ", ")))
	return "", false
}

// plainText checks a free-text field that must be non-empty, at most max
// bytes, and without spaces when noSpace is set.
func (v *validator) plainText(s *rawString, max int, noSpace bool) (string, bool) {
	if s == nil || !s.ok {
		return "", false
	}
	switch {
	case s.s == "":
		v.ps.add(s.pos, "must not be empty")
	case len(s.s) > max:
		v.ps.add(s.pos, fmt.Sprintf("%s is longer than %d bytes", quote(s.s), max))
	case noSpace && strings.ContainsAny(s.s, " \t\r\n"):
		v.ps.add(s.pos, fmt.Sprintf("%s contains whitespace", quote(s.s)))
	default:
		return strings.Clone(s.s), true // not a slice of the file
	}
	return "", false
}
