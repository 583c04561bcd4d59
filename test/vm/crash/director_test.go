package crash

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// TestDirectorCrashAtEveryWrite kills lvs-rs start after each of its
// kernel writes; the next start converges (status 0) and stop puts the
// namespace back exactly as it was, the foreign service included. Then
// the same for a crash at each write of stop.
func TestDirectorCrashAtEveryWrite(t *testing.T) {
	h := newDirHost(t, dirYAML)
	crashAtEveryWrite(t, h, h.snapshot)
}

// crashAtEveryWrite kills start after each of its writes, then stop after
// each of its writes, and checks after every crash that the next start
// converges (status 0) and stop restores the snapshot taken first.
func crashAtEveryWrite(t *testing.T, h *dirHost, snapshot func() []string) {
	before := snapshot()
	starts := h.trace("start")
	stops := h.trace("stop")
	t.Logf("start writes %d: %q\nstop writes %d: %q", len(starts), starts, len(stops), stops)
	if d := dirDiff(before, snapshot()); d != "" {
		t.Fatalf("start then stop did not restore the namespace:\n%s", d)
	}
	for k := 1; k <= len(starts); k++ {
		what := fmt.Sprintf("start killed after write %d (%s)", k, starts[k-1])
		if r := h.run("start", "LVS_RS_CRASH_AFTER="+strconv.Itoa(k)); !r.killed {
			t.Fatalf("%s: not killed: exit %d\n%s", what, r.code, r.stderr)
		}
		h.must(what+": start again", "start")
		h.must(what+": status", "status")
		h.must(what+": stop", "stop")
		if d := dirDiff(before, snapshot()); d != "" {
			t.Fatalf("%s: stop did not restore the namespace:\n%s", what, d)
		}
	}
	for k := 1; k <= len(stops); k++ {
		what := fmt.Sprintf("stop killed after write %d (%s)", k, stops[k-1])
		h.must(what+": start", "start")
		if r := h.run("stop", "LVS_RS_CRASH_AFTER="+strconv.Itoa(k)); !r.killed {
			t.Fatalf("%s: not killed: exit %d\n%s", what, r.code, r.stderr)
		}
		h.must(what+": stop again", "stop")
		if d := dirDiff(before, snapshot()); d != "" {
			t.Fatalf("%s: stop did not restore the namespace:\n%s", what, d)
		}
	}
}

// TestDirectorFailAtEveryWrite fails each write of start with EINVAL:
// start fails naming the object and the errno, a rerun converges, stop
// restores.
func TestDirectorFailAtEveryWrite(t *testing.T) {
	h := newDirHost(t, dirYAML)
	before := h.snapshot()
	starts := h.trace("start")
	h.must("stop after the trace", "stop")
	for k := 1; k <= len(starts); k++ {
		what := fmt.Sprintf("start with write %d (%s) failing", k, starts[k-1])
		r := h.run("start", "LVS_RS_FAIL_AT="+strconv.Itoa(k), "LVS_RS_FAIL_ERRNO=EINVAL")
		if r.code == 0 || r.killed || !strings.Contains(r.stderr, "invalid argument") || !strings.Contains(r.stderr, starts[k-1]) {
			t.Fatalf("%s: exit %d, want a failure naming %q and EINVAL:\n%s", what, r.code, starts[k-1], r.stderr)
		}
		h.must(what+": start again", "start")
		h.must(what+": status", "status")
		h.must(what+": stop", "stop")
		if d := dirDiff(before, h.snapshot()); d != "" {
			t.Fatalf("%s: stop did not restore the namespace:\n%s", what, d)
		}
	}
}

// lossy counts the IPVS changes whose acknowledgement was lost.
type lossy struct {
	*ipvs.Client
	mu      sync.Mutex
	unknown int
	// preempt, while set, makes the next batch that adds real servers find
	// every one of them added already, as by another tool just before:
	// the kernel refuses each with EEXIST, and that many refusals overflow
	// a minimal receive buffer.
	preempt bool
}

func (l *lossy) Apply(ctx context.Context, ops []ipvs.Op) []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.preempt {
		var adds []ipvs.Op
		for _, op := range ops {
			if op.Kind == ipvs.OpNewDestination {
				adds = append(adds, op)
			}
		}
		if len(adds) > 0 {
			l.preempt = false
			for i, err := range l.Client.Apply(ctx, adds) {
				if err != nil {
					panic(fmt.Sprintf("the other tool's %v: %v", adds[i], err))
				}
			}
		}
	}
	errs := l.Client.Apply(ctx, ops)
	for _, err := range errs {
		if errors.Is(err, ipvs.ErrOutcomeUnknown) {
			l.unknown++
		}
	}
	return errs
}

// manyYAML has, with perService real servers in each of its four
// services, enough of them that refusing all their additions overflows a
// minimal receive buffer.
func manyYAML(perService int) string {
	var b strings.Builder
	b.WriteString("director:\n  interface: eth0\nvirtual_servers:\n")
	for s := range 4 {
		fmt.Fprintf(&b, "  - vip: 10.0.0.100\n    port: %d\n    protocol: tcp\n    scheduler: rr\n    mode: dr\n    real_servers:\n", 80+s)
		for r := range perService {
			fmt.Fprintf(&b, "      - address: 10.0.0.%d\n", 11+r)
		}
	}
	return b.String()
}

// TestDirectorLostAcknowledgements runs start and stop over a socket whose
// receive buffer is too small for the kernel's answers (ENOBUFS): lvs-rs
// asks for one acknowledgement per batch, so the answers that overflow it
// are refusals, here of real servers another tool added just before
// (EEXIST). Start converges anyway, status is 0 after it, and stop leaves
// nothing behind.
func TestDirectorLostAcknowledgements(t *testing.T) {
	h := newDirHost(t, manyYAML(1))
	before := h.snapshot()
	c, err := ipvs.Dial(&ipvs.Config{NetNS: int(h.ns.NsHandle()), ReceiveBuffer: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	l := &lossy{Client: c}
	o := director.Options{StateDir: h.state, Handle: h.ns.Handle(), IPVS: l}
	start := func(yaml string) error {
		if err := os.WriteFile(h.config, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(h.config)
		if err != nil {
			t.Fatal(err)
		}
		return h.ns.Do(func() error { _, err := director.Start(context.Background(), cfg, o); return err })
	}
	if err := start(manyYAML(1)); err != nil {
		t.Fatalf("first start: %v", err)
	}
	l.preempt = true
	if err := start(manyYAML(7)); err != nil {
		t.Fatalf("start with lost answers: %v", err)
	}
	if l.unknown == 0 {
		t.Fatal("no answer was lost: the test proves nothing")
	}
	t.Logf("start: %d outcomes unknown", l.unknown)
	h.must("status after a lossy start", "status")
	if err := h.ns.Do(func() error { _, err := director.Stop(context.Background(), o); return err }); err != nil {
		t.Fatalf("stop with lost acknowledgements: %v", err)
	}
	if d := dirDiff(before, h.snapshot()); d != "" {
		t.Fatalf("orphans after a lossy start and stop:\n%s", d)
	}
}

// foreignDest is the real server of the foreign writer's services.
var foreignDest = ipvs.Destination{Family: ipvs.Inet, Address: netipMust("10.0.0.11"), Port: 53, Forward: ipvs.Masq, Weight: 1}

// TestDirectorForeignWriter: another tool adds and deletes its own IPVS
// services (with a real server each) in a loop while lvs-rs starts and
// stops: every start succeeds and the other tool's services are exactly
// what it left.
func TestDirectorForeignWriter(t *testing.T) {
	h := newDirHost(t, dirYAML)
	before := h.snapshot()
	// The writer checks ctx between its calls but never passes it on: a
	// call cut short would leave its outcome unknown to the test.
	ctx, cancel := context.WithCancel(context.Background())
	bg := context.Background()
	c := h.ipvs()
	var wg sync.WaitGroup
	var live []ipvs.Service
	var werr error
	writes := 0
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			writes++
			s := ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.UDP, Address: netipMust("10.0.0.250"), Port: uint16(3000 + i%200),
				Scheduler: "rr", Netmask: 32}
			if err := c.NewService(bg, s); err != nil {
				werr = err
				return
			}
			if err := c.NewDestination(bg, s, foreignDest); err != nil {
				werr = err
				return
			}
			live = append(live, s)
			if len(live) > 3 {
				if err := c.DeleteService(bg, live[0]); err != nil {
					werr = err
					return
				}
				live = live[1:]
			}
		}
	})
	for round := range 3 {
		h.must(fmt.Sprintf("round %d: start beside a foreign writer", round), "start")
		h.must(fmt.Sprintf("round %d: stop beside a foreign writer", round), "stop")
	}
	cancel()
	wg.Wait()
	if werr != nil {
		t.Fatalf("the foreign writer failed: %v", werr)
	}
	t.Logf("the foreign writer made %d services meanwhile", writes)
	after := h.snapshot()
	want := append([]string{}, before...)
	for _, s := range live {
		want = append(want, ipvsLines(s, []ipvs.Destination{foreignDest})...)
	}
	if d := dirDiff(want, after); d != "" {
		t.Fatalf("after starts and stops beside a foreign writer, the namespace is not what it and the writer left:\n%s", d)
	}
}

// TestDirectorPortChangeAddFails: moving a service from :80 to :8080 when
// the kernel refuses the new one (an unknown scheduler) leaves :80 and its
// real servers in place, through the pipelined client.
func TestDirectorPortChangeAddFails(t *testing.T) {
	h := newDirHost(t, dirYAML)
	before := h.snapshot()
	cfg, err := config.Load(h.config)
	if err != nil {
		t.Fatal(err)
	}
	o := director.Options{StateDir: h.state, Handle: h.ns.Handle()}
	run := func(cfg *config.Config) error {
		return h.ns.Do(func() error { _, err := director.Start(context.Background(), cfg, o); return err })
	}
	if err := run(cfg); err != nil {
		t.Fatal(err)
	}
	was := h.table()
	cfg.VirtualServers[0].Port = 8080
	cfg.VirtualServers[0].Scheduler = "nosuch" // past the config's checks: the kernel refuses it
	err = run(cfg)
	if !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), "tcp 10.0.0.100:8080") {
		t.Fatalf("start = %v, want ENOENT naming tcp 10.0.0.100:8080", err)
	}
	if d := dirDiff(was, h.table()); d != "" {
		t.Fatalf("the failed addition of :8080 changed the table:\n%s", d)
	}
	h.must("stop", "stop")
	if d := dirDiff(before, h.snapshot()); d != "" {
		t.Fatalf("stop did not restore the namespace:\n%s", d)
	}
}
