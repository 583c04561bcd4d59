package crash

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/topo"
)

// daemonFromYAML is the long-running director's first file: announce
// routes in table 100, a dr service checked through its VIP (a probe
// service and accept_local), a fwmark service (nftables marks) and a nat
// service (ip_forward, send_redirects).
const daemonFromYAML = `director:
  interface: eth0
  announce: {table: 100, protocol: 250}
virtual_servers:
  - vip: 10.0.0.100
    port: 80
    scheduler: rr
    mode: dr
    check: {type: tcp, via: vip, interval: 1s, timeout: 900ms, rise: 1, fall: 2}
    real_servers:
      - {address: 10.0.0.11, weight: 2}
  - vip: 10.0.0.101
    fwmark: 10
    mark: [{protocol: tcp, port: 8080}]
    scheduler: rr
    mode: dr
    real_servers:
      - {address: 10.0.0.12, weight: 1}
  - vip: 10.0.0.200
    port: 443
    scheduler: rr
    mode: nat
    drain_timeout: 1s
    real_servers:
      - {address: 10.0.0.11, port: 8443, weight: 1}
`

// daemonToYAML is the edit a SIGHUP reloads: the nat service removed (it
// drains), a real server added to the checked service (a second probe),
// the fwmark service's weight changed and its VIP moved (marks rebuilt,
// announce route moved).
var daemonToYAML = strings.NewReplacer(
	"      - {address: 10.0.0.11, weight: 2}\n", "      - {address: 10.0.0.11, weight: 2}\n      - {address: 10.0.0.12, weight: 3}\n",
	"vip: 10.0.0.101", "vip: 10.0.0.102",
	"{address: 10.0.0.12, weight: 1}", "{address: 10.0.0.12, weight: 4}",
).Replace(daemonFromYAML[:strings.Index(daemonFromYAML, "  - vip: 10.0.0.200")])

// TestDaemonCrashAtEveryWrite kills lvs-rs run after each of its kernel
// writes, k = 1, 2, ... until a run completes without being killed: in
// its first passes from an empty host (the first one and those its
// checks trigger), and in a SIGHUP reload of daemonToYAML while a client
// holds a connection through the nat service (which drains, then is
// deleted at its drain_timeout). After each kill, stop alone restores
// the namespace as it was before the first run; and run started again
// converges to what an uninterrupted run holds (status exit 0), after
// which SIGTERM and stop restore it too.
func TestDaemonCrashAtEveryWrite(t *testing.T) {
	s := newDaemonSweep(t)
	s.uninterrupted()
	t.Run("first passes", func(t *testing.T) {
		s.h.t = t
		for k := 1; s.firstPasses(k); k++ {
		}
	})
	t.Run("reload", func(t *testing.T) {
		s.h.t = t
		s.armed = filepath.Join(t.TempDir(), "crash-after")
		for k := 1; s.reload(k); k++ {
		}
	})
}

// daemonSweep is TestDaemonCrashAtEveryWrite's cluster and the
// snapshots it compares with.
type daemonSweep struct {
	h    *dirHost
	p    *topo.Preset
	conn net.Conn // the client's connection through the nat service
	// before is the namespace before the first run; first and reloaded
	// are what the uninterrupted run holds after its first passes and
	// after the reload.
	before, first, reloaded []string
	armed                   string // the reload's LVS_RS_CRASH_AFTER_FILE
}

// newDaemonSweep builds the DR preset: both real servers serve the dr
// service's VIP on :80; rs1 serves the nat service as a one-armed NAT
// (its route to the client goes through the director) with a line echo
// on :8443.
func newDaemonSweep(t *testing.T) *daemonSweep {
	p := topo.DR(t)
	s := &daemonSweep{h: newDirHostIn(t, p.Director, daemonFromYAML), p: p}
	for _, rs := range []*topo.NS{p.RS1, p.RS2} {
		must(t, rs.AddAddr("lo", "10.0.0.100/32"))
		for _, k := range []string{"lo", "all"} {
			must(t, rs.WriteSysctl("net/ipv4/conf/"+k+"/arp_ignore", "1"))
			must(t, rs.WriteSysctl("net/ipv4/conf/"+k+"/arp_announce", "2"))
		}
		if _, err := rs.ServeEcho(":80"); err != nil {
			t.Fatal(err)
		}
	}
	lineEcho(t, p.RS1, ":8443")
	must(t, p.RS1.AddRoute("10.0.0.2/32", "10.0.0.1"))
	s.before = s.h.daemonSnapshot()
	return s
}

// hold opens the client's connection through the nat service, closing
// the one before.
func (s *daemonSweep) hold() {
	h := s.h
	h.t.Helper()
	if s.conn != nil {
		s.conn.Close()
	}
	c, err := s.p.Client.DialContext(context.Background(), "tcp", "10.0.0.200:443")
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { c.Close() })
	if err := echoed(c); err != nil {
		h.t.Fatalf("a connection through the nat service: %v", err)
	}
	s.conn = c
}

// restored runs stop and fails the test unless the namespace is as it
// was before the first run.
func (s *daemonSweep) restored(what string) {
	s.h.t.Helper()
	s.h.must(what+": stop", "stop")
	if d := dirDiff(s.before, s.h.daemonSnapshot()); d != "" {
		s.h.t.Fatalf("%s: stop did not restore the namespace (- before, + after):\n%s", what, d)
	}
}

// uninterrupted runs lvs-rs run through its first passes and the reload
// (with a drain_timeout long enough to see the connection through the
// nat service answer while it drains), records what it holds after each
// and checks that SIGTERM and stop restore the namespace.
func (s *daemonSweep) uninterrupted() {
	h, t := s.h, s.h.t
	h.write(strings.Replace(daemonFromYAML, "drain_timeout: 1s", "drain_timeout: 5s", 1))
	d := h.startRun()
	s.first = h.settle("uninterrupted", d)
	n := len(d.writes())
	s.hold()
	h.write(daemonToYAML)
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitUntil(t, 30*time.Second, "the nat service to drain", func() (bool, string) {
		snap := h.daemonSnapshot()
		return slices.Contains(snap, "ipvs tcp 10.0.0.200:443 -> 10.0.0.11:8443 Masq weight 0"), strings.Join(snap, "\n")
	})
	if err := echoed(s.conn); err != nil {
		t.Fatalf("the connection through the nat service while it drains: %v", err)
	}
	s.reloaded = h.settle("uninterrupted reload", d)
	s.conn.Close()
	t.Logf("first passes: %d writes, reload: %d:\n%s", n, len(d.writes())-n, strings.Join(d.writes(), "\n"))
	d.term("uninterrupted")
	s.restored("uninterrupted")
	mustContain(t, "after the first passes", s.first, "route table 100 type 6 dst 10.0.0.101/32", "route table 100 type 6 dst 10.0.0.200/32",
		"nftables rule ", "-> 10.0.0.11:80 Route weight 2", "accept_local = 1", "ip_forward = 1")
	mustContain(t, "after the reload", s.reloaded, "route table 100 type 6 dst 10.0.0.102/32", "-> 10.0.0.12:80 Route weight 3",
		"-> 10.0.0.12:0 Route weight 4")
	for _, l := range s.reloaded {
		if strings.Contains(l, "10.0.0.200") || strings.Contains(l, "10.0.0.101") {
			t.Fatalf("after the reload: %s is left", l)
		}
	}
}

// firstPasses kills run after its k-th write from an empty host; false
// when the run completed without write k.
func (s *daemonSweep) firstPasses(k int) bool {
	h := s.h
	crash := "LVS_RS_CRASH_AFTER=" + strconv.Itoa(k)
	h.write(daemonFromYAML)
	d := h.startRun(crash)
	if !h.await(fmt.Sprintf("run, k=%d", k), d, s.first, k) {
		d.term("run completed")
		s.restored("run completed")
		h.t.Logf("the first passes completed with %d writes", len(d.writes()))
		return false
	}
	what := fmt.Sprintf("run killed after write %d (%s)", k, d.writes()[k-1])
	s.restored(what)
	if !h.await(what+" (again)", h.startRun(crash), s.first, k) {
		h.t.Fatalf("%s: not killed the second time", what)
	}
	d = h.startRun()
	h.await(what+": run again", d, s.first, 0)
	d.term(what + ": run again")
	s.restored(what + ": run again")
	return true
}

// reload kills run after the k-th write of the reload; false when the
// reload completed without write k.
func (s *daemonSweep) reload(k int) bool {
	h := s.h
	what := fmt.Sprintf("reload killed after its write %d", k)
	d, killed := s.reloadKilled(what, k)
	if !killed {
		d.term("reload completed")
		s.restored("reload completed")
		h.t.Logf("the reload completed with %d writes", k-1)
		return false
	}
	s.restored(what)
	if _, killed := s.reloadKilled(what+" (again)", k); !killed {
		h.t.Fatalf("%s: not killed the second time", what)
	}
	d = h.startRun()
	h.await(what+": run again", d, s.reloaded, 0)
	d.term(what + ": run again")
	s.restored(what + ": run again")
	return true
}

// reloadKilled starts run on daemonFromYAML, waits for it to converge,
// opens a connection through the nat service and reloads daemonToYAML,
// armed to kill run after the reload's k-th write.
func (s *daemonSweep) reloadKilled(what string, k int) (*daemonRun, bool) {
	h := s.h
	h.t.Helper()
	os.Remove(s.armed)
	h.write(daemonFromYAML)
	d := h.startRun("LVS_RS_CRASH_AFTER_FILE=" + s.armed)
	h.await(what+": the first passes", d, s.first, 0)
	s.hold()
	n := len(d.writes())
	must(h.t, os.WriteFile(s.armed, []byte(strconv.Itoa(n+k)), 0o644))
	h.write(daemonToYAML)
	d.cmd.Process.Signal(syscall.SIGHUP)
	killed := h.await(what, d, s.reloaded, n+k)
	if killed && !strings.HasSuffix(what, "(again)") {
		h.t.Logf("reload killed after write %d: %s", n+k, d.writes()[n+k-1])
	}
	return d, killed
}

// write replaces the host's config file.
func (h *dirHost) write(yaml string) {
	h.t.Helper()
	must(h.t, os.WriteFile(h.config, []byte(yaml), 0o644))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
