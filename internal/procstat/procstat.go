package procstat

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of utime and stime in /proc/PID/stat (USER_HZ, 100
// on Linux/x86).
const userHZ = 100

// Stat is what Read takes from /proc/PID/stat.
type Stat struct {
	PPID         int
	User, System time.Duration // CPU time of all its threads so far
}

// CPU is the process's user and system time together.
func (s Stat) CPU() time.Duration { return s.User + s.System }

// Read parses /proc/PID/stat: the fields after the command's closing
// parenthesis are state, ppid, ..., utime (14th) and stime (15th) in
// proc(5).
func Read(pid int) (Stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Stat{}, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return Stat{}, fmt.Errorf("/proc/%d/stat: unexpected format %q", pid, s)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return Stat{}, fmt.Errorf("/proc/%d/stat: unexpected format %q", pid, s)
	}
	ppid, err1 := strconv.Atoi(f[1])
	ut, err2 := strconv.ParseInt(f[11], 10, 64)
	st, err3 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return Stat{}, fmt.Errorf("/proc/%d/stat: unexpected format %q", pid, s)
	}
	tick := func(n int64) time.Duration { return time.Duration(n) * time.Second / userHZ }
	return Stat{PPID: ppid, User: tick(ut), System: tick(st)}, nil
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
