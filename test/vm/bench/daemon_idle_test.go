package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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
	var stderr lockedBuffer
	cmd.Stderr = &stderr
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
		if time.Now().After(deadline) || cmd.ProcessState != nil {
			t.Fatalf("lvs-rs run did not load %v within 3 minutes:\n%s", s, stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	pid := cmd.Process.Pid
	for deadline := time.Now().Add(3 * time.Minute); ; {
		a := procCPU(t, pid)
		time.Sleep(2 * time.Second)
		if procCPU(t, pid)-a < 0.3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lvs-rs run on %v still busy after 3 minutes", s)
		}
	}
	settle := time.Since(t0)
	cpu0, gc0 := procCPU(t, pid), stderr.count("gc ")
	time.Sleep(idleWindow)
	cpu1, gc1 := procCPU(t, pid), stderr.count("gc ")
	fmt.Printf("TABLE %s daemon-idle %.4f %.4f %d\n", s, idleWindow.Seconds(), cpu1-cpu0, procRSSKB(t, pid))
	fmt.Printf("DAEMON %s %d %.1f\n", s, gc1-gc0, settle.Seconds())
}

// procCPU is a process's user and system CPU seconds so far.
func procCPU(t *testing.T, pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	s, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("/proc/%d/stat: %q", pid, b)
	}
	return float64(u+s) / userHZ
}

// userHZ is the kernel's USER_HZ, the unit of /proc/PID/stat's times.
const userHZ = 100

// procRSSKB is a process's resident set in kB.
func procRSSKB(t *testing.T, pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS: %q", l)
			}
			return n
		}
	}
	t.Fatalf("/proc/%d/status has no VmRSS", pid)
	return 0
}

// lockedBuffer is a bytes.Buffer the command's stderr copier writes while
// the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// count is how many lines start with prefix.
func (l *lockedBuffer) count(prefix string) int {
	n := 0
	for _, line := range strings.Split(l.String(), "\n") {
		if strings.HasPrefix(line, prefix) {
			n++
		}
	}
	return n
}
