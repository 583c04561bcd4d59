package metrics

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/procstat"
)

// memStat is one go_memstats_* gauge or counter read from
// runtime.MemStats.
type memStat struct {
	name, typ, help string
	v               func(*runtime.MemStats) float64
}

var memStats = []memStat{
	{"alloc_bytes", typeGauge, "Bytes of allocated heap objects.", func(m *runtime.MemStats) float64 { return float64(m.Alloc) }},
	{"alloc_bytes_total", typeCounter, "Cumulative bytes allocated for heap objects.", func(m *runtime.MemStats) float64 { return float64(m.TotalAlloc) }},
	{"buck_hash_sys_bytes", typeGauge, "Bytes of memory in profiling bucket hash tables.", func(m *runtime.MemStats) float64 { return float64(m.BuckHashSys) }},
	{"frees_total", typeCounter, "Cumulative count of heap objects freed.", func(m *runtime.MemStats) float64 { return float64(m.Frees) }},
	{"gc_sys_bytes", typeGauge, "Bytes of memory in garbage collection metadata.", func(m *runtime.MemStats) float64 { return float64(m.GCSys) }},
	{"heap_alloc_bytes", typeGauge, "Bytes of allocated heap objects.", func(m *runtime.MemStats) float64 { return float64(m.HeapAlloc) }},
	{"heap_idle_bytes", typeGauge, "Bytes in idle (unused) spans.", func(m *runtime.MemStats) float64 { return float64(m.HeapIdle) }},
	{"heap_inuse_bytes", typeGauge, "Bytes in in-use spans.", func(m *runtime.MemStats) float64 { return float64(m.HeapInuse) }},
	{"heap_objects", typeGauge, "Number of allocated heap objects.", func(m *runtime.MemStats) float64 { return float64(m.HeapObjects) }},
	{"heap_released_bytes", typeGauge, "Bytes of physical memory returned to the OS.", func(m *runtime.MemStats) float64 { return float64(m.HeapReleased) }},
	{"heap_sys_bytes", typeGauge, "Bytes of heap memory obtained from the OS.", func(m *runtime.MemStats) float64 { return float64(m.HeapSys) }},
	{"last_gc_time_seconds", typeGauge, "Seconds since the epoch of the last garbage collection.", func(m *runtime.MemStats) float64 { return float64(m.LastGC) / 1e9 }},
	{"mallocs_total", typeCounter, "Cumulative count of heap objects allocated.", func(m *runtime.MemStats) float64 { return float64(m.Mallocs) }},
	{"mcache_inuse_bytes", typeGauge, "Bytes of allocated mcache structures.", func(m *runtime.MemStats) float64 { return float64(m.MCacheInuse) }},
	{"mcache_sys_bytes", typeGauge, "Bytes of memory obtained from the OS for mcache structures.", func(m *runtime.MemStats) float64 { return float64(m.MCacheSys) }},
	{"mspan_inuse_bytes", typeGauge, "Bytes of allocated mspan structures.", func(m *runtime.MemStats) float64 { return float64(m.MSpanInuse) }},
	{"mspan_sys_bytes", typeGauge, "Bytes of memory obtained from the OS for mspan structures.", func(m *runtime.MemStats) float64 { return float64(m.MSpanSys) }},
	{"next_gc_bytes", typeGauge, "Target heap size of the next garbage collection.", func(m *runtime.MemStats) float64 { return float64(m.NextGC) }},
	{"other_sys_bytes", typeGauge, "Bytes of memory in miscellaneous off-heap runtime allocations.", func(m *runtime.MemStats) float64 { return float64(m.OtherSys) }},
	{"stack_inuse_bytes", typeGauge, "Bytes in stack spans.", func(m *runtime.MemStats) float64 { return float64(m.StackInuse) }},
	{"stack_sys_bytes", typeGauge, "Bytes of stack memory obtained from the OS.", func(m *runtime.MemStats) float64 { return float64(m.StackSys) }},
	{"sys_bytes", typeGauge, "Total bytes of memory obtained from the OS.", func(m *runtime.MemStats) float64 { return float64(m.Sys) }},
}

// writeGo writes the Go runtime's go_* metrics, in name order.
func writeGo(b *strings.Builder) {
	var gc debug.GCStats
	gc.PauseQuantiles = make([]time.Duration, 5)
	debug.ReadGCStats(&gc)
	header(b, "go_gc_duration_seconds", "A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.", typeSummary)
	for i, q := range []string{"0", "0.25", "0.5", "0.75", "1"} {
		sample(b, "go_gc_duration_seconds", nil, nil, `quantile="`+q+`"`, gc.PauseQuantiles[i].Seconds())
	}
	sample(b, "go_gc_duration_seconds_sum", nil, nil, "", gc.PauseTotal.Seconds())
	sample(b, "go_gc_duration_seconds_count", nil, nil, "", float64(gc.NumGC))
	gauge(b, "go_gc_gogc_percent", "Heap size target percentage configured by the user (GOGC) or the binary.", gogc())
	gauge(b, "go_gc_gomemlimit_bytes", "Go runtime memory limit configured by the user (GOMEMLIMIT or the binary), in bytes.", float64(debug.SetMemoryLimit(-1)))
	gauge(b, "go_goroutines", "Number of goroutines that currently exist.", float64(runtime.NumGoroutine()))
	header(b, "go_info", "Information about the Go environment.", typeGauge)
	sample(b, "go_info", []string{"version"}, []string{runtime.Version()}, "", 1)
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	for _, s := range memStats {
		name := "go_memstats_" + s.name
		header(b, name, s.help, s.typ)
		sample(b, name, nil, nil, "", s.v(&m))
	}
	gauge(b, "go_sched_gomaxprocs_threads", "The current runtime.GOMAXPROCS setting.", float64(runtime.GOMAXPROCS(0)))
	threads, _ := runtime.ThreadCreateProfile(nil)
	gauge(b, "go_threads", "Number of OS threads created.", float64(threads))
}

// gauge writes a gauge family of one unlabelled sample.
func gauge(b *strings.Builder, name, help string, v float64) {
	header(b, name, help, typeGauge)
	sample(b, name, nil, nil, "", v)
}

// processCollector writes the process's process_* metrics from /proc.
type processCollector struct {
	proc string // the /proc directory of the process: /proc/self
}

func newProcessCollector() processCollector { return processCollector{proc: "/proc/self"} }

// write writes the process_* metrics, in name order; those /proc cannot
// give are left out.
func (p processCollector) write(b *strings.Builder) {
	st, stErr := procstat.Read(os.Getpid())
	if stErr == nil {
		header(b, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", typeCounter)
		sample(b, "process_cpu_seconds_total", nil, nil, "", st.CPU().Seconds())
	}
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil {
		gauge(b, "process_max_fds", "Maximum number of open file descriptors.", float64(lim.Cur))
	}
	if fds, err := os.ReadDir(p.proc + "/fd"); err == nil {
		gauge(b, "process_open_fds", "Number of open file descriptors.", float64(len(fds)))
	}
	if stErr == nil {
		gauge(b, "process_resident_memory_bytes", "Resident memory size in bytes.", float64(st.RSSPages*uint64(os.Getpagesize())))
		if boot, err := bootTime(); err == nil {
			gauge(b, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.", float64(boot)+st.Start.Seconds())
		}
		gauge(b, "process_virtual_memory_bytes", "Virtual memory size in bytes.", float64(st.VSize))
	}
	if unix.Getrlimit(unix.RLIMIT_AS, &lim) == nil {
		gauge(b, "process_virtual_memory_max_bytes", "Maximum amount of virtual memory available in bytes.", float64(lim.Cur))
	}
}

// bootTime returns the btime line of /proc/stat: the boot time in
// seconds since the epoch.
func bootTime() (uint64, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, errBadStat
}

// gogc returns the collector's growth target as the runtime has it
// (GOGC, or what the binary set): -1 for off, read once (processGC).
func gogc() float64 { return processGC.get() }

// processGC is this process's collector target, read at the first scrape.
var processGC gcTarget

// gcTarget reads the collector's growth target once. The runtime's only
// getter is runtime/metrics, which lvs-rs does not link (its
// initialisation costs every command); SetGCPercent returns the value it
// replaces. So get sets one and puts the old back at once, under a
// sync.Once: concurrent scrapes never interleave those writes, and none
// can leave a wrong value in place. Once is enough: lvs-rs sets its
// target at start, before serving metrics, and never again.
type gcTarget struct {
	once    sync.Once
	percent float64
}

// get returns the target, read on the first call.
func (g *gcTarget) get() float64 {
	g.once.Do(func() {
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		g.percent = float64(p)
	})
	return g.percent
}
