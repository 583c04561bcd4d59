package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/nstest"
	"github.com/lvs-rs/lvs-rs/pkg/state"
)

// TestStatusDoesNotWaitForStart holds the exclusive lock as a running
// start would and checks that status answers at once, accurately (exit 0
// and the VIP while applied, exit 1 once drifted), instead of waiting 30 s
// and exiting 4.
func TestStatusDoesNotWaitForStart(t *testing.T) {
	ns := nstest.New(t)
	dir := t.TempDir()
	stateFlag := "--state-dir=" + dir
	if code, out, errs := inNS(t, ns, "start", "--role", "realserver", "--mode", "dr", "--vip", "198.51.100.9", stateFlag); code != 0 {
		t.Fatalf("start: exit %d, %q %q", code, out, errs)
	}
	unlock, err := state.Store{Dir: dir}.Lock(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	code, out, errs := inNS(t, ns, "status", "--role", "realserver", stateFlag)
	if code != exitOK || !strings.Contains(out, "198.51.100.9") || !strings.Contains(errs, "another lvs-rs command is changing this host") {
		t.Fatalf("status under the lock: exit %d, stdout %q, stderr %q; want 0, the VIP, a note", code, out, errs)
	}
}

// TestRealServerReadsConfigOnce serves the config through a FIFO that
// yields its content once: a second read of the file would block (and is
// then unblocked with an empty file, failing the test).
func TestRealServerReadsConfigOnce(t *testing.T) {
	ns := nstest.New(t)
	fifo := filepath.Join(t.TempDir(), "lvs-rs.yaml")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	body := "virtual_servers:\n  - {vip: 198.51.100.10, port: 80, real_servers: [{address: 198.51.100.20}]}\n"
	go func() {
		if f, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			f.WriteString(body)
			f.Close()
		}
	}()
	type result struct {
		code      int
		out, errs string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errs := inNS(t, ns, "start", "--role", "realserver", "--config", fifo, "--address", "198.51.100.20", "--state-dir", t.TempDir())
		done <- result{code, out, errs}
	}()
	select {
	case r := <-done:
		if r.code != exitOK {
			t.Fatalf("start: exit %d, %q %q", r.code, r.out, r.errs)
		}
	case <-time.After(20 * time.Second):
		// Unblock the second read, then fail.
		if f, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			f.Close()
		}
		<-done
		t.Fatal("start read the config file a second time")
	}
}

// TestCorruptRecordOneLine: a damaged record makes status and stop fail
// with one line that names the file and what to do, not a panic.
func TestCorruptRecordOneLine(t *testing.T) {
	ns := nstest.New(t)
	dir := t.TempDir()
	for _, role := range []string{"director", "realserver"} {
		rec := filepath.Join(dir, role+".json")
		if err := os.WriteFile(rec, []byte("{\"version\": 1, \"sysctls\": [tru"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"status", "--role", role}, {"stop", "--role", role}} {
			code, _, errs := inNS(t, ns, append(args, "--state-dir", dir)...)
			if code == exitOK || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, rec) || !strings.Contains(errs, "remove it to start over") {
				t.Errorf("%v with a damaged record: exit %d, stderr %q; want a failure, one line naming %s", args, code, errs, rec)
			}
		}
	}
}
