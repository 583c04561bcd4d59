package checkbench

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/topo"
)

// gateEnv turns the benchmark on (scripts/checkbench.sh sets it); the
// LVSRS_TEST_ prefix carries it into the VM.
const gateEnv = "LVSRS_TEST_CHECKBENCH"

// Knobs, each from LVSRS_TEST_CHECKBENCH_<NAME> when set.
type params struct {
	targets        int
	runs           int
	warmup, window time.Duration
}

const interval = time.Second // both contenders' check interval

// loadParams reads the knobs; the defaults are the benchmark of the README.
func loadParams(t *testing.T) params {
	p := params{targets: 10000, runs: 3, warmup: 10 * time.Second, window: 20 * time.Second}
	num := func(name string, dst *int) {
		if v := os.Getenv(gateEnv + "_" + name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				t.Fatalf("%s_%s=%q: want a positive number", gateEnv, name, v)
			}
			*dst = n
		}
	}
	w, wu := int(p.window/time.Second), int(p.warmup/time.Second)
	num("TARGETS", &p.targets)
	num("RUNS", &p.runs)
	num("WINDOW", &w)
	num("WARMUP", &wu)
	p.window, p.warmup = time.Duration(w)*time.Second, time.Duration(wu)*time.Second
	if p.targets > 250*250 || p.window < 5*time.Second {
		t.Fatalf("at most 62500 targets and a window of at least 5 s, got %d and %v", p.targets, p.window)
	}
	return p
}

// TestCheckBench runs lvs-rs's checker and keepalived's, one after the
// other, against the same real servers and prints the table (see doc.go).
func TestCheckBench(t *testing.T) {
	if os.Getenv(gateEnv) != "1" {
		t.Skip("the health-check benchmark runs only with " + gateEnv + "=1 (scripts/checkbench.sh)")
	}
	p := loadParams(t)
	t.Logf("parameters: %+v", p)
	if _, err := os.Stat(keepalivedBin); err != nil {
		t.Fatalf("keepalived missing from the VM image: %v", err)
	}
	raiseNoFile(t, 1<<16)
	tp := topo.New(t)
	dir, srvNS := tp.AddNS("director"), tp.AddNS("servers")
	tp.AddSegment("lan")
	tp.Connect("director", "lan", "eth0", directorCIDR)
	cidrs := make([]string, nAddrs(p.targets))
	for a := range cidrs {
		cidrs[a] = serverAddr(a).String() + "/16"
	}
	tp.Connect("servers", "lan", "eth0", cidrs...)
	for key, v := range map[string]string{"net.ipv4.ip_local_port_range": "1024 65000"} {
		if err := dir.WriteSysctl(key, v); err != nil {
			t.Fatal(err)
		}
	}
	for key, v := range map[string]string{"net.core.somaxconn": "4096", "net.ipv4.tcp_max_syn_backlog": "8192"} {
		if err := srvNS.WriteSysctl(key, v); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := serve(srvNS, nAddrs(p.targets))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.close()
	t.Logf("%d real servers listening in %s", p.targets, srvNS.Name())

	byName := map[string][]result{}
	var lags []string
	for run := range p.runs {
		order := []contender{lvsrs, keepalived}
		if run%2 == 1 { // alternate who goes first
			order[0], order[1] = order[1], order[0]
		}
		for _, c := range order {
			r, out := measure(t, c, dir, srv, p)
			byName[c.name] = append(byName[c.name], r)
			fmt.Printf("checkbench: run %d %-10s %s\n", run+1, c.name, r)
			if m := profileBlock.FindString(out); m != "" && run == 0 {
				fmt.Print(m) // LVSRS_TEST_CHECKBENCH_PROFILE: the checker's CPU profile
			}
			if m := lagLine.FindString(out); m != "" {
				lags = append(lags, m)
				fmt.Printf("checkbench: run %d %-10s %s\n", run+1, c.name, m)
			}
		}
	}
	printTable(p, byName, lags)
}

var (
	lagLine      = regexp.MustCompile(`checkbench-lag: .*`)
	profileBlock = regexp.MustCompile(`(?s)PPROF-BEGIN .*?\nPPROF-END\n`)
)

// measure runs contender c for warm-up plus window and returns what the
// servers saw within the window, the CPU it used in it, and its output.
func measure(t *testing.T, c contender, ns *topo.NS, srv *servers, p params) (result, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv.reset()
	r, err := start(ctx, c, ns, p.targets, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: started (pid %d)", c.name, r.cmd.Process.Pid)
	defer r.stop(time.Minute)
	time.Sleep(p.warmup)
	if err := r.alive(); err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	if c.window != nil {
		if err := c.window(r.cmd.Process); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
	from, cpu0, idle0, err := sample(srv, r.cmd.Process.Pid)
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	t.Logf("%s: window starts", c.name)
	time.Sleep(p.window)
	to, cpu1, idle1, err := sample(srv, r.cmd.Process.Pid)
	if err != nil {
		t.Fatalf("%s: %v\n%s", c.name, err, r.out)
	}
	if err := r.stop(time.Minute); err != nil {
		t.Errorf("%s: stopping: %v\n%s", c.name, err, r.out)
	}
	time.Sleep(3 * time.Second) // let the kernel settle before the next contender
	arr := srv.window(p.targets, from, to)
	res := schedule(arr, to-from, interval)
	used := cpu1.sub(cpu0)
	res.CPUPerSec = used.total().Seconds() / (to - from).Seconds()
	if used.total() > 0 {
		res.SysShare = used.sys.Seconds() / used.total().Seconds()
	}
	res.IdlePerSec = (idle1 - idle0).Seconds() / (to - from).Seconds()
	if res.ChecksPerSec == 0 { // a broken setup, not a slow checker: that is what the figures show
		t.Errorf("%s: the servers saw no check in %v\n%s", c.name, to-from, r.out)
	}
	return res, r.out.String()
}

// sample reads the arrivals' clock, the CPU time of pid's process tree
// and the VM's idle time.
func sample(srv *servers, pid int) (at time.Duration, cpu cpuTime, idle time.Duration, err error) {
	at = srv.now()
	if cpu, err = treeCPU(pid); err != nil {
		return 0, cpuTime{}, 0, err
	}
	idle, err = idleCPU()
	return at, cpu, idle, err
}

func (r result) String() string {
	return fmt.Sprintf("checks/s %.0f  CPU s/s %.3f (%.0f%% system)  VM idle %.2f  |interval-1s| p50 %s p99 %s  late p99 %s  missed %d",
		r.ChecksPerSec, r.CPUPerSec, 100*r.SysShare, r.IdlePerSec, ms(r.ErrP50), ms(r.ErrP99), ms(r.LateP99), r.Missed)
}

// ms formats d in milliseconds with one decimal, or "none" (no data).
func ms(d time.Duration) string {
	if d == none {
		return "none"
	}
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

// printTable prints the medians over the runs, between marker lines that
// scripts/checkbench.sh extracts.
func printTable(p params, byName map[string][]result, lags []string) {
	osr, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	fmt.Println("checkbench-table-begin")
	fmt.Printf("%d real servers, tcp check every %v (timeout 1s), %d run(s) of %v after a %v warm-up, kernel %s, 1 vCPU\n",
		p.targets, interval, p.runs, p.window, p.warmup, strings.TrimSpace(string(osr)))
	fmt.Printf("%-10s | %8s | %7s | %7s | %9s | %9s | %9s | %6s\n",
		"contender", "checks/s", "CPU s/s", "VM idle", "err p50", "err p99", "late p99", "missed")
	for _, name := range []string{lvsrs.name, keepalived.name} {
		if len(byName[name]) == 0 {
			continue
		}
		m := medianResult(byName[name])
		fmt.Printf("%-10s | %8.0f | %7.3f | %7.2f | %9s | %9s | %9s | %6d\n",
			name, m.ChecksPerSec, m.CPUPerSec, m.IdlePerSec, ms(m.ErrP50), ms(m.ErrP99), ms(m.LateP99), m.Missed)
	}
	for _, l := range lags {
		fmt.Println("lvs-rs " + l)
	}
	fmt.Println("checkbench-table-end")
}

// raiseNoFile raises this process's open-file limit (children inherit it)
// to n, or as far as the hard limit allows.
func raiseNoFile(t *testing.T, n uint64) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	want := unix.Rlimit{Cur: max(n, lim.Cur), Max: max(n, lim.Max)}
	if unix.Setrlimit(unix.RLIMIT_NOFILE, &want) != nil {
		want = unix.Rlimit{Cur: lim.Max, Max: lim.Max}
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &want); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("open files: %d", want.Cur)
}
