package reconcile

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/state"
)

// TestStopWhileWaitingForLock: another lvs-rs command holds the host
// lock, which the first pass waits for (up to 30 s, as run does); the
// loop told to stop (SIGTERM) returns at once, not at the end of the
// wait.
func TestStopWhileWaitingForLock(t *testing.T) {
	l2 := listen(t, "127.0.0.2:0")
	dir := t.TempDir()
	file, stateDir := filepath.Join(dir, "lvs-rs.yaml"), filepath.Join(dir, "state")
	writeConfig(t, file, loopConfig(portOfListener(l2), 0))
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	store := state.Store{Dir: stateDir}
	unlock, err := store.Lock(time.Second) // another command
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	waiting := make(chan struct{}, 1)
	k := newMemKernel()
	lp, err := New(Options{Config: cfg, File: file, StateDir: stateDir,
		Director: director.Options{StateDir: stateDir, Kernel: k}, IPVS: k,
		Lock: func(ctx context.Context) (func(), error) {
			waiting <- struct{}{}
			return store.LockContext(ctx, 30*time.Second)
		},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- lp.Run(ctx) }()
	<-waiting
	time.Sleep(200 * time.Millisecond) // in the wait
	stopped := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		if d := time.Since(stopped); d > 2*time.Second {
			t.Errorf("Run returned %s after it was told to stop", d.Round(time.Millisecond))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run still waiting for the host lock 10 s after it was told to stop (the wait ignores the loop's context)")
	}
}
