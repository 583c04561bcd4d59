package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/phase"
	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/internal/vmtest"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// Environment of TestTable (passed into the VM by vmtest: LVSRS_TEST_*).
const (
	envTable   = "LVSRS_TEST_BENCH_TABLE"   // 1: run TestTable
	envRounds  = "LVSRS_TEST_BENCH_ROUNDS"  // rounds (default 3)
	envShapes  = "LVSRS_TEST_BENCH_SHAPES"  // e.g. "100x100,1000x10" (the default); "realserver": that section alone
	envProfile = "LVSRS_TEST_BENCH_PROFILE" // 1 (or a rate in Hz): CPU profiles of the first round's lvs-rs runs, printed base64
)

// tableShapes are the shapes of TestTable: 10,000 real servers in 100
// services, and 1,000 services of 10 (11,000 objects).
var tableShapes = []shape{{100, 100}, {1000, 10}}

// TestTable measures, per shape and round, each way of loading, reading
// and removing the table, in fresh namespaces, and prints one line per
// measurement for scripts/bench.sh:
//
//	TABLE SHAPE WHAT WALL_S CPU_S MAXRSS_KB
//
// WHAT is floor, floor-noack, pipelined, start, noop, edit, status, stop,
// floor-delete, floor-status, dumps, floor-stop, ipvsadm-R, ipvsadm-Ln, keepalived, and for the real
// server (SHAPE "realserver") version (lvs-rs version: starting the
// binary), rs-start, rs-stop, sh-start, sh-stop (the seed scripts' lines),
// and for a director binding many VIPs (SHAPE "vips20": 20 VIPs, one
// service of one real server each) start and stop; and once per shape,
// after the rounds, daemon-idle (idleDaemon: lvs-rs run holding the table
// with nothing to do).
// CPU and RSS are the child process's (0 for in-process methods). It runs
// only with LVSRS_TEST_BENCH_TABLE=1: the default go test ./... skips it.
func TestTable(t *testing.T) {
	if os.Getenv(envTable) != "1" {
		t.Skip("set " + envTable + "=1 (scripts/bench.sh does)")
	}
	bin := vmtest.RequireLvsRs(t)
	rounds, shapes := roundsFromEnv(t, "3"), shapesFromEnv(t)
	e := newBed(t)
	for r := range rounds {
		for _, s := range shapes {
			tb := &table{t: t, e: e, s: s, bin: bin, profile: r == 0 && os.Getenv(envProfile) != ""}
			tb.round()
		}
		realServerRound(t, e, bin)
		vipsRound(t, e, bin)
	}
	for _, s := range shapes {
		idleDaemon(t, e, bin, s)
	}
}

// table is one round of one shape.
type table struct {
	t       *testing.T
	e       *bed
	s       shape
	bin     string
	profile bool
}

// measurement is one timed run.
type measurement struct {
	wall, cpu time.Duration
	rssKB     int64
	phases    []phase.Timing // envPhases: the run's own phases
}

func (m measurement) print(shape, what string) {
	fmt.Printf("TABLE %s %s %.4f %.4f %d\n", shape, what, m.wall.Seconds(), m.cpu.Seconds(), m.rssKB)
	printPhases(shape, what, m.wall, m.phases)
}

func (tb *table) report(what string, m measurement) { m.print(tb.s.String(), what) }

// round measures everything once for the shape.
func (tb *table) round() {
	t, s := tb.t, tb.s
	for _, ack := range []bool{true, false} {
		ns := tb.e.fresh()
		raw := openRaw(t, ns)
		cs := encodeChunks(t, s, raw.family, ack)
		m := timed(t, func() { raw.sendChunks(t, cs) })
		tb.report(map[bool]string{true: "floor", false: "floor-noack"}[ack], m)
		tb.clear(ns)
	}
	{
		ns := tb.e.fresh()
		c := dial(t, ns)
		ops := s.ops()
		tb.report("pipelined", timed(t, func() { applyAll(t, c, ops) }))
		// The floor of stop's writes: the same service deletions,
		// pre-encoded, on the table just loaded.
		raw := openRaw(t, ns)
		del := encodeDeletes(t, s, raw.family)
		tb.report("floor-delete", timed(t, func() { raw.sendChunks(t, del) }))
		// The floor of status and stop: the reads that ownership needs
		// (the services, and each one's destinations, since a real
		// server someone else added keeps its service), and for stop the
		// deletions, on the table loaded again.
		applyAll(t, c, ops)
		reads := encodeReads(t, s, raw.family)
		var entries int
		tb.report("floor-status", timed(t, func() { entries = raw.readAll(t, reads) }))
		if want := s.services * (1 + s.perService); entries != want {
			t.Fatalf("floor-status read %d entries, want %d", entries, want)
		}
		// The client's own read path: the same dumps by lvs-rs's IPVS
		// client in process, decoded (no counters, as a converge and stop
		// read them). Its ratio to floor-status is the client's overhead.
		tb.report("dumps", timed(t, func() { entries = dumpAll(t, c) }))
		if want := s.services * (1 + s.perService); entries != want {
			t.Fatalf("dumps read %d entries, want %d", entries, want)
		}
		tb.report("floor-stop", timed(t, func() { raw.readAll(t, reads); raw.sendChunks(t, del) }))
		c.Close()
	}
	tb.lvsrs()
	if path := ipvsadmPath(); path != "" {
		ns := tb.e.fresh()
		restore := s.restore()
		quiesce(t)
		cmd := exec.Command(path, "-R")
		cmd.Stdin = strings.NewReader(restore)
		tb.report("ipvsadm-R", tb.run(ns, cmd, ""))
		tb.clear(ns)
	}
	if path, err := exec.LookPath("keepalived"); err == nil {
		tb.keepalived(path)
	} else {
		t.Logf("no keepalived in the VM: skipped (scripts/vm-prepare.sh adds it)")
	}
}

// lvsrs measures the lvs-rs commands on one namespace: start, no-op start,
// one-weight edit, status, ipvsadm -Ln on the same table, stop.
func (tb *table) lvsrs() {
	tb.directorCommands(tb.report, func(ns *topo.NS) {
		if path := ipvsadmPath(); path != "" {
			quiesce(tb.t)
			tb.report("ipvsadm-Ln", tb.run(ns, exec.Command(path, "-Ln"), ""))
		}
	})
}

// directorCommands runs tb.bin's director commands on a fresh namespace,
// each as what directorSteps names it: a start on an empty table (then
// the table is checked), a no-op start, a start after one weight changed
// in the file (then that weight is checked), status and stop (then the
// table must be empty). It hands each command's measurement to took, and
// calls beforeStop, when not nil, on the table status read.
func (tb *table) directorCommands(took func(what string, m measurement), beforeStop func(ns *topo.NS)) {
	t, s := tb.t, tb.s
	ns := tb.e.fresh()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "lvs-rs.yaml")
	writeFile(t, cfg, s.yaml(-1))
	// status and stop work from the state record, as without a config
	// file in the default place; start names the file.
	env := []string{"LVS_RS_STATE_DIR=" + filepath.Join(dir, "state")}
	lvs := func(what string, args ...string) {
		quiesce(t)
		cmd := exec.Command(tb.bin, args...)
		cmd.Env = append(os.Environ(), env...)
		took(what, tb.run(ns, cmd, what))
	}
	lvs("start", "start", "--role", "director", "--config", cfg)
	c := dial(t, ns)
	defer c.Close()
	checkTable(t, c, s)
	lvs("noop", "start", "--role", "director", "--config", cfg)
	writeFile(t, cfg, s.yaml(s.services/2))
	lvs("edit", "start", "--role", "director", "--config", cfg)
	if ds, err := c.Destinations(context.Background(), service(s.services/2)); err != nil || len(ds) == 0 || weightOf(ds, destination(s.services/2, 0)) != 2 {
		t.Fatalf("%s: after the edit: %v %v", tb.bin, ds, err)
	}
	lvs("status", "status", "--role", "director")
	if beforeStop != nil {
		beforeStop(ns)
	}
	lvs("stop", "stop", "--role", "director")
	if svcs, err := c.Services(context.Background()); err != nil || len(svcs) != 0 {
		t.Fatalf("%s: after stop: %d services, %v", tb.bin, len(svcs), err)
	}
}

// directorSteps are the names directorCommands gives its commands, in
// the order it runs them.
var directorSteps = []string{"start", "noop", "edit", "status", "stop"}

// roundsFromEnv is LVSRS_TEST_BENCH_ROUNDS, def when unset.
func roundsFromEnv(t *testing.T, def string) int {
	rounds, err := strconv.Atoi(cmpOr(os.Getenv(envRounds), def))
	if err != nil || rounds < 1 {
		t.Fatalf("%s=%q", envRounds, os.Getenv(envRounds))
	}
	return rounds
}

// shapesFromEnv are the shapes LVSRS_TEST_BENCH_SHAPES names
// (tableShapes when unset; "realserver" names none: that section runs
// every round anyway).
func shapesFromEnv(t *testing.T) []shape {
	v := os.Getenv(envShapes)
	if v == "" {
		return tableShapes
	}
	var shapes []shape
	for _, f := range strings.Split(v, ",") {
		if f == "realserver" {
			continue
		}
		var s shape
		if _, err := fmt.Sscanf(f, "%dx%d", &s.services, &s.perService); err != nil {
			t.Fatalf("%s: %q: %v", envShapes, f, err)
		}
		shapes = append(shapes, s)
	}
	return shapes
}

// medianMS is the median of d, in milliseconds.
func medianMS(d []time.Duration) float64 {
	d = slices.Sorted(slices.Values(d))
	return float64(d[len(d)/2]) / 1e6
}

func weightOf(ds []ipvs.DestinationExtended, d ipvs.Destination) uint32 {
	for _, x := range ds {
		if x.Key() == d.Key() {
			return x.Weight
		}
	}
	return 0
}

// keepalived loads the table with keepalived (no checkers: every real
// server is up) and measures until the kernel holds all of it.
func (tb *table) keepalived(path string) {
	t, s := tb.t, tb.s
	ns := tb.e.fresh()
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	writeFile(t, conf, s.keepalivedConf())
	c := dial(t, ns)
	defer c.Close()
	quiesce(t)
	cmd := exec.Command(path, "--dont-fork", "--check", "--use-file", conf,
		"--pid", filepath.Join(dir, "k.pid"), "--checkers_pid", filepath.Join(dir, "c.pid"), "--vrrp_pid", filepath.Join(dir, "v.pid"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	if err := ns.Start(cmd); err != nil {
		t.Fatalf("keepalived: %v", err)
	}
	last := service(s.services - 1)
	deadline := t0.Add(10 * time.Minute)
	for {
		ds, err := c.Destinations(context.Background(), last)
		if err == nil && len(ds) == s.perService {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("keepalived did not load the table in 10 minutes:\n%s", out.Bytes())
		}
		time.Sleep(10 * time.Millisecond)
	}
	wall := time.Since(t0)
	checkTable(t, c, s)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Logf("keepalived: %v", err)
	}
	m := measurement{wall: wall}
	if st := cmd.ProcessState; st != nil {
		m.cpu = st.UserTime() + st.SystemTime()
		if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
			m.rssKB = ru.Maxrss
		}
	}
	tb.report("keepalived", m)
	tb.clear(ns)
}

// run runs cmd in ns (stdout to /dev/null, like a user's redirect) and
// measures it. name is the lvs-rs command's ("" for other commands): with
// profiling on, lvs-rs writes a CPU profile that is printed base64
// between PPROF-BEGIN and PPROF-END lines, and with envPhases its phases.
func (tb *table) run(ns *topo.NS, cmd *exec.Cmd, name string) measurement {
	t := tb.t
	var prof string
	if tb.profile && name != "" {
		prof = filepath.Join(t.TempDir(), "cpu.pprof")
		cmd.Env = append(cmd.Env, "LVS_RS_CPUPROFILE="+prof)
		if hz := os.Getenv(envProfile); hz != "1" {
			cmd.Env = append(cmd.Env, "LVS_RS_CPUPROFILE_HZ="+hz)
		}
	}
	var phases string
	if name != "" {
		phases = askPhases(t, cmd)
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = null, &stderr
	rss := peakRSS(t, cmd)
	t0 := time.Now()
	if err := ns.Start(cmd); err != nil {
		t.Fatalf("%v: %v", cmd.Args, err)
	}
	err = cmd.Wait()
	m := measurement{wall: time.Since(t0)}
	if err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, stderr.Bytes())
	}
	st := cmd.ProcessState
	m.cpu = st.UserTime() + st.SystemTime()
	m.rssKB = rss()
	m.phases = readPhases(t, phases)
	if prof != "" {
		b, err := os.ReadFile(prof)
		if err != nil {
			t.Fatal(err)
		}
		printProfile(tb.s.String()+"-"+name, b)
	}
	return m
}

// printProfile prints a CPU profile base64 between PPROF-BEGIN name and
// PPROF-END lines (scripts/bench.sh writes it to name.pprof).
func printProfile(name string, b []byte) {
	fmt.Printf("PPROF-BEGIN %s\n", name)
	enc := base64.StdEncoding.EncodeToString(b)
	for len(enc) > 0 {
		n := min(len(enc), 76)
		fmt.Println(enc[:n])
		enc = enc[n:]
	}
	fmt.Printf("PPROF-END\n")
}

// peakRSS makes cmd run under busybox time -v and returns a function
// that reads the command's peak RSS in kB after it exited. The rusage of
// a child of this process cannot be used: it forks with CLONE_VM, and the
// kernel counts the parent's resident set into the child's maximum at
// exec. busybox, small and static, adds little of its own.
func peakRSS(t *testing.T, cmd *exec.Cmd) func() int64 {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatalf("busybox: %v", err)
	}
	out := filepath.Join(t.TempDir(), "time")
	cmd.Args = append([]string{"busybox", "time", "-v", "-o", out, cmd.Path}, cmd.Args[1:]...)
	cmd.Path = bb
	return func() int64 {
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Maximum resident set size (kbytes): "); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					t.Fatalf("busybox time: %q", line)
				}
				// busybox converts ru_maxrss (kB on Linux) as if it
				// counted pages: undo that.
				return n * 1024 / int64(os.Getpagesize())
			}
		}
		t.Fatalf("busybox time -v printed no peak RSS:\n%s", b)
		return 0
	}
}

// clear deletes the shape's services in ns (their real servers go with
// them), so that no namespace holding the table is left to the kernel's
// asynchronous cleanup while the next measurement runs.
func (tb *table) clear(ns *topo.NS) {
	c := dial(tb.t, ns)
	defer c.Close()
	for _, err := range c.Apply(context.Background(), tb.s.deletes()) {
		if err != nil && !strings.Contains(err.Error(), "no such process") {
			tb.t.Fatalf("clear: %v", err)
		}
	}
}

// timed measures fn in this process (no child: CPU and RSS are 0).
func timed(t *testing.T, fn func()) measurement {
	quiesce(t)
	t0 := time.Now()
	fn()
	return measurement{wall: time.Since(t0)}
}

// realServerRound times lvs-rs's DR real server start and stop against
// the seed scripts' shell lines doing the same (busybox ifconfig, route,
// echo into /proc/sys), each in a fresh namespace.
func realServerRound(t *testing.T, e *bed, bin string) {
	const vip = "10.100.0.1"
	report := func(what string, m measurement) { m.print("realserver", what) }
	{
		ns := e.fresh()
		dir := t.TempDir()
		env := []string{"LVS_RS_STATE_DIR=" + filepath.Join(dir, "state")}
		tb := &table{t: t, e: e, s: shape{}, profile: os.Getenv(envProfile) != ""}
		// The floor of any lvs-rs command: starting the binary.
		report("version", tb.run(ns, exec.Command(bin, "version"), ""))
		for _, step := range []struct{ what, verb string }{{"rs-start", "start"}, {"rs-stop", "stop"}} {
			args := []string{step.verb, "--role", "realserver"}
			if step.verb == "start" {
				args = append(args, "--mode", "dr", "--vip", vip)
			}
			cmd := exec.Command(bin, args...)
			cmd.Env = append(os.Environ(), env...)
			report(step.what, tb.run(ns, cmd, step.what))
		}
	}
	{
		ns := e.fresh()
		tb := &table{t: t, e: e}
		start := strings.Join([]string{
			"ifconfig lo:0 " + vip + " netmask 255.255.255.255 broadcast " + vip + " up",
			"route add -host " + vip + " dev lo:0",
			"echo 1 >/proc/sys/net/ipv4/conf/lo/arp_ignore",
			"echo 2 >/proc/sys/net/ipv4/conf/lo/arp_announce",
			"echo 1 >/proc/sys/net/ipv4/conf/all/arp_ignore",
			"echo 2 >/proc/sys/net/ipv4/conf/all/arp_announce",
		}, "\n")
		stop := strings.Join([]string{
			"ifconfig lo:0 down",
			"route del " + vip + " >/dev/null 2>&1",
			"echo 0 >/proc/sys/net/ipv4/conf/lo/arp_ignore",
			"echo 0 >/proc/sys/net/ipv4/conf/lo/arp_announce",
			"echo 0 >/proc/sys/net/ipv4/conf/all/arp_ignore",
			"echo 0 >/proc/sys/net/ipv4/conf/all/arp_announce",
		}, "\n")
		report("sh-start", tb.run(ns, exec.Command("/bin/sh", "-ec", start), ""))
		report("sh-stop", tb.run(ns, exec.Command("/bin/sh", "-c", stop), ""))
	}
}

// yaml is the shape as an lvs-rs config; real server 0 of service edit
// (when not -1) has weight 2.
func (s shape) yaml(edit int) string {
	var b strings.Builder
	b.WriteString("director:\n  interface: eth0\nvirtual_servers:\n")
	for i := range s.services {
		fmt.Fprintf(&b, "  - vip: %v\n    port: %d\n    protocol: tcp\n    scheduler: wrr\n    mode: dr\n    real_servers:\n", vip, basePort+i)
		for j := range s.perService {
			w := 1
			if i == edit && j == 0 {
				w = 2
			}
			fmt.Fprintf(&b, "      - address: %v\n        weight: %d\n", realServer(i, j), w)
		}
	}
	return b.String()
}

// keepalivedConf is the shape as a keepalived.conf without checkers.
func (s shape) keepalivedConf() string {
	var b strings.Builder
	b.WriteString("global_defs {\n  router_id bench\n}\n")
	for i := range s.services {
		fmt.Fprintf(&b, "virtual_server %v %d {\n  lb_algo wrr\n  lb_kind DR\n  protocol TCP\n", vip, basePort+i)
		for j := range s.perService {
			fmt.Fprintf(&b, "  real_server %v %d {\n    weight 1\n  }\n", realServer(i, j), basePort+i)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

func writeFile(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// vipsCount is how many VIPs vipsRound's director binds.
const vipsCount = 20

// vipsRound times lvs-rs start and stop of a director binding vipsCount
// VIPs (10.100.1.1 and up, one service of one real server each) in a
// fresh namespace. What a command waits for beside its CPU (wall minus
// CPU) shows a wait per VIP, as a packet socket's close per gratuitous
// ARP was.
func vipsRound(t *testing.T, e *bed, bin string) {
	ns := e.fresh()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "lvs-rs.yaml")
	var b strings.Builder
	b.WriteString("director:\n  interface: eth0\nvirtual_servers:\n")
	for i := 1; i <= vipsCount; i++ {
		fmt.Fprintf(&b, "  - vip: 10.100.1.%d\n    port: 80\n    scheduler: rr\n    real_servers:\n      - address: 10.1.0.%d\n", i, i)
	}
	writeFile(t, cfg, b.String())
	tb := &table{t: t, e: e}
	env := []string{"LVS_RS_STATE_DIR=" + filepath.Join(dir, "state")}
	for _, step := range []struct {
		args  []string
		bound int // VIPs on eth0 afterwards
	}{{[]string{"start", "--role", "director", "--config", cfg}, vipsCount}, {[]string{"stop", "--role", "director"}, 0}} {
		quiesce(t)
		cmd := exec.Command(bin, step.args...)
		cmd.Env = append(os.Environ(), env...)
		tb.run(ns, cmd, step.args[0]).print(fmt.Sprintf("vips%d", vipsCount), step.args[0])
		if n := boundVIPs(t, ns); n != step.bound {
			t.Fatalf("after %s: %d of the VIPs bound, want %d", step.args[0], n, step.bound)
		}
	}
}

// boundVIPs counts the addresses in 10.100.0.0/16 (vipsRound's VIPs) in
// ns.
func boundVIPs(t *testing.T, ns *topo.NS) int {
	as, err := ns.Handle().AddrList(nil, syscall.AF_INET)
	if err != nil {
		t.Fatal(err)
	}
	vips := netip.MustParsePrefix("10.100.0.0/16")
	n := 0
	for _, a := range as {
		if ip, ok := netip.AddrFromSlice(a.IP.To4()); ok && vips.Contains(ip) {
			n++
		}
	}
	return n
}
