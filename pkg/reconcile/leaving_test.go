package reconcile

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/control"
	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/state"
)

// TestLeavingSurvivesRestart: a real server removed from the file, busy,
// drains; lvs-rs run stops and starts again (an upgrade, a crash): the
// new daemon keeps draining it (weight 0, not deleted), deletes it once
// idle, and deletes a busy one whose deadline passed while it was down.
func TestLeavingSurvivesRestart(t *testing.T) {
	l2, l3 := listen(t, "127.0.0.2:0"), listen(t, "127.0.0.3:0")
	p2, p3 := portOfListener(l2), portOfListener(l3)
	dir := t.TempDir()
	file, stateDir := filepath.Join(dir, "lvs-rs.yaml"), filepath.Join(dir, "state")
	writeConfig(t, file, loopConfig(p2, p3))
	k := newMemKernel()

	a, _, stopA := runLoopOn(t, file, stateDir, k)
	k.setConns(80, "127.0.0.3", 2)
	writeConfig(t, file, loopConfig(p2, 0))
	a.Reload()
	waitWeights(t, k, map[string]int{"127.0.0.2": 2, "127.0.0.3": 0}) // draining, busy
	stopA()

	// B's first pass (done when it is ready) keeps it draining.
	b, ctx, stopB := runLoopOn(t, file, stateDir, k)
	if got := k.weights(80); len(got) != 2 || got["127.0.0.3"] != 0 {
		t.Fatalf("after the restart the draining real server is not kept at weight 0: %v", got)
	}
	if st, _ := b.Status(ctx); row(st, "127.0.0.3").State != control.StateDraining {
		t.Fatalf("status after the restart: %+v", st.RealServers)
	}
	k.setConns(80, "127.0.0.3", 0)
	b.Kick()
	waitWeights(t, k, map[string]int{"127.0.0.2": 2}) // idle: deleted
	stopB()
	if got := readLeaving(t, stateDir); len(got) != 0 {
		t.Fatalf("leaving.json still lists %v after it was deleted", got)
	}

	// Busy again, and its drain_timeout (1h) passed while lvs-rs was down:
	// the first pass deletes it.
	writeConfig(t, file, loopConfig(p2, p3))
	c, _, stopC := runLoopOn(t, file, stateDir, k)
	waitWeights(t, k, map[string]int{"127.0.0.2": 2, "127.0.0.3": 3})
	k.setConns(80, "127.0.0.3", 2)
	writeConfig(t, file, loopConfig(p2, 0))
	c.Reload()
	waitWeights(t, k, map[string]int{"127.0.0.2": 2, "127.0.0.3": 0})
	stopC()
	ls := readLeaving(t, stateDir)
	if len(ls) != 1 || ls[0].DrainTimeout != time.Hour {
		t.Fatalf("leaving.json: %+v, want 127.0.0.3 with drain_timeout 1h", ls)
	}
	ls[0].Since = ls[0].Since.Add(-2 * time.Hour)
	if err := (state.Store{Dir: stateDir}).Save(leavingRole, leavingRecord{Version: leavingVersion, Leaving: ls}); err != nil {
		t.Fatal(err)
	}
	runLoopOn(t, file, stateDir, k)
	if got := k.weights(80); len(got) != 1 {
		t.Fatalf("a real server past its drain deadline is still there after the restart: %v", got)
	}
}

// readLeaving reads leaving.json in stateDir.
func readLeaving(t *testing.T, stateDir string) []Leaving {
	t.Helper()
	var rec leavingRecord
	if _, err := (state.Store{Dir: stateDir}).Load(leavingRole, &rec); err != nil {
		t.Fatal(err)
	}
	return rec.Leaving
}

// TestLeavingDamaged: a damaged leaving.json stops New with an error that
// names it, rather than forgetting what was draining.
func TestLeavingDamaged(t *testing.T) {
	dir := t.TempDir()
	file, stateDir := filepath.Join(dir, "lvs-rs.yaml"), filepath.Join(dir, "state")
	writeConfig(t, file, loopConfig(1, 0))
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{`{"version":1,"leaving":[`, `{"version":9,"leaving":[]}`} {
		path := (state.Store{Dir: stateDir}).Path(leavingRole)
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := New(Options{Config: cfg, File: file, StateDir: stateDir, Director: director.Options{StateDir: stateDir},
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if !errors.Is(err, state.ErrCorrupt) {
			t.Errorf("New with leaving.json %q: %v, want an error wrapping state.ErrCorrupt", bad, err)
		} else {
			t.Logf("%s", err)
		}
	}
}
