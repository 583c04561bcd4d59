package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/procstat"
)

// idleWindow is how long idleDaemon watches a settled daemon: three
// reconcile passes at the default reconcile_interval (10s).
const idleWindow = 30 * time.Second

// idleDaemon measures what lvs-rs run costs while nothing happens: it
// starts the daemon on the shape's config (no health checks) in a fresh
// namespace, waits until the table is loaded and the daemon's CPU use has
// settled (under 15% over 2 s), then counts its CPU seconds and garbage
// collections (GODEBUG=gctrace=1) over idleWindow and reads its resident
// set. It prints
//
//	TABLE SHAPE daemon-idle WINDOW_S CPU_S RSS_KB
//	DAEMON SHAPE GCS SETTLE_S
func idleDaemon(t *testing.T, e *bed, bin string, s shape) {
	ns := e.fresh()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "lvs-rs.yaml")
	writeFile(t, cfg, s.yaml(-1))
	cmd := exec.Command(bin, "run", "--role", "director", "--config", cfg)
	cmd.Env = append(os.Environ(), "LVS_RS_STATE_DIR="+filepath.Join(dir, "state"), "GODEBUG=gctrace=1")
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	cmd.Stderr = stderr
	quiesce(t)
	t0 := time.Now()
	if err := ns.Start(cmd); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		(&table{t: t, s: s}).clear(ns)
	}()
	c := dial(t, ns)
	defer c.Close()
	for deadline := time.Now().Add(3 * time.Minute); ; {
		if svcs, err := c.Services(context.Background()); err == nil && len(svcs) == s.services {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lvs-rs run did not load %v within 3 minutes:\n%s", s, lines(t, stderr.Name(), ""))
		}
		time.Sleep(200 * time.Millisecond)
	}
	pid := cmd.Process.Pid
	for deadline := time.Now().Add(3 * time.Minute); ; {
		a := procCPU(t, pid)
		time.Sleep(2 * time.Second)
		if procCPU(t, pid)-a < 300*time.Millisecond {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lvs-rs run on %v still busy after 3 minutes", s)
		}
	}
	settle := time.Since(t0)
	cpu0, gc0 := procCPU(t, pid), len(lines(t, stderr.Name(), "gc "))
	time.Sleep(idleWindow)
	cpu1, gc1 := procCPU(t, pid), len(lines(t, stderr.Name(), "gc "))
	rss, err := procstat.RSS(pid)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("TABLE %s daemon-idle %.4f %.4f %d\n", s, idleWindow.Seconds(), (cpu1 - cpu0).Seconds(), rss>>10)
	fmt.Printf("DAEMON %s %d %.1f\n", s, gc1-gc0, settle.Seconds())
}

// procCPU is a process's user and system CPU time so far.
func procCPU(t *testing.T, pid int) time.Duration {
	st, err := procstat.Read(pid)
	if err != nil {
		t.Fatal(err)
	}
	return st.CPU()
}

// lines is the lines of the file at path that start with prefix.
func lines(t *testing.T, path, prefix string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}
