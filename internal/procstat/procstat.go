package procstat

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the times in /proc/PID/stat (USER_HZ, 100 on
// every Linux architecture lvs-rs builds for).
const userHZ = 100

// Stat is what Read takes from /proc/PID/stat.
type Stat struct {
	PPID         int
	User, System time.Duration // CPU time of all its threads so far
	Start        time.Duration // when it started, after boot
	VSize        uint64        // virtual memory size, bytes
	RSSPages     uint64        // resident set, pages
}

// CPU is the process's user and system time together.
func (s Stat) CPU() time.Duration { return s.User + s.System }

// Read parses /proc/PID/stat. The fields after the command name (which
// may hold spaces and parentheses, so its last ')' ends it) start at
// field 3, state, as proc(5) numbers them.
func Read(pid int) (Stat, error) {
	path := "/proc/" + strconv.Itoa(pid) + "/stat"
	b, err := os.ReadFile(path)
	if err != nil {
		return Stat{}, err
	}
	bad := fmt.Errorf("%s: unexpected format %q", path, b)
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return Stat{}, bad
	}
	f := strings.Fields(s[i+1:])
	var ppid, ut, st, start, vsize, rss uint64
	for _, x := range []struct {
		field int // as proc(5) numbers them
		to    *uint64
	}{{4, &ppid}, {14, &ut}, {15, &st}, {22, &start}, {23, &vsize}, {24, &rss}} {
		if x.field-3 >= len(f) {
			return Stat{}, bad
		}
		v, err := strconv.ParseUint(f[x.field-3], 10, 64)
		if err != nil {
			return Stat{}, bad
		}
		*x.to = v
	}
	tick := func(n uint64) time.Duration { return time.Duration(n) * time.Second / userHZ }
	return Stat{PPID: int(ppid), User: tick(ut), System: tick(st), Start: tick(start), VSize: vsize, RSSPages: rss}, nil
}

// RSS is the process's resident set in bytes (VmRSS in
// /proc/PID/status).
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/%d/status: %q", pid, l)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no VmRSS", pid)
}
