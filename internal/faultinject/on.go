//go:build faultinject

package faultinject

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Enabled reports whether this binary was built with the faultinject tag.
const Enabled = true

var (
	mu         sync.Mutex
	count      int
	loaded     bool
	trace      bool
	crashAfter int
	crashFile  string
	failAt     int
	failErrno  syscall.Errno = unix.EIO
)

func load() {
	if loaded {
		return
	}
	loaded = true
	trace = os.Getenv("LVS_RS_FAULT_TRACE") == "1"
	crashAfter, _ = strconv.Atoi(os.Getenv("LVS_RS_CRASH_AFTER"))
	crashFile = os.Getenv("LVS_RS_CRASH_AFTER_FILE")
	failAt, _ = strconv.Atoi(os.Getenv("LVS_RS_FAIL_AT"))
	if name := os.Getenv("LVS_RS_FAIL_ERRNO"); name != "" {
		failErrno = errnoNamed(name)
	}
}

// Write performs one kernel write described by what, counting it, and
// fails or crashes at the configured count.
func Write(what string, write func() error) error {
	mu.Lock()
	load()
	count++
	n := count
	mu.Unlock()
	if trace {
		fmt.Fprintf(os.Stderr, "faultinject: write %d: %s\n", n, what)
	}
	if n == failAt {
		return fmt.Errorf("faultinject: write %d (%s): %w", n, what, failErrno)
	}
	crash := n == crashAt()
	err := write()
	if crash {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	return err
}

// crashAt is the write after which the process kills itself: the number
// in LVS_RS_CRASH_AFTER_FILE, read again before each write, when that is
// set (none while the file is absent or holds no number), else
// LVS_RS_CRASH_AFTER.
func crashAt() int {
	if crashFile == "" {
		return crashAfter
	}
	b, err := os.ReadFile(crashFile)
	if err != nil {
		return 0
	}
	k, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return k
}

// errnoNamed parses "EINVAL" or "22"; anything else is EIO.
func errnoNamed(name string) syscall.Errno {
	if n, err := strconv.Atoi(name); err == nil {
		return syscall.Errno(n)
	}
	for e := syscall.Errno(1); e < 4096; e++ {
		if unix.ErrnoName(e) == name {
			return e
		}
	}
	return unix.EIO
}
