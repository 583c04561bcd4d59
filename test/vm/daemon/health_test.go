package daemon

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// Check timing of the tests: fall x interval + timeout is the bound the
// contract gives for quiescing a dead real server.
const (
	interval = 300 * time.Millisecond
	timeout  = 200 * time.Millisecond
	fall     = 2
	rise     = 2
)

// config renders the test cluster's file: one DR service on VIP:80 with a
// tcp check; extra is appended to the service (indented four spaces).
func config(reconcile string, rs1, rs2 int, extra ...string) string {
	s := fmt.Sprintf(`director:
  interface: eth0
  reconcile_interval: %s
  metrics: 10.0.0.1:9597
  ipvs_sysctls: {expire_nodest_conn: 1, expire_quiescent_template: 1}
virtual_servers:
  - vip: 10.0.0.100
    port: 80
    scheduler: rr
    mode: dr
    check: {type: tcp, interval: %s, timeout: %s, rise: %d, fall: %d}
    drain_timeout: 2s
`, reconcile, interval, timeout, rise, fall)
	for _, e := range extra {
		s += "    " + e + "\n"
	}
	s += "    real_servers:\n"
	if rs1 >= 0 {
		s += fmt.Sprintf("      - {address: 10.0.0.11, weight: %d}\n", rs1)
	}
	if rs2 >= 0 {
		s += fmt.Sprintf("      - {address: 10.0.0.12, weight: %d}\n", rs2)
	}
	return s
}

// TestQuiesceAndRecover: a real server whose web server stops is quiesced
// within fall x interval + timeout (plus the pass), every request then
// goes to the other; started again it comes back after rise, its weight
// ramped over slow_start; metrics follow.
func TestQuiesceAndRecover(t *testing.T) {
	c := newCluster(t, config("5s", 10, 10, "slow_start: 3s"))
	c.run()
	c.ready()
	c.waitWeights(vip80, 5*time.Second, map[string]int{"10.0.0.11": 10, "10.0.0.12": 10})
	m := c.scrape("10.0.0.1:9597")
	if v, ok := metricLine(m, "lvsrs_real_server_up", `remote_address="10.0.0.11"`); !ok || v != "1" {
		t.Fatalf("lvsrs_real_server_up of 10.0.0.11 = %q (found %v), want 1\n%s", v, ok, m)
	}
	// The daemon collects at Go's default target, under no soft memory
	// limit (one its live heap neared would make it collect back to back).
	if v, ok := metricValue(m, "go_gc_gogc_percent"); !ok || v != 100 {
		t.Errorf("go_gc_gogc_percent = %v (found %v), want 100", v, ok)
	}
	if v, ok := metricValue(m, "go_gc_gomemlimit_bytes"); !ok || v < math.MaxInt64 {
		t.Errorf("go_gc_gomemlimit_bytes = %v (found %v), want no limit (%d)", v, ok, int64(math.MaxInt64))
	}

	c.web["rs1"].stop()
	// The contract's bound plus slack for a pass and a loaded VM, still
	// well under reconcile_interval (5s): the transition did it.
	contract := fall*interval + timeout
	took := c.waitWeights(vip80, contract+2500*time.Millisecond, map[string]int{"10.0.0.11": 0, "10.0.0.12": 10})
	t.Logf("quiesced after %s (fall x interval + timeout = %s)", took, contract)
	if got := c.tally(20); got["rs2"] != 20 {
		t.Fatalf("after quiescing rs1: answers %v, want all 20 from rs2", got)
	}
	m = c.scrape("10.0.0.1:9597")
	if v, _ := metricLine(m, "lvsrs_real_server_up", `remote_address="10.0.0.11"`); v != "0" {
		t.Fatalf("lvsrs_real_server_up of 10.0.0.11 = %q, want 0", v)
	}
	if v, _ := metricLine(m, "lvsrs_real_server_weight", `remote_address="10.0.0.11"`, `kind="effective"`); v != "0" {
		t.Fatalf("effective weight metric of 10.0.0.11 = %q, want 0", v)
	}
	if v, _ := metricLine(m, "lvsrs_real_server_weight", `remote_address="10.0.0.11"`, `kind="configured"`); v != "10" {
		t.Fatalf("configured weight metric of 10.0.0.11 = %q, want 10", v)
	}
	st, err := c.status()
	must(t, err)
	for _, r := range st.RealServers {
		if r.Address.String() == "10.0.0.11" && (r.State != "down" || r.LastResult != "fail" || r.Reason == "") {
			t.Fatalf("status of 10.0.0.11: %+v, want down with a failed last check and its reason", r)
		}
	}

	c.web["rs1"].start()
	// Sample the weight while it ramps: slow_start 3s over weight 10.
	seen := map[int]bool{}
	waitFor(t, 15*time.Second, "10.0.0.11 back at weight 10", func() (bool, string) {
		w := c.weights(vip80)["10.0.0.11"]
		seen[w] = true
		return w == 10, fmt.Sprint(w)
	})
	ramp := 0
	for w := range seen {
		if w > 0 && w < 10 {
			ramp++
		}
	}
	if ramp < 2 {
		t.Fatalf("weights seen while recovering: %v, want at least two steps between 1 and 9 (slow_start)", seen)
	}
	if got := c.tally(20); got["rs1"] == 0 || got["rs2"] == 0 {
		t.Fatalf("after recovery: answers %v, want both", got)
	}
	m = c.scrape("10.0.0.1:9597")
	if v, _ := metricLine(m, "lvsrs_real_server_up", `remote_address="10.0.0.11"`); v != "1" {
		t.Fatalf("lvsrs_real_server_up of 10.0.0.11 = %q after recovery, want 1", v)
	}
	if v, _ := metricLine(m, "lvsrs_health_check_transitions_total", `from="up"`, `to="down"`); v != "1" {
		t.Fatalf("transitions up->down = %q, want 1", v)
	}
	if !strings.Contains(c.d.log.String(), "real server health changed") {
		t.Fatalf("no transition log line:\n%s", c.d.log.String())
	}
}

// patient is config with a check slow to fail (1s interval, 900ms
// timeout), for tests where a check failing under a loaded VM would be
// a false alarm rather than the subject.
func patient(reconcile string, rs1, rs2 int) string {
	return strings.Replace(config(reconcile, rs1, rs2), fmt.Sprintf("interval: %s, timeout: %s", interval, timeout), "interval: 1s, timeout: 900ms", 1)
}
