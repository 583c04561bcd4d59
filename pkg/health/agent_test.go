package health

import (
	"net"
	"strings"
	"testing"
	"time"
)

func TestParseAgent(t *testing.T) {
	cases := []struct {
		line   string
		up     bool
		weight Weight
		reason string
	}{
		{"up\n", true, Weight{}, `agent: "up"`},
		{"ready", true, Weight{}, `agent: "ready"`},
		{"down", false, Weight{}, `agent: "down"`},
		{"down#disk full", false, Weight{}, "agent: down (disk full)"},
		{"maint", false, Weight{}, `agent: "maint"`},
		{"stopped", false, Weight{}, `agent: "stopped"`},
		{"drain", true, Weight{WeightPercent, 0}, `agent: "drain"`},
		{"75%", true, Weight{WeightPercent, 75}, `agent: "75%"`},
		{"up 50%", true, Weight{WeightPercent, 50}, `agent: "up 50%"`},
		{"UP,weight:7", true, Weight{WeightAbsolute, 7}, `agent: "UP,weight:7"`},
		{"up, 30%\tdrain", true, Weight{WeightPercent, 0}, "drain"},
		{"drain,down", false, Weight{}, `agent: "drain,down"`},
		{"up down", false, Weight{}, `agent: "up down"`},
		{"hello", false, Weight{}, `agent: no state or weight in "hello"`},
		{"", false, Weight{}, "agent: no state or weight"},
		{"150%x", false, Weight{}, "no state or weight"},
	}
	for _, c := range cases {
		r := parseAgent(c.line)
		if r.Up != c.up || r.Weight != c.weight || !strings.Contains(r.Reason, c.reason) {
			t.Errorf("parseAgent(%q) = %+v, want up=%v weight=%+v reason ~ %q", c.line, r, c.up, c.weight, c.reason)
		}
	}
}

// TestParseAgentWeightRange: "weight:N" is a weight a real server may
// have (0..65535); a number outside that range, which IPVS would refuse
// or wrap, makes the whole answer invalid: the check fails and says why.
func TestParseAgentWeightRange(t *testing.T) {
	cases := []struct {
		line   string
		up     bool
		weight Weight
		reason string
	}{
		{"weight:0", true, Weight{WeightAbsolute, 0}, `agent: "weight:0"`},
		{"weight:65535", true, Weight{WeightAbsolute, 65535}, `agent: "weight:65535"`},
		{"weight:65536", false, Weight{}, `agent: weight out of range 0..65535 in "weight:65536"`},
		{"up weight:3000000000", false, Weight{}, "out of range"},
		{"weight:4294967297", false, Weight{}, "out of range"},
		{"up weight:99999999999999999999999", false, Weight{}, "out of range"},
		{"up weight:-1", false, Weight{}, "out of range"},
		{"down weight:70000", false, Weight{}, `agent: "down weight:70000"`}, // down wins
		{"up weight:x", true, Weight{}, `agent: "up weight:x"`},              // not a number: an unknown word
	}
	for _, c := range cases {
		r := parseAgent(c.line)
		if r.Up != c.up || r.Weight != c.weight || !strings.Contains(r.Reason, c.reason) {
			t.Errorf("parseAgent(%q) = %+v, want up=%v weight=%+v reason ~ %q", c.line, r, c.up, c.weight, c.reason)
		}
	}
}

func TestAgentOverTCP(t *testing.T) {
	for _, c := range []struct {
		answer string
		up     bool
		reason string
	}{
		{"up 75%\n", true, `agent: "up 75%"`},
		{"down#maintenance window\n", false, "agent: down (maintenance window)"},
		{"drain", true, `agent: "drain"`}, // no newline, then close
	} {
		ln := listenCounting(t, func(conn net.Conn) { conn.Write([]byte(c.answer)) })
		r := runProbe(target(t, Agent, ln.Addr().String(), nil))
		wantResult(t, r, c.up, c.reason)
	}
}

func TestAgentSilentTimesOut(t *testing.T) {
	ln := listenCounting(t, func(c net.Conn) { time.Sleep(time.Second) })
	r := runProbe(target(t, Agent, ln.Addr().String(), func(s *Spec) { s.Timeout = 200 * time.Millisecond }))
	wantResult(t, r, false, "read agent line: timeout after 200ms")
}

func TestAgentRefused(t *testing.T) {
	wantResult(t, runProbe(target(t, Agent, closedPort(t), nil)), false, "connect: connection refused")
}
