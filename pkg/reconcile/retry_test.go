package reconcile

import (
	"context"
	"fmt"
	"io"
	"log/slog"
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

// retryConfig is one unchecked service on port 80 and one on port 81,
// reconciled every hour.
const retryConfig = `director:
  interface: eth0
  reconcile_interval: 1h
virtual_servers:
  - vip: 10.0.0.100
    port: 80
    real_servers:
      - {address: 127.0.0.2}
  - vip: 10.0.0.200
    port: 81
    real_servers:
      - {address: 127.0.0.5}
`

// TestFailedPassBacksOff: while passes fail (the kernel refuses a service
// for good), the retry after each comes a second after the first failure,
// then twice as late each time, up to 30 s; a pass that succeeds resets
// it, and the next failure is retried after a second again. Before, every
// failed pass was retried a second later, for as long as the failure
// lasted (a full pass every second). The passes are run one by one here,
// as the loop runs each when the one before says.
func TestFailedPassBacksOff(t *testing.T) {
	dir := t.TempDir()
	file, stateDir := filepath.Join(dir, "lvs-rs.yaml"), filepath.Join(dir, "state")
	writeConfig(t, file, retryConfig)
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	k := newMemKernel()
	lp, err := New(Options{Config: cfg, File: file, StateDir: stateDir,
		Director: director.Options{StateDir: stateDir, Kernel: k}, IPVS: k,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	refuse := func(op ipvs.Op) error {
		if op.Service.Port == 81 && op.Kind == ipvs.OpNewService {
			return unix.ENOENT
		}
		return nil
	}
	ctx := context.Background()
	// pass runs one pass and checks that the next is due delay after it.
	pass := func(step string, fail bool, delay time.Duration) {
		t.Helper()
		before := time.Now()
		next, _, err := lp.pass(ctx)
		after := time.Now()
		if (err != nil) != fail {
			t.Fatalf("%s: pass error %v, want failure %v", step, err, fail)
		}
		if next.Before(before.Add(delay)) || next.After(after.Add(delay)) {
			t.Fatalf("%s: next pass due %v after the pass, want %v", step, next.Sub(after).Round(time.Millisecond), delay)
		}
	}
	k.setRefuse(refuse)
	for i, d := range []time.Duration{1, 2, 4, 8, 16, 30, 30} {
		pass(fmt.Sprintf("failure %d", i+1), true, d*time.Second)
	}
	k.setRefuse(nil)
	pass("success", false, time.Hour)
	k.setRefuse(refuse)
	k.mu.Lock() // deleted by hand: the next pass adds it again, refused
	k.services = slices.DeleteFunc(k.services, func(s ipvs.ServiceExtended) bool { return s.Port == 81 })
	k.mu.Unlock()
	pass("failure after a success", true, time.Second)
	pass("the next one", true, 2*time.Second)
}

// TestRetryBackoffInRun: in a running loop whose passes keep failing, the
// retries grow apart (no pass a second after a failure once several
// failed), while a trigger (here Kick, as drain, enable and address
// events do) still runs a pass at once.
func TestRetryBackoffInRun(t *testing.T) {
	l2 := listen(t, "127.0.0.2:0")
	conf := func(extra bool) string { // reconcile_interval 1 h: no due pass meanwhile
		return strings.Replace(announcedConfig(portOfListener(l2), extra), "reconcile_interval: 1s", "reconcile_interval: 1h", 1)
	}
	lp, k, ctx := runLoop(t, conf(false))
	k.setRefuse(func(op ipvs.Op) error {
		if op.Service.Port == 81 && op.Kind == ipvs.OpNewService {
			return unix.ENOENT
		}
		return nil
	})
	writeConfig(t, lp.opts.File, conf(true))
	lp.Reload()
	waitUntil(t, "the reload's pass to fail", func() (bool, string) {
		st, _ := lp.Status(ctx)
		return st.Reconcile.Error != "", st.Reconcile.Error
	})
	lp.mu.Lock()
	lp.retry = 16 * time.Second // as after five failures in a row
	lp.mu.Unlock()
	// The retry already due (a second after the reload's pass) fails: the
	// next one is 30 s later.
	n := counts(lp).passes
	waitUntil(t, "the retry after the reload's pass", func() (bool, string) {
		return counts(lp).passes > n, ""
	})
	n = counts(lp).passes
	time.Sleep(1500 * time.Millisecond)
	if got := counts(lp).passes; got != n {
		t.Fatalf("%d passes within 1.5 s of the sixth failure in a row, want none (retry in 30 s)", got-n)
	}
	lp.Kick()
	deadline := time.Now().Add(500 * time.Millisecond)
	for counts(lp).passes == n {
		if time.Now().After(deadline) {
			t.Fatal("a kick ran no pass within 0.5 s while the retry waits")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
