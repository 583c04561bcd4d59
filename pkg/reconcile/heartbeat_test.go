package reconcile

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/director"
)

// TestHeartbeat: the loop's heartbeat, what the watchdog reads. Idle
// after a pass; busy from a kick on; while a pass is stuck (here on the
// host lock) its progress stays where it was, however long it waits;
// once the lock is taken the pass makes progress again (seen from the
// last callback of the pass, held), and then the loop is idle.
func TestHeartbeat(t *testing.T) {
	dir := t.TempDir()
	file, stateDir := filepath.Join(dir, "lvs-rs.yaml"), filepath.Join(dir, "state")
	writeConfig(t, file, config80(2))
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	var blockLock, blockProgress atomic.Bool
	lockIn, lockOut := make(chan struct{}, 1), make(chan struct{})
	progIn, progOut := make(chan struct{}, 1), make(chan struct{})
	releaseLock := sync.OnceFunc(func() { blockLock.Store(false); close(lockOut) })
	releaseProgress := sync.OnceFunc(func() { blockProgress.Store(false); close(progOut) })
	k := newMemKernel()
	lp, err := New(Options{
		Config: cfg, File: file, StateDir: stateDir,
		Director: director.Options{StateDir: stateDir, Kernel: k}, IPVS: k,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Lock: func(context.Context) (func(), error) {
			if blockLock.Load() {
				lockIn <- struct{}{}
				<-lockOut // another tool holds the host lock
			}
			return func() {}, nil
		},
		Progress: func(string) {
			if blockProgress.Load() {
				progIn <- struct{}{}
				<-progOut
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, _, stop := goRun(t, lp)
	defer stop()
	defer releaseProgress() // before the loop is stopped: it may wait on them
	defer releaseLock()
	idle := func() (bool, string) {
		_, idle := lp.Heartbeat()
		return idle && counts(lp).passes > 0, "busy"
	}
	waitUntil(t, "idle after the first pass", idle)

	blockLock.Store(true)
	kicked := time.Now()
	lp.Kick()
	<-lockIn
	at, isIdle := lp.Heartbeat()
	if isIdle || at.Before(kicked) || at.After(time.Now()) {
		t.Fatalf("waiting for the host lock: heartbeat at %s after the kick, idle %v; want busy since the kick", at.Sub(kicked), isIdle)
	}
	time.Sleep(300 * time.Millisecond)
	if at2, isIdle := lp.Heartbeat(); isIdle || !at2.Equal(at) {
		t.Fatalf("still waiting for the lock: heartbeat moved %s, idle %v; want no progress", at2.Sub(at), isIdle)
	}

	blockProgress.Store(true)
	released := time.Now()
	releaseLock()
	<-progIn
	if at3, isIdle := lp.Heartbeat(); isIdle || at3.Before(released) {
		t.Errorf("the pass went on after the lock: heartbeat %s after the lock was released, idle %v; want progress after it",
			at3.Sub(released), isIdle)
	}
	releaseProgress()
	waitUntil(t, "idle after the pass", idle)
}
