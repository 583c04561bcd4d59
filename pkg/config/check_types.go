package config

import (
	"slices"
	"time"
)

// Defaults of a health check.
const (
	DefaultCheckInterval = 2 * time.Second
	DefaultCheckTimeout  = 1 * time.Second
	DefaultCheckRise     = 2
	DefaultCheckFall     = 3
	DefaultCheckPath     = "/" // http, https
)

// DefaultExpectStatus is an http or https check's ExpectStatus when
// absent: 200-399.
func DefaultExpectStatus() []StatusRange { return []StatusRange{{200, 399}} }

// CheckType is how a real server's health is checked.
type CheckType string

// The check types.
const (
	CheckTCP   CheckType = "tcp"   // a TCP connection is accepted
	CheckHTTP  CheckType = "http"  // an HTTP GET answers with an expected status (and body)
	CheckHTTPS CheckType = "https" // the same over TLS
	CheckDNS   CheckType = "dns"   // an A/AAAA question for Query is answered
	CheckExec  CheckType = "exec"  // Command exits 0 (up), or 2..255 (up with weight code-2)
	CheckAgent CheckType = "agent" // HAProxy's agent-check protocol on Port
)

// checkTypes lists the check types in documentation order.
func checkTypes() []CheckType {
	return []CheckType{CheckTCP, CheckHTTP, CheckHTTPS, CheckDNS, CheckExec, CheckAgent}
}

// CheckVia is where a check is sent.
type CheckVia string

// The check paths.
const (
	// ViaDirect sends the check to the real server's own address. The default.
	ViaDirect CheckVia = "direct"
	// ViaVIP sends it to the VIP through the forwarding path to that real
	// server, as a client reaches it.
	ViaVIP CheckVia = "vip"
)

// StatusRange is an inclusive range of HTTP status codes, 100..599.
type StatusRange struct {
	Lo int `json:"lo"`
	Hi int `json:"hi"`
}

// Check is a resolved health check: every default filled in, and only
// the fields of its Type set (the others are zero).
type Check struct {
	Type CheckType `json:"type"`
	// Port is where the check connects (for exec, what {port} stands
	// for); in VirtualServer.Check 0 means each real server's own port,
	// in the result of CheckFor it is resolved (0 only for an exec check
	// of a fwmark service's real server whose command has no {port}).
	Port     uint16        `json:"port,omitempty"`
	Via      CheckVia      `json:"via"`      // ViaDirect when absent
	Interval time.Duration `json:"interval"` // DefaultCheckInterval when absent; 100ms..1h
	Timeout  time.Duration `json:"timeout"`  // DefaultCheckTimeout when absent; less than Interval
	Rise     int           `json:"rise"`     // consecutive successes to count as up, 1..100
	Fall     int           `json:"fall"`     // consecutive failures to count as down, 1..100

	// http, https.
	Path         string        `json:"path,omitempty"`          // DefaultCheckPath when absent; starts with '/'
	Host         string        `json:"host,omitempty"`          // Host header and SNI; "" means the real server's address
	ExpectStatus []StatusRange `json:"expect_status,omitempty"` // DefaultExpectStatus when absent
	ExpectBody   string        `json:"expect_body,omitempty"`   // a substring the body must hold; "" means any body

	// dns: the name asked for (A for an IPv4 real server, AAAA for IPv6).
	Query string `json:"query,omitempty"`

	// exec: the argv to run, Command[0] an absolute path; "{address}" and
	// "{port}" inside an argument stand for the real server's address and
	// the check's port.
	Command []string `json:"command,omitempty"`
}

// CheckOverride is a real server's check block as written: a nil field
// keeps the service's value.
type CheckOverride struct {
	Type         *CheckType     `json:"type,omitempty"`
	Port         *uint16        `json:"port,omitempty"`
	Via          *CheckVia      `json:"via,omitempty"`
	Interval     *time.Duration `json:"interval,omitempty"`
	Timeout      *time.Duration `json:"timeout,omitempty"`
	Rise         *int           `json:"rise,omitempty"`
	Fall         *int           `json:"fall,omitempty"`
	Path         *string        `json:"path,omitempty"`
	Host         *string        `json:"host,omitempty"`
	ExpectStatus []StatusRange  `json:"expect_status,omitempty"` // nil keeps the service's
	ExpectBody   *string        `json:"expect_body,omitempty"`
	Query        *string        `json:"query,omitempty"`
	Command      []string       `json:"command,omitempty"` // nil keeps the service's
}

// CheckFor returns the check of real server rs of v: the service's check
// with rs's override applied field by field, every default filled in and
// Port resolved (the real server's port when the check names none). A
// Type in the override that differs from the service's keeps the
// service's port, via, interval, timeout, rise and fall, but none of its
// type-specific fields (path, host, expect_status, expect_body, query,
// command). nil means the real server is not checked. Configs from Load
// and Parse are validated through this same merge.
func (v VirtualServer) CheckFor(rs RealServer) *Check {
	c := mergeCheck(v.Check, rs.Check)
	if c == nil {
		return nil
	}
	if c.Port == 0 {
		c.Port = rs.Port
	}
	return c
}

// mergeCheck applies o to a copy of base and fills the defaults; nil when
// both are nil, or when there is no type.
func mergeCheck(base *Check, o *CheckOverride) *Check {
	if base == nil && o == nil {
		return nil
	}
	var c Check
	if base != nil {
		c = base.clone()
	}
	if o != nil {
		if o.Type != nil && *o.Type != c.Type {
			c = Check{Type: *o.Type, Port: c.Port, Via: c.Via, Interval: c.Interval, Timeout: c.Timeout, Rise: c.Rise, Fall: c.Fall}
		}
		o.applyTo(&c)
	}
	if c.Type == "" {
		return nil
	}
	c.fillDefaults()
	return &c
}

// applyTo sets every field o holds in c.
func (o *CheckOverride) applyTo(c *Check) {
	set(&c.Port, o.Port)
	set(&c.Via, o.Via)
	set(&c.Interval, o.Interval)
	set(&c.Timeout, o.Timeout)
	set(&c.Rise, o.Rise)
	set(&c.Fall, o.Fall)
	set(&c.Path, o.Path)
	set(&c.Host, o.Host)
	set(&c.ExpectBody, o.ExpectBody)
	set(&c.Query, o.Query)
	if o.ExpectStatus != nil {
		c.ExpectStatus = slices.Clone(o.ExpectStatus)
	}
	if o.Command != nil {
		c.Command = slices.Clone(o.Command)
	}
}

// set copies *p into *dst when p is not nil.
func set[T any](dst *T, p *T) {
	if p != nil {
		*dst = *p
	}
}

// fillDefaults sets every absent field that has a default.
func (c *Check) fillDefaults() {
	if c.Via == "" {
		c.Via = ViaDirect
	}
	if c.Interval == 0 {
		c.Interval = DefaultCheckInterval
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultCheckTimeout
	}
	if c.Rise == 0 {
		c.Rise = DefaultCheckRise
	}
	if c.Fall == 0 {
		c.Fall = DefaultCheckFall
	}
	if c.Type == CheckHTTP || c.Type == CheckHTTPS {
		if c.Path == "" {
			c.Path = DefaultCheckPath
		}
		if c.ExpectStatus == nil {
			c.ExpectStatus = DefaultExpectStatus()
		}
	}
}

// clone returns a deep copy of c.
func (c Check) clone() Check {
	c.ExpectStatus = slices.Clone(c.ExpectStatus)
	c.Command = slices.Clone(c.Command)
	return c
}
