package daemon

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/nlretry"
	"github.com/lvs-rs/lvs-rs/pkg/control"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// rowOf is status's row of addr in svc ("tcp:10.0.0.100:80").
func rowOf(st control.Status, svc, addr string) (control.RealServer, bool) {
	for _, r := range st.RealServers {
		if r.Service.String() == svc && r.Address.String() == addr {
			return r, true
		}
	}
	return control.RealServer{}, false
}

// settled waits until the daemon has made a pass after every checked
// real server's first result, whether that pass failed or not, and
// returns its status.
func (c *cluster) settled() control.Status {
	c.t.Helper()
	var st control.Status
	waitFor(c.t, 30*time.Second, "a pass after every first check", func() (bool, string) {
		var err error
		st, err = c.status()
		if err != nil {
			return false, err.Error()
		}
		if st.Reconcile.Last.IsZero() {
			return false, "no pass yet"
		}
		for _, r := range st.RealServers {
			if r.Reason == "first check not done yet" {
				return false, r.Address.String() + " pending"
			}
		}
		return true, ""
	})
	return st
}

// TestRunLeavesForeignService: run started with a file naming a service
// another tool created (here tcp VIP:8080, with its own real server)
// stays up and ready, leaves that service exactly as it is, says so in
// status (a warning, not an error) and in its log (once, not at every
// pass), and converges the rest: a real server of VIP:80 whose web server
// stops is quiesced in the kernel within the check's bound. Before, run
// exited 1 at its first pass over the conflict (and, after a reload
// naming such a service, every pass failed before any change: no health
// transition reached the kernel).
func TestRunLeavesForeignService(t *testing.T) {
	foreign := ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: vip80.Address, Port: 8080, Scheduler: "wlc", Netmask: 32}
	c := newCluster(t, config("1s", 10, 10)+`  - vip: 10.0.0.100
    port: 8080
    scheduler: rr
    mode: dr
    real_servers:
      - {address: 10.0.0.12, weight: 1}
`)
	must(t, c.ipvs.NewService(bg(), foreign))
	must(t, c.ipvs.NewDestination(bg(), foreign, ipvs.Destination{Address: netip.MustParseAddr("10.0.0.11"), Port: 8080, Forward: ipvs.Route, Weight: 7}))
	c.run()
	st := c.ready() // no pass error
	const warning = "tcp 10.0.0.100:8080: exists and was not created by lvs-rs"
	if !slices.ContainsFunc(st.Reconcile.Warnings, func(w string) bool { return strings.HasPrefix(w, warning) }) {
		t.Fatalf("status's reconcile: %+v, want the warning %q", st.Reconcile, warning)
	}
	c.waitWeights(vip80, 5*time.Second, map[string]int{"10.0.0.11": 10, "10.0.0.12": 10})

	c.web["rs1"].stop()
	contract := fall*interval + timeout
	took := c.waitWeights(vip80, contract+2500*time.Millisecond, map[string]int{"10.0.0.11": 0, "10.0.0.12": 10})
	t.Logf("quiesced after %s beside the other tool's service", took)
	time.Sleep(2500 * time.Millisecond) // a few more passes (reconcile_interval 1s)
	if got := c.weights(foreign.Key()); fmt.Sprint(got) != fmt.Sprint(map[string]int{"10.0.0.11": 7}) {
		t.Fatalf("the other tool's service was changed: %v", got)
	}
	st, err := c.status()
	must(t, err)
	if st.Reconcile.Error != "" {
		t.Errorf("status's pass error %q, want none", st.Reconcile.Error)
	}
	if r, _ := rowOf(st, "tcp:10.0.0.100:80", "10.0.0.11"); r.State != "down" || r.EffectiveWeight != 0 {
		t.Errorf("status of 10.0.0.11 on :80: %+v, want down at weight 0", r)
	}
	if r, _ := rowOf(st, "tcp:10.0.0.100:8080", "10.0.0.12"); r.EffectiveWeight != 0 {
		t.Errorf("status gives 10.0.0.12 on :8080 weight %d, want 0: it is not in the kernel", r.EffectiveWeight)
	}
	if n := strings.Count(c.d.log.String(), "service left alone"); n != 1 {
		t.Errorf("the warning was logged %d times, want once:\n%s", n, c.d.log.String())
	}
}

// TestFailingRouteKeepsHealth: another program's route for a second VIP
// in the announce table makes lvs-rs's addition of that VIP's route fail
// (EEXIST) at every pass; the passes still apply every health
// transition to the kernel, and when VIP:80's real servers are all down
// its route is withdrawn from the table (the routers stop sending it
// flows). The other program's route is left. Before, the failed addition
// stopped every pass before its weight edits and withdrawals.
func TestFailingRouteKeepsHealth(t *testing.T) {
	c := newCluster(t, strings.Replace(config("1s", 10, 10), "director:\n", "director:\n  announce: {table: 100}\n", 1)+`  - vip: 10.0.0.101
    port: 80
    scheduler: rr
    mode: dr
    real_servers:
      - {address: 10.0.0.12, weight: 1}
`)
	h := c.p.Director.Handle()
	other := &netlink.Route{Dst: &net.IPNet{IP: net.ParseIP("10.0.0.101").To4(), Mask: net.CIDRMask(32, 32)},
		Table: 100, Protocol: unix.RTPROT_STATIC, Type: unix.RTN_BLACKHOLE}
	must(t, h.RouteAdd(other))
	table100 := func() map[string]int { // prefix -> protocol
		rs, err := nlretry.Dump(func() ([]netlink.Route, error) {
			return h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: 100}, netlink.RT_FILTER_TABLE)
		})
		must(t, err)
		out := map[string]int{}
		for _, r := range rs {
			out[r.Dst.String()] = int(r.Protocol)
		}
		return out
	}
	c.run()
	st := c.settled()
	if !strings.Contains(st.Reconcile.Error, "10.0.0.101") || !strings.Contains(st.Reconcile.Error, "file exists") {
		t.Fatalf("status's pass error %q, want the route's refusal (EEXIST)", st.Reconcile.Error)
	}
	c.waitWeights(vip80, 5*time.Second, map[string]int{"10.0.0.11": 10, "10.0.0.12": 10})
	want := map[string]int{"10.0.0.100/32": 250, "10.0.0.101/32": unix.RTPROT_STATIC}
	if got := table100(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("table 100 (prefix: protocol) = %v, want %v", got, want)
	}

	contract := fall*interval + timeout
	c.web["rs1"].stop()
	c.waitWeights(vip80, contract+2500*time.Millisecond, map[string]int{"10.0.0.11": 0, "10.0.0.12": 10})
	c.web["rs2"].stop()
	c.waitWeights(vip80, contract+2500*time.Millisecond, map[string]int{"10.0.0.11": 0, "10.0.0.12": 0})
	want = map[string]int{"10.0.0.101/32": unix.RTPROT_STATIC}
	waitFor(t, 3*time.Second, "10.0.0.100 withdrawn", func() (bool, string) {
		got := table100()
		return fmt.Sprint(got) == fmt.Sprint(want), fmt.Sprint(got)
	})
	st, err := c.status()
	must(t, err)
	for _, a := range []string{"10.0.0.11", "10.0.0.12"} {
		if r, _ := rowOf(st, "tcp:10.0.0.100:80", a); r.State != "down" || r.EffectiveWeight != 0 {
			t.Errorf("status of %s: %+v, want down at weight 0", a, r)
		}
	}
	if st.Reconcile.Error == "" {
		t.Error("the pass error is gone while the other program's route is still there")
	}
}

// TestDrainWithFailureElsewhere: while every pass fails on another VIP
// (another program's route in the announce table, EEXIST), `lvs-rs
// drain` exits 0 with the real server at weight 0 in the kernel and
// `lvs-rs enable` exits 0 with its weight back: their passes went past
// the failure. Before, both exited 1 with the pass's error, the weight
// applied all the same.
func TestDrainWithFailureElsewhere(t *testing.T) {
	c := newCluster(t, strings.Replace(config("1s", 2, 3), "director:\n", "director:\n  announce: {table: 100}\n", 1)+`  - vip: 10.0.0.101
    port: 80
    scheduler: rr
    mode: dr
    real_servers:
      - {address: 10.0.0.12, weight: 1}
`)
	other := &netlink.Route{Dst: &net.IPNet{IP: net.ParseIP("10.0.0.101").To4(), Mask: net.CIDRMask(32, 32)},
		Table: 100, Protocol: unix.RTPROT_STATIC, Type: unix.RTN_BLACKHOLE}
	must(t, c.p.Director.Handle().RouteAdd(other))
	c.run()
	if st := c.settled(); !strings.Contains(st.Reconcile.Error, "10.0.0.101") {
		t.Fatalf("status's pass error %q, want the route's refusal", st.Reconcile.Error)
	}
	c.waitWeights(vip80, 5*time.Second, map[string]int{"10.0.0.11": 2, "10.0.0.12": 3})
	c.tally(10) // connections that keep 10.0.0.11 in the kernel while drained (drain_timeout 2s)
	code, out := c.lvsrs("drain", "10.0.0.11", "--service", "tcp:10.0.0.100:80")
	if code != 0 {
		t.Fatalf("drain with a failure elsewhere: exit %d, want 0\n%s", code, out)
	}
	if got := c.weights(vip80); got["10.0.0.11"] != 0 {
		t.Fatalf("right after drain: weights %v, want 10.0.0.11 at 0 (or deleted)", got)
	}
	code, out = c.lvsrs("enable", "10.0.0.11")
	if code != 0 {
		t.Fatalf("enable with a failure elsewhere: exit %d, want 0\n%s", code, out)
	}
	if got := c.weights(vip80); got["10.0.0.11"] != 2 {
		t.Fatalf("right after enable: weights %v, want 10.0.0.11 at 2", got)
	}
	if st, err := c.status(); err != nil || st.Reconcile.Error == "" {
		t.Fatalf("status %v (%v): the passes no longer fail, the test proves nothing", st.Reconcile, err)
	}
}
