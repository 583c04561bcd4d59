package checkbench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/procstat"
)

// userHZ is the unit of the times in /proc/stat (USER_HZ, 100 on
// Linux/x86).
const userHZ = 100

// cpuTime is user and system CPU time.
type cpuTime struct{ user, sys time.Duration }

func (c cpuTime) total() time.Duration { return c.user + c.sys }

func (c cpuTime) sub(o cpuTime) cpuTime { return cpuTime{c.user - o.user, c.sys - o.sys} }

// treeCPU is the CPU time used so far by process root and every live
// descendant of it (keepalived's checker runs in a child).
func treeCPU(root int) (cpuTime, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return cpuTime{}, err
	}
	stats := map[int]procstat.Stat{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := procstat.Read(pid); err == nil {
			stats[pid] = st
		}
	}
	if _, ok := stats[root]; !ok {
		return cpuTime{}, fmt.Errorf("process %d is gone", root)
	}
	var total cpuTime
	for pid, st := range stats {
		for p := pid; p > 1; p = stats[p].PPID {
			if p == root {
				total.user += st.User
				total.sys += st.System
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
