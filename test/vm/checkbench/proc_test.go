package checkbench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of utime and stime in /proc/PID/stat (USER_HZ, 100
// on Linux/x86).
const userHZ = 100

// procStat is what treeCPU needs of one /proc/PID/stat.
type procStat struct {
	ppid int
	cpu  cpuTime // of all its threads
}

// cpuTime is user and system CPU time.
type cpuTime struct{ user, sys time.Duration }

func (c cpuTime) total() time.Duration { return c.user + c.sys }

func (c cpuTime) sub(o cpuTime) cpuTime { return cpuTime{c.user - o.user, c.sys - o.sys} }

// readStat parses /proc/PID/stat (fields after the command's closing
// parenthesis: state, ppid, ..., utime at 14, stime at 15 in proc(5)).
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procStat{}, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+1:])
	if i < 0 || len(f) < 13 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: unexpected format %q", pid, s)
	}
	ppid, err1 := strconv.Atoi(f[1])
	ut, err2 := strconv.ParseInt(f[11], 10, 64)
	st, err3 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return procStat{}, fmt.Errorf("/proc/%d/stat: unexpected format %q", pid, s)
	}
	tick := func(n int64) time.Duration { return time.Duration(n) * time.Second / userHZ }
	return procStat{ppid: ppid, cpu: cpuTime{tick(ut), tick(st)}}, nil
}

// treeCPU is the CPU time used so far by process root and every live
// descendant of it (keepalived's checker runs in a child).
func treeCPU(root int) (cpuTime, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return cpuTime{}, err
	}
	stats := map[int]procStat{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(pid); err == nil {
			stats[pid] = st
		}
	}
	if _, ok := stats[root]; !ok {
		return cpuTime{}, fmt.Errorf("process %d is gone", root)
	}
	var total cpuTime
	for pid, st := range stats {
		for p := pid; p > 1; p = stats[p].ppid {
			if p == root {
				total.user += st.cpu.user
				total.sys += st.cpu.sys
				break
			}
			if _, ok := stats[p]; !ok {
				break
			}
		}
	}
	return total, nil
}

// idleCPU is the time all CPUs spent idle since boot (idle + iowait in the
// first line of /proc/stat).
func idleCPU() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var ticks int64
	for _, v := range f[4:6] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}
