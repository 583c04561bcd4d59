package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// announcedConfig is vip 10.0.0.100:80 with one checked real server,
// announced in table 100; with extra, also vip 10.0.0.200:81 with one
// unchecked real server.
func announcedConfig(p2 int, extra bool) string {
	s := fmt.Sprintf(`director:
  interface: eth0
  reconcile_interval: 1s
  announce: {table: 100}
virtual_servers:
  - vip: 10.0.0.100
    port: 80
    scheduler: mh
    scheduler_flags: [mh-fallback]
    check: {type: tcp, interval: 100ms, timeout: 50ms, rise: 1, fall: 1}
    real_servers:
      - {address: 127.0.0.2, weight: 2, check: {port: %d}}
`, p2)
	if extra {
		s += `  - vip: 10.0.0.200
    port: 81
    scheduler: wrr
    real_servers:
      - {address: 127.0.0.5, weight: 1}
`
	}
	return s
}

// extraService is the service announcedConfig adds with extra.
var extraService = ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: netip.MustParseAddr("10.0.0.200"), Port: 81, Scheduler: "wrr", Netmask: 32}

var announceTable = director.RouteTable{Table: 100, Protocol: 250}

// routes are the kernel's routes in table 100.
func (m *memKernel) routes() []netip.Prefix {
	r, _ := m.Routes(context.Background(), announceTable)
	return r
}

// hasService reports whether the kernel holds a service with key k, and
// how many real servers it holds.
func (m *memKernel) hasService(k ipvs.ServiceKey) (bool, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ok := slices.ContainsFunc(m.services, func(s ipvs.ServiceExtended) bool { return s.Key() == k })
	return ok, len(m.dests[k])
}

// setRefuse sets the kernel's refusal of IPVS requests (nil: none).
func (m *memKernel) setRefuse(f func(ipvs.Op) error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refuse = f
}

// setFailMarks makes BuildMarks fail with err (nil: succeed).
func (m *memKernel) setFailMarks(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failMarks = err
}

// vip100Down waits for 10.0.0.100's only real server, 127.0.0.2, to be
// at weight 0 in the kernel with the VIP withdrawn (its listener closed),
// and status to say so.
func vip100Down(t *testing.T, lp *Loop, k *memKernel, ctx context.Context) {
	t.Helper()
	waitUntil(t, "127.0.0.2 at weight 0 and 10.0.0.100 withdrawn", func() (bool, string) {
		w, routes := k.weights(80)["127.0.0.2"], k.routes()
		st, _ := lp.Status(ctx)
		r := row(st, "127.0.0.2")
		return w == 0 && len(routes) == 0 && r.State == "down" && r.EffectiveWeight == 0,
			fmt.Sprintf("kernel weight %d, table 100 %v, status %s at %d; last pass %+v", w, routes, r.State, r.EffectiveWeight, st.Reconcile)
	})
}

// TestFailureElsewhereKeepsHealth: a reload adds a service the kernel
// refuses for good (ENOENT: its scheduler's module is missing), so every
// pass fails; yet when the only real server of another VIP fails its
// check, its weight goes to 0 and the VIP is withdrawn, and status
// reports the weights the kernel holds (the refused service's real
// server 0, not the 1 planned), with the pass's error. Before, the
// refused addition stopped every pass before its weight edit and its
// withdrawal: the dead real server kept weight 2 and its VIP stayed
// announced, while status said "effective 0".
func TestFailureElsewhereKeepsHealth(t *testing.T) {
	l2 := listen(t, "127.0.0.2:0")
	lp, k, ctx := runLoop(t, announcedConfig(portOfListener(l2), false))
	if got := k.routes(); !slices.Equal(got, []netip.Prefix{netip.MustParsePrefix("10.0.0.100/32")}) {
		t.Fatalf("announced at start: %v", got)
	}
	k.setRefuse(func(op ipvs.Op) error {
		if op.Service.Port == 81 && (op.Kind == ipvs.OpNewService || op.Kind == ipvs.OpNewDestination) {
			return unix.ENOENT
		}
		return nil
	})
	writeConfig(t, lp.opts.File, announcedConfig(portOfListener(l2), true))
	lp.Reload()
	waitUntil(t, "the reload's pass to fail", func() (bool, string) {
		st, _ := lp.Status(ctx)
		return strings.Contains(st.Reconcile.Error, "10.0.0.200:81"), st.Reconcile.Error
	})
	l2.Close()
	vip100Down(t, lp, k, ctx)
	st, _ := lp.Status(ctx)
	if r := row(st, "127.0.0.5"); r.EffectiveWeight != 0 || r.ConfiguredWeight != 1 {
		t.Errorf("status gives the refused service's real server weight %d/%d, want 0/1 (it is not in the kernel)", r.EffectiveWeight, r.ConfiguredWeight)
	}
	if !strings.Contains(st.Reconcile.Error, "no such file or directory") {
		t.Errorf("status's pass error %q, want the refusal", st.Reconcile.Error)
	}
	if ok, _ := k.hasService(extraService.Key()); ok || len(k.routes()) != 0 {
		t.Errorf("the refused service exists (%v), or its VIP is announced: %v", ok, k.routes())
	}
	// Once the kernel accepts it, the service is added and announced.
	k.setRefuse(nil)
	waitUntil(t, "the service added and announced", func() (bool, string) {
		ok, n := k.hasService(extraService.Key())
		return ok && n == 1 && slices.Equal(k.routes(), []netip.Prefix{netip.MustParsePrefix("10.0.0.200/32")}),
			fmt.Sprintf("service %v with %d real servers, routes %v", ok, n, k.routes())
	})
}

// TestForeignServiceLeftAlone: a reload names a service another tool
// created. The passes leave it out, untouched, with a warning in status
// (logged once) and no error, and converge the rest: when the only real
// server of the other VIP fails its check it goes to weight 0 and its
// VIP is withdrawn; the other tool's VIP is never announced. Before,
// every pass failed on the conflict before any change.
func TestForeignServiceLeftAlone(t *testing.T) {
	l2 := listen(t, "127.0.0.2:0")
	lp, k, ctx := runLoop(t, announcedConfig(portOfListener(l2), false))
	k.do(ipvsOp(extraService)) // kube-proxy, keepalived, a hand-made ipvsadm rule
	writeConfig(t, lp.opts.File, announcedConfig(portOfListener(l2), true))
	lp.Reload()
	const warning = "tcp 10.0.0.200:81: exists and was not created by lvs-rs"
	waitUntil(t, "the warning", func() (bool, string) {
		st, _ := lp.Status(ctx)
		found := slices.ContainsFunc(st.Reconcile.Warnings, func(w string) bool { return strings.HasPrefix(w, warning) })
		return found, fmt.Sprintf("%+v", st.Reconcile)
	})
	l2.Close()
	vip100Down(t, lp, k, ctx)
	st, _ := lp.Status(ctx)
	if st.Reconcile.Error != "" {
		t.Errorf("status's pass error %q, want none (a warning)", st.Reconcile.Error)
	}
	if _, n := k.hasService(extraService.Key()); n != 0 {
		t.Errorf("the other tool's service holds %d real servers of lvs-rs's", n)
	}
	if r := row(st, "127.0.0.5"); r.EffectiveWeight != 0 {
		t.Errorf("status gives the real server of the other tool's service weight %d, want 0: it is not in the kernel", r.EffectiveWeight)
	}
	if !strings.Contains(lp.summary(), "1 service(s) of another tool left alone") {
		t.Errorf("summary %q does not mention the service left alone", lp.summary())
	}
}

// TestFailingMarksKeepHealth: a reload adds a fwmark service whose mark
// rules the host cannot build (no nftables); the other service's health
// edits still reach the kernel.
func TestFailingMarksKeepHealth(t *testing.T) {
	l2, l3 := listen(t, "127.0.0.2:0"), listen(t, "127.0.0.3:0")
	p2, p3 := portOfListener(l2), portOfListener(l3)
	lp, k, ctx := runLoop(t, loopConfig(p2, p3))
	k.setFailMarks(errors.New("nftables: netlink: protocol not supported"))
	writeConfig(t, lp.opts.File, loopConfig(p2, p3)+`  - vip: 10.0.0.100
    fwmark: 10
    mark: [{protocol: tcp, port: 443}]
    scheduler: rr
    real_servers:
      - {address: 127.0.0.9, mode: dr}
`)
	lp.Reload()
	waitUntil(t, "the reload's pass to fail", func() (bool, string) {
		st, _ := lp.Status(ctx)
		return strings.Contains(st.Reconcile.Error, "protocol not supported"), st.Reconcile.Error
	})
	l2.Close()
	waitUntil(t, "127.0.0.2 at weight 0", func() (bool, string) {
		w := k.weights(80)
		return w["127.0.0.2"] == 0 && w["127.0.0.3"] == 3, fmt.Sprint(w)
	})
}

// TestFirstPassLeavesForeignService: run started with a file naming a
// service another tool created stays up (ready, no error), leaves that
// service alone with a warning, and converges the rest.
func TestFirstPassLeavesForeignService(t *testing.T) {
	dir := t.TempDir()
	file, stateDir := filepath.Join(dir, "lvs-rs.yaml"), filepath.Join(dir, "state")
	l2 := listen(t, "127.0.0.2:0")
	writeConfig(t, file, announcedConfig(portOfListener(l2), true))
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	k := newMemKernel()
	k.do(ipvsOp(extraService))
	ready := make(chan string, 1)
	lp, err := New(Options{Config: cfg, File: file, StateDir: stateDir, Director: director.Options{StateDir: stateDir, Kernel: k}, IPVS: k,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Ready: func(s string) { ready <- s }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, exited, stop := goRun(t, lp)
	defer stop()
	select {
	case <-ready:
	case <-exited:
		t.Fatal("Run returned before it was ready")
	case <-time.After(10 * time.Second):
		t.Fatal("never ready")
	}
	st, _ := lp.Status(ctx)
	if st.Reconcile.Error != "" || len(st.Reconcile.Warnings) != 1 {
		t.Errorf("status: %+v, want no error and one warning", st.Reconcile)
	}
	if _, n := k.hasService(extraService.Key()); n != 0 {
		t.Errorf("the other tool's service was changed: %d real servers", n)
	}
	if got := k.weights(80); got["127.0.0.2"] != 2 {
		t.Errorf("the rest was not converged: %v", got)
	}
	if got := k.routes(); !slices.Equal(got, []netip.Prefix{netip.MustParsePrefix("10.0.0.100/32")}) {
		t.Errorf("table 100 holds %v, want 10.0.0.100 alone", got)
	}
}
