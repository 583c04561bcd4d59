package health

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Type names a kind of check.
type Type string

// The check types.
const (
	TCP   Type = "tcp"   // a TCP connection is accepted
	HTTP  Type = "http"  // an HTTP GET answers with an expected status (and body)
	HTTPS Type = "https" // the same over TLS
	DNS   Type = "dns"   // a DNS question is answered (UDP)
	Exec  Type = "exec"  // a local command exits 0 (or 2..255 with a weight)
	Agent Type = "agent" // HAProxy's agent-check protocol: one line of words
)

// Via says which path a check takes to the real server.
type Via string

// The paths.
const (
	// Direct dials the real server's own address.
	Direct Via = "direct"
	// ThroughVIP dials the VIP with the socket's firewall mark set to the
	// target's Mark and its source bound to the target's Source, so the
	// packet takes the director's forwarding path as a client's would.
	ThroughVIP Via = "vip"
)

// Defaults applied to zero fields of a Spec.
const (
	DefaultInterval     = 2 * time.Second
	DefaultTimeout      = time.Second
	DefaultRise         = 2
	DefaultFall         = 3
	DefaultPath         = "/"
	DefaultExpectStatus = "200-399"
	DefaultQueryType    = "A"
	// DefaultDNSPort is the port of a dns check when neither the Spec nor
	// the Target names one.
	DefaultDNSPort = 53
)

// Spec is how one real server is checked. Zero fields take the defaults
// above; Port 0 means the target's port.
type Spec struct {
	Type         Type          `json:"type"`
	Port         uint16        `json:"port,omitempty"`
	Via          Via           `json:"via,omitempty"`
	Interval     time.Duration `json:"interval,omitempty"`
	Timeout      time.Duration `json:"timeout,omitempty"`
	Rise         int           `json:"rise,omitempty"`
	Fall         int           `json:"fall,omitempty"`
	Path         string        `json:"path,omitempty"`          // http, https
	Host         string        `json:"host,omitempty"`          // http, https: Host header and TLS SNI
	ExpectStatus string        `json:"expect_status,omitempty"` // http, https: "200-399", "200,301-302"
	ExpectBody   string        `json:"expect_body,omitempty"`   // http, https: substring of the body
	Query        string        `json:"query,omitempty"`         // dns: the name asked
	QueryType    string        `json:"query_type,omitempty"`    // dns: "A" (default) or "AAAA"
	// Command is the exec check's argv; "{address}" and "{port}" in any
	// argument are replaced by the real server's address and check port.
	Command []string `json:"command,omitempty"`
}

// Target is one real server to check, as one subscriber sees it.
type Target struct {
	// ID names the target for the caller (for example service and real
	// server); unique within one Set.
	ID      string     `json:"id"`
	Address netip.Addr `json:"address"` // the real server
	Port    uint16     `json:"port"`    // the real server's port
	Spec    Spec       `json:"spec"`
	// VIP, Mark and Source are used when Spec.Via is "vip": the check
	// dials VIP:port from Source with SO_MARK=Mark.
	VIP    netip.Addr `json:"vip,omitzero"`
	Mark   uint32     `json:"mark,omitempty"`
	Source netip.Addr `json:"source,omitzero"`
}

// statusRange is one inclusive range of HTTP status codes.
type statusRange struct{ lo, hi int }

// normalized fills the defaults of t's spec and resolves its port.
func (t Target) normalized() Target {
	s := &t.Spec
	if s.Via == "" {
		s.Via = Direct
	}
	if s.Interval == 0 {
		s.Interval = DefaultInterval
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	if s.Rise == 0 {
		s.Rise = DefaultRise
	}
	if s.Fall == 0 {
		s.Fall = DefaultFall
	}
	if s.Type == HTTP || s.Type == HTTPS {
		if s.Path == "" {
			s.Path = DefaultPath
		}
		if s.ExpectStatus == "" {
			s.ExpectStatus = DefaultExpectStatus
		}
	}
	if s.Type == DNS && s.QueryType == "" {
		s.QueryType = DefaultQueryType
	}
	if s.Port == 0 {
		s.Port = t.Port
	}
	if s.Port == 0 && s.Type == DNS {
		s.Port = DefaultDNSPort
	}
	if s.Via == Direct {
		t.VIP, t.Mark, t.Source = netip.Addr{}, 0, netip.Addr{}
	}
	return t
}

// validate reports the first problem of a normalized target.
func (t Target) validate() error {
	s := t.Spec
	bad := func(field, format string, a ...any) error {
		return fmt.Errorf("target %q: %s: %s", t.ID, field, fmt.Sprintf(format, a...))
	}
	if t.ID == "" {
		return bad("id", "empty")
	}
	if !t.Address.IsValid() {
		return bad("address", "missing")
	}
	switch s.Type {
	case TCP, HTTP, HTTPS, DNS, Exec, Agent:
	default:
		return bad("type", "%q is not one of tcp, http, https, dns, exec, agent", s.Type)
	}
	if s.Port == 0 && s.Type != Exec {
		return bad("port", "missing (neither the check nor the real server names one)")
	}
	if s.Interval < 0 || s.Timeout < 0 || s.Rise < 0 || s.Fall < 0 {
		return bad("interval/timeout/rise/fall", "negative")
	}
	if err := t.validateVia(); err != nil {
		return bad("via", "%v", err)
	}
	if _, err := parseStatusRanges(s.ExpectStatus); err != nil {
		return bad("expect_status", "%v", err)
	}
	switch {
	case (s.Type == HTTP || s.Type == HTTPS) && (!strings.HasPrefix(s.Path, "/") || !plainToken(s.Path)):
		return bad("path", "%q must start with / and hold no spaces or control characters", s.Path)
	case !plainToken(s.Host):
		return bad("host", "%q holds spaces or control characters", s.Host)
	case s.Type == DNS && s.Query == "":
		return bad("query", "missing for a dns check")
	case s.Type == DNS && s.QueryType != "A" && s.QueryType != "AAAA":
		return bad("query_type", "%q is not A or AAAA", s.QueryType)
	case s.Type == Exec && len(s.Command) == 0:
		return bad("command", "missing for an exec check")
	}
	return nil
}

// validateVia checks the forwarding-path fields.
func (t Target) validateVia() error {
	switch t.Spec.Via {
	case Direct:
		return nil
	case ThroughVIP:
	default:
		return fmt.Errorf("%q is not direct or vip", t.Spec.Via)
	}
	switch {
	case t.Spec.Type == Exec:
		return fmt.Errorf("an exec check cannot go through the VIP")
	case !t.VIP.IsValid() || !t.Source.IsValid():
		return fmt.Errorf("needs the VIP and the director's source address")
	case t.VIP.Is4() != t.Source.Is4():
		return fmt.Errorf("VIP %s and source %s are of different families", t.VIP, t.Source)
	case t.Mark == 0:
		return fmt.Errorf("needs a firewall mark")
	}
	return nil
}

// key is the identity of the check a normalized target needs: targets with
// equal keys share one check.
func (t Target) key() string {
	k := t
	k.ID = ""
	k.Port = 0 // the check port is in Spec.Port
	b, err := json.Marshal(k)
	if err != nil {
		panic(fmt.Sprintf("health: marshal key: %v", err)) // plain data, cannot fail
	}
	return string(b)
}

// probeKey is what a check of a normalized target probes: its key without
// the fields that say how often and how many (Interval, Timeout, Rise,
// Fall), nor the director's own source address (Source). Two checks with
// equal probe keys ask the same question of the same server (type,
// address, check port, path, host, expected status and body, query,
// command, via, VIP, mark), so a result of one is evidence for the
// other: a reload that edits only the schedule fields, or the director's
// address changing under a check through the VIP, carries the check's
// state over (see Checker.Set). Timeout counts as schedule: it bounds
// how long a run may take, and a server slower than a tightened timeout
// fails fall runs in a row like any other failure. Source is the
// director's side of the question: a renumbered director asks the same
// real server the same thing through the same VIP, and a real server
// that cannot answer the new address fails fall runs in a row. The
// fields are zeroed rather than the probed ones listed, so a field
// added to Spec later is part of what is probed (a fresh start: the safe
// side) until it is deliberately added here.
func (t Target) probeKey() string {
	k := t
	k.Spec.Interval, k.Spec.Timeout, k.Spec.Rise, k.Spec.Fall = 0, 0, 0, 0
	k.Source = netip.Addr{}
	return k.key()
}

// parseStatusRanges parses "200-399" or "200,301-302"; empty means none.
func parseStatusRanges(s string) ([]statusRange, error) {
	if s == "" {
		return nil, nil
	}
	var out []statusRange
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = lo
		}
		l, err1 := strconv.Atoi(strings.TrimSpace(lo))
		h, err2 := strconv.Atoi(strings.TrimSpace(hi))
		if err1 != nil || err2 != nil || l < 100 || h > 599 || l > h {
			return nil, fmt.Errorf("%q is not a status or a range like 200-399", part)
		}
		out = append(out, statusRange{l, h})
	}
	return out, nil
}

// statusIn reports whether code is in one of the ranges.
func statusIn(code int, ranges []statusRange) bool {
	for _, r := range ranges {
		if code >= r.lo && code <= r.hi {
			return true
		}
	}
	return false
}

// plainToken reports whether s holds no spaces or control characters, so
// it can go into a request line or header as is.
func plainToken(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f })
}
