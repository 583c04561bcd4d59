package crash

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/pkg/control"
	"github.com/lvs-rs/lvs-rs/pkg/nftmark"
)

// daemonRun is one `lvs-rs run --role director` child, tracing its
// kernel writes to its log.
type daemonRun struct {
	h    *dirHost
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
	err  error
}

// startRun starts lvs-rs run in the host's namespace with the host's
// config and state directory, LVS_RS_FAULT_TRACE=1 and env added; the
// test's end kills it if it still runs.
func (h *dirHost) startRun(env ...string) *daemonRun {
	h.t.Helper()
	d := &daemonRun{h: h, log: &syncBuffer{}, done: make(chan struct{})}
	d.cmd = h.ns.Command(context.Background(), h.bin, "run", "--role", "director", "--config", h.config, "--state-dir", h.state)
	d.cmd.Env = append(append(os.Environ(), "LVS_RS_FAULT_TRACE=1"), env...)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		h.t.Fatalf("start lvs-rs run: %v", err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.done) }()
	h.lastRun = d
	t := h.t
	t.Cleanup(func() {
		d.cmd.Process.Signal(syscall.SIGKILL)
		<-d.done
		if t.Failed() && h.lastRun == d {
			t.Logf("lvs-rs run (pid %d) log:\n%s", d.cmd.Process.Pid, d.log.String())
		}
	})
	return d
}

// writes is the kernel writes the run traced so far, in order.
func (d *daemonRun) writes() []string {
	var out []string
	for _, m := range traceLine.FindAllStringSubmatch(d.log.String(), -1) {
		out = append(out, m[2])
	}
	return out
}

// exited reports whether the run has ended.
func (d *daemonRun) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// mustBeKilled fails the test unless the run ended by SIGKILL (its own,
// from faultinject).
func (d *daemonRun) mustBeKilled(what string) {
	d.h.t.Helper()
	<-d.done
	var ee *exec.ExitError
	if errors.As(d.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return
		}
	}
	d.h.t.Fatalf("%s: lvs-rs run ended by itself (%v), not killed after a write:\n%s", what, d.err, d.log.String())
}

// term stops the run with SIGTERM and fails the test unless it exits 0.
func (d *daemonRun) term(what string) {
	d.h.t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		d.h.t.Fatalf("%s: lvs-rs run did not exit on SIGTERM:\n%s", what, d.log.String())
	}
	if d.err != nil {
		d.h.t.Fatalf("%s: lvs-rs run on SIGTERM: %v\n%s", what, d.err, d.log.String())
	}
}

// daemonStatus asks the running director over its control socket.
func (h *dirHost) daemonStatus() (control.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := control.Dial(ctx, h.state)
	if err != nil {
		return control.Status{}, err
	}
	defer c.Close()
	return c.Status(ctx)
}

// settled reports whether the daemon's last pass succeeded with every
// real server checked, up (or unchecked) at its configured weight, and
// none draining.
func settled(st control.Status) (bool, string) {
	if st.Reconcile.Last.IsZero() || st.Reconcile.Error != "" {
		return false, "reconcile: " + st.Reconcile.Error
	}
	for _, r := range st.RealServers {
		if (r.State != control.StateUp && r.State != control.StateUnchecked) || r.EffectiveWeight != r.ConfiguredWeight {
			return false, fmt.Sprintf("%v %s weight %d/%d", r.Address, r.State, r.EffectiveWeight, r.ConfiguredWeight)
		}
	}
	return true, ""
}

// quiet is how long the uninterrupted run must make no write to count as
// settled; a run converging to its state must make none for quietAfter
// (no crash asked) or quietBefore (before the write it is to be killed
// after) to count as done.
const (
	quiet       = 2 * time.Second
	quietAfter  = 500 * time.Millisecond
	quietBefore = time.Second
)

// settle waits until the uninterrupted run d is settled and has made no
// write for quiet, and returns the namespace's snapshot then.
func (h *dirHost) settle(what string, d *daemonRun) []string {
	h.t.Helper()
	n, since := -1, time.Now()
	waitUntil(h.t, 90*time.Second, what+": lvs-rs run to settle", func() (bool, string) {
		if d.exited() {
			h.t.Fatalf("%s: lvs-rs run exited: %v\n%s", what, d.err, d.log.String())
		}
		st, err := h.daemonStatus()
		if err != nil {
			return false, err.Error()
		}
		if ok, why := settled(st); !ok {
			return false, why
		}
		if w := len(d.writes()); w != n {
			n, since = w, time.Now()
		}
		return time.Since(since) >= quiet, fmt.Sprintf("%d writes, the last %s ago", n, time.Since(since))
	})
	return h.daemonSnapshot()
}

// await waits until the run d is killed after its write k (true), or
// holds the namespace at want, status exit 0, with fewer than k writes
// and none for quiet (false: the run completed; k 0 means no crash).
func (h *dirHost) await(what string, d *daemonRun, want []string, k int) (killed bool) {
	h.t.Helper()
	n, since := -1, time.Now()
	last := ""
	deadline := time.Now().Add(90 * time.Second)
	for {
		if d.exited() {
			if k == 0 {
				h.t.Fatalf("%s: lvs-rs run exited: %v\n%s", what, d.err, d.log.String())
			}
			d.mustBeKilled(what)
			return true
		}
		w := len(d.writes())
		if w != n {
			n, since = w, time.Now()
		}
		wait := quietBefore
		if k == 0 {
			wait = quietAfter
		}
		diff := dirDiff(want, h.daemonSnapshot())
		if diff == "" && (k == 0 || n < k) && time.Since(since) >= wait {
			r := h.exec([]string{"status", "--role", "director", "--state-dir", h.state})
			if r.code == 0 && !d.exited() {
				return false
			}
			diff = fmt.Sprintf("status exit %d:\n%s%s", r.code, r.stdout, r.stderr)
		}
		last = diff
		if time.Now().After(deadline) {
			h.t.Fatalf("%s: lvs-rs run neither killed nor converged (%d writes, k %d); last (- want, + got):\n%s\nlog:\n%s",
				what, n, k, last, d.log.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// daemonSnapshot is wave2Snapshot plus what lvs-rs run changes besides:
// accept_local (checks through the VIP) and lvs-rs's nftables table.
func (h *dirHost) daemonSnapshot() []string {
	h.t.Helper()
	out := h.wave2Snapshot()
	for _, k := range []string{"net/ipv4/conf/all/accept_local", "net/ipv4/conf/eth0/accept_local"} {
		v, err := h.ns.ReadSysctl(k)
		if err != nil {
			h.t.Fatal(err)
		}
		out = append(out, "sysctl "+k+" = "+v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	obs, err := nftmark.NewKernel(int(h.ns.NsHandle())).Observe(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	if obs.Present {
		out = append(out, fmt.Sprintf("nftables table inet %s foreign %v", nftmark.TableName, obs.Foreign))
		for _, r := range obs.Rules {
			out = append(out, "nftables rule "+r.String())
		}
	}
	slices.Sort(out)
	return out
}

// waitUntil polls cond every 100ms until it holds or within passes.
func waitUntil(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s; last: %s", within, what, why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// mustContain fails the test unless snap holds a line containing each
// of subs.
func mustContain(t *testing.T, what string, snap []string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !slices.ContainsFunc(snap, func(l string) bool { return strings.Contains(l, s) }) {
			t.Fatalf("%s: no line with %q in:\n%s", what, s, strings.Join(snap, "\n"))
		}
	}
}

// lineEcho serves a line echo on addr in ns until the test ends.
func lineEcho(t *testing.T, ns *topo.NS, addr string) {
	t.Helper()
	l, err := ns.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
}

// echoed sends one line over c and reads it back, within 5 s.
func echoed(c net.Conn) error {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "ping\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "ping\n" {
		return fmt.Errorf("echoed %q", line)
	}
	return nil
}
