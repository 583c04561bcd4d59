package crash

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// changeFromYAML and changeToYAML are a director's configuration and an
// edit of it that sets again what lvs-rs set before (an IPVS sysctl and
// the timeouts), restarts its sync daemon with another sync ID and moves
// its announce routes to another table.
const changeFromYAML = `director:
  interface: eth0
  ipvs_sysctls: {conn_reuse_mode: 0}
  timeouts: {tcp: 600s, tcp_fin: 30s, udp: 45s}
  sync: {interface: eth0, state: master, syncid: 3}
  announce: {table: 100, protocol: 250}
virtual_servers:
  - vip: 10.0.0.100
    port: 80
    protocol: tcp
    scheduler: rr
    mode: dr
    real_servers:
      - address: 10.0.0.11
`

var changeToYAML = strings.NewReplacer("conn_reuse_mode: 0", "conn_reuse_mode: 2",
	"tcp: 600s, tcp_fin: 30s, udp: 45s", "tcp: 300s, tcp_fin: 20s, udp: 40s",
	"syncid: 3", "syncid: 4", "table: 100", "table: 200").Replace(changeFromYAML)

// TestDirectorChangeInterrupted: lvs-rs started with one configuration,
// then with an edit of it, is killed after each write of that second
// start, or has each of them fail; then either stop, or the edit started
// again and stop, must put back every value found before lvs-rs's first
// write (conn_reuse_mode, the timeouts), stop the sync daemon it runs and
// remove its routes from both tables: while a value lvs-rs wrote is
// replaced, a daemon restarted or a table left, the old one stays its own.
func TestDirectorChangeInterrupted(t *testing.T) {
	h := newDirHost(t, changeFromYAML)
	snapshot := func() []string {
		out := h.wave2Snapshot()
		v, err := h.ns.ReadSysctl("net/ipv4/vs/conn_reuse_mode")
		if err != nil {
			t.Fatal(err)
		}
		return append(out, "sysctl net/ipv4/vs/conn_reuse_mode = "+v)
	}
	before := snapshot()
	write := func(yaml string) {
		if err := os.WriteFile(h.config, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h.must("first start", "start")
	write(changeToYAML)
	changes := h.trace("start")
	t.Logf("the edit's writes %d: %q", len(changes), changes)
	h.must("stop after the trace", "stop")
	if d := dirDiff(before, snapshot()); d != "" {
		t.Fatalf("start, the edit, stop did not restore the namespace:\n%s", d)
	}
	for k := 1; k <= len(changes); k++ {
		for _, fail := range []bool{false, true} {
			for _, again := range []bool{false, true} {
				what := fmt.Sprintf("the edit killed after write %d (%s), then start again %v", k, changes[k-1], again)
				env := "LVS_RS_CRASH_AFTER=" + strconv.Itoa(k)
				if fail {
					what = fmt.Sprintf("the edit's write %d (%s) failing, then start again %v", k, changes[k-1], again)
					env = "LVS_RS_FAIL_AT=" + strconv.Itoa(k)
				}
				write(changeFromYAML)
				h.must(what+": first start", "start")
				write(changeToYAML)
				r := h.run("start", env)
				if r.code == 0 && !r.killed {
					t.Fatalf("%s: the edit neither died nor failed:\n%s", what, r.stderr)
				}
				if again {
					h.must(what+": start again", "start")
				}
				h.must(what+": stop", "stop")
				if d := dirDiff(before, snapshot()); d != "" {
					t.Fatalf("%s: stop did not restore the namespace:\n%s", what, d)
				}
			}
		}
	}
}

// TestDirectorStopFailsWithForeignRealServer: another tool added a real
// server to one of lvs-rs's services, and each write of stop fails in
// turn; a second stop then leaves what an uninterrupted one does (that
// service, holding the other tool's real server alone): a real server of
// lvs-rs's whose deletion failed stays recorded, service and all.
func TestDirectorStopFailsWithForeignRealServer(t *testing.T) {
	h := newDirHost(t, dirYAML)
	svc := ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: netipMust("10.0.0.100"), Port: 80, Scheduler: "wrr", Netmask: 32}
	foreign := ipvs.Destination{Address: netipMust("10.0.0.13"), Port: 80, Forward: ipvs.Route, Weight: 1}
	c := h.ipvs()
	ctx := context.Background()
	start := func(what string) {
		h.must(what+": start", "start")
		if err := c.NewDestination(ctx, svc, foreign); err != nil {
			t.Fatalf("%s: the other tool's real server: %v", what, err)
		}
	}
	cleanup := func(what string) {
		if err := c.DeleteService(ctx, svc); err != nil {
			t.Fatalf("%s: deleting the service stop released: %v", what, err)
		}
	}
	start("trace")
	stops := h.trace("stop")
	want := h.snapshot()
	if !slices.Contains(want, "ipvs tcp 10.0.0.100:80 -> 10.0.0.13:80 Route weight 1") {
		t.Fatalf("an uninterrupted stop did not keep the other tool's real server:\n%s", strings.Join(want, "\n"))
	}
	cleanup("trace")
	for k := 1; k <= len(stops); k++ {
		what := fmt.Sprintf("stop's write %d (%s) failing", k, stops[k-1])
		start(what)
		if r := h.run("stop", "LVS_RS_FAIL_AT="+strconv.Itoa(k)); r.code == 0 || r.killed {
			t.Fatalf("%s: stop did not fail: exit %d\n%s", what, r.code, r.stderr)
		}
		h.must(what+": stop again", "stop")
		if d := dirDiff(want, h.snapshot()); d != "" {
			t.Fatalf("%s: (- uninterrupted, + after):\n%s", what, d)
		}
		cleanup(what)
	}
}

// TestDirectorAnnounceProtocolChange: changing announce.protocol alone
// moves each route to the new protocol (the kernel's route key has no
// protocol: adding the new one before deleting the old was refused with
// EEXIST, and every later pass failed the same way); stop then restores
// the namespace.
func TestDirectorAnnounceProtocolChange(t *testing.T) {
	h := newDirHost(t, changeFromYAML)
	before := h.snapshot()
	h.must("start", "start")
	if err := os.WriteFile(h.config, []byte(strings.Replace(changeFromYAML, "protocol: 250", "protocol: 251", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	h.must("start with protocol 251", "start")
	var routes []string
	for _, l := range h.snapshot() {
		if strings.HasPrefix(l, "route table 100 ") {
			routes = append(routes, l)
		}
	}
	if len(routes) != 1 || !strings.Contains(routes[0], "dst 10.0.0.100/32") || !strings.Contains(routes[0], "proto 251") {
		t.Fatalf("table 100 after the change: %q, want the VIP's route with proto 251 alone", routes)
	}
	h.must("status", "status")
	h.must("stop", "stop")
	if d := dirDiff(before, h.snapshot()); d != "" {
		t.Fatalf("stop did not restore the namespace:\n%s", d)
	}
}
