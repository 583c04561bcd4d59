package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/pkg/control"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// web is a real server's web server, answering its namespace's name on
// every address, port 80; it can be stopped and started again.
type web struct {
	t   *testing.T
	ns  *topo.NS
	mu  sync.Mutex
	srv *http.Server
}

func newWeb(t *testing.T, ns *topo.NS) *web {
	w := &web{t: t, ns: ns}
	w.start()
	t.Cleanup(w.stop)
	return w
}

func (w *web) start() {
	w.t.Helper()
	l, err := w.ns.Listen("tcp", ":80")
	if err != nil {
		w.t.Fatal(err)
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) { io.WriteString(rw, w.ns.Name()) }),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go srv.Serve(l)
	w.mu.Lock()
	w.srv = srv
	w.mu.Unlock()
}

func (w *web) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.srv != nil {
		w.srv.Close()
		w.srv = nil
	}
}

// cluster is a DR cluster whose director runs `lvs-rs run`.
type cluster struct {
	t        *testing.T
	p        *topo.Preset
	dir, cfg string // --state-dir, --config
	ipvs     *ipvs.Client
	web      map[string]*web // by namespace name
	d        *daemon
}

// vip80 is the test service's key.
var vip80 = ipvs.ServiceKey{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: netip.MustParseAddr("10.0.0.100"), Port: 80}

// newCluster builds the DR preset with both real servers serving (VIP on
// lo, arp sysctls set by hand) and writes yaml as the config file.
func newCluster(t *testing.T, yaml string) *cluster {
	t.Helper()
	p := topo.DR(t)
	c := &cluster{t: t, p: p, dir: filepath.Join(t.TempDir(), "state"), cfg: filepath.Join(t.TempDir(), "lvs-rs.yaml"), web: map[string]*web{}}
	for _, rs := range []*topo.NS{p.RS1, p.RS2} {
		c.realServer(rs)
	}
	cl, err := ipvs.Dial(&ipvs.Config{NetNS: int(p.Director.NsHandle())})
	if err != nil {
		t.Fatalf("ipvs in director: %v", err)
	}
	t.Cleanup(func() { cl.Close() })
	c.ipvs = cl
	c.write(yaml)
	return c
}

// realServer prepares rs as a DR real server and starts its web server.
func (c *cluster) realServer(rs *topo.NS) {
	c.t.Helper()
	must(c.t, rs.AddAddr("lo", c.p.VIP.String()+"/32"))
	for _, k := range []string{"lo", "all"} {
		must(c.t, rs.WriteSysctl("net/ipv4/conf/"+k+"/arp_ignore", "1"))
		must(c.t, rs.WriteSysctl("net/ipv4/conf/"+k+"/arp_announce", "2"))
	}
	c.web[rs.Name()] = newWeb(c.t, rs)
}

// write replaces the config file.
func (c *cluster) write(yaml string) {
	c.t.Helper()
	must(c.t, os.WriteFile(c.cfg, []byte(yaml), 0o600))
}

// daemon is one `lvs-rs run` child process.
type daemon struct {
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
	err  error
}

// run starts `lvs-rs run --role director` in the director namespace.
func (c *cluster) run() *daemon {
	c.t.Helper()
	return c.runEnv()
}

// runEnv is run with env added to the child's environment.
func (c *cluster) runEnv(env ...string) *daemon {
	c.t.Helper()
	bin := os.Getenv("LVSRS_BIN")
	if bin == "" {
		c.t.Fatal("LVSRS_BIN is not set (run in the VM)")
	}
	d := &daemon{log: &syncBuffer{}, done: make(chan struct{})}
	d.cmd = c.p.Director.Command(context.Background(), bin, "run", "--role", "director", "--config", c.cfg, "--state-dir", c.dir)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	d.cmd.Env = append(os.Environ(), env...)
	if err := d.cmd.Start(); err != nil {
		c.t.Fatalf("start lvs-rs run: %v", err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.done) }()
	c.d = d
	c.t.Cleanup(func() {
		d.signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			d.signal(syscall.SIGKILL)
			<-d.done
		}
		if c.t.Failed() {
			c.t.Logf("lvs-rs run log:\n%s", d.log.String())
		}
	})
	return d
}

func (d *daemon) signal(s syscall.Signal) {
	if d.cmd.Process != nil {
		d.cmd.Process.Signal(s)
	}
}

// exit waits for the daemon to end and returns its exit code (-1 when
// killed by a signal).
func (d *daemon) exit(t *testing.T) int {
	t.Helper()
	select {
	case <-d.done:
	case <-time.After(15 * time.Second):
		t.Fatal("lvs-rs run did not exit")
	}
	var ee *exec.ExitError
	if errors.As(d.err, &ee) {
		return ee.ExitCode()
	}
	if d.err != nil {
		t.Fatalf("lvs-rs run: %v", d.err)
	}
	return 0
}

// status asks the daemon over its control socket.
func (c *cluster) status() (control.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cl, err := control.Dial(ctx, c.dir)
	if err != nil {
		return control.Status{}, err
	}
	defer cl.Close()
	return cl.Status(ctx)
}

// ready waits until the daemon has converged and every checked real
// server has a first result.
func (c *cluster) ready() control.Status {
	c.t.Helper()
	var st control.Status
	waitFor(c.t, 30*time.Second, "the daemon to be ready", func() (bool, string) {
		var err error
		st, err = c.status()
		if err != nil {
			return false, err.Error()
		}
		if st.Reconcile.Last.IsZero() || st.Reconcile.Error != "" {
			return false, "reconcile: " + st.Reconcile.Error
		}
		for _, r := range st.RealServers {
			if r.Reason == "first check not done yet" {
				return false, r.Address.String() + " pending"
			}
		}
		return true, ""
	})
	return st
}

// weights reads the real servers' weights of svc from the kernel.
func (c *cluster) weights(svc ipvs.ServiceKey) map[string]int {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	svcs, err := c.ipvs.Services(ctx)
	if err != nil {
		c.t.Fatalf("read services: %v", err)
	}
	out := map[string]int{}
	for _, s := range svcs {
		if s.Service.Key() != svc {
			continue
		}
		ds, err := c.ipvs.Destinations(ctx, s.Service)
		if err != nil {
			c.t.Fatalf("read destinations: %v", err)
		}
		for _, d := range ds {
			out[d.Address.String()] = int(d.Weight)
		}
	}
	return out
}

// waitWeights waits until svc's weights are exactly want.
func (c *cluster) waitWeights(svc ipvs.ServiceKey, within time.Duration, want map[string]int) time.Duration {
	c.t.Helper()
	start := time.Now()
	waitFor(c.t, within, fmt.Sprintf("weights of %v to be %v", svc, want), func() (bool, string) {
		got := c.weights(svc)
		return fmt.Sprint(got) == fmt.Sprint(want), fmt.Sprint(got)
	})
	return time.Since(start)
}

// get makes one request from the client through the VIP.
func (c *cluster) get() (string, error) { return c.p.Client.Get(c.p.VIP.String() + ":80") }

// tally makes n requests and counts the answers.
func (c *cluster) tally(n int) map[string]int {
	c.t.Helper()
	got, err := c.p.Client.Tally(c.p.VIP.String()+":80", n)
	if err != nil {
		c.t.Fatal(err)
	}
	return got
}

// lvsrs runs an lvs-rs command in the director namespace against the
// cluster's state directory and returns its exit code and output.
func (c *cluster) lvsrs(args ...string) (int, string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args = append(args, "--state-dir", c.dir)
	cmd := c.p.Director.Command(ctx, os.Getenv("LVSRS_BIN"), args...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	}
	c.t.Fatalf("lvs-rs %s: %v", strings.Join(args, " "), err)
	return 0, ""
}

// waitFor polls cond every 50ms until it holds or within passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	last := ""
	for {
		ok, why := cond()
		if ok {
			return
		}
		last = why
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s; last: %s", within, what, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// scrape fetches the metrics endpoint from the director's namespace.
func (c *cluster) scrape(addr string) string {
	c.t.Helper()
	hc := &http.Client{
		Transport: &http.Transport{DialContext: c.p.Director.DialContext, DisableKeepAlives: true},
		Timeout:   5 * time.Second,
	}
	resp, err := hc.Get("http://" + addr + "/metrics")
	if err != nil {
		c.t.Fatalf("scrape %s: %v", addr, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("scrape %s: %v", addr, err)
	}
	return string(b)
}

// metricLine finds the sample of name whose labels contain every one of
// labels (`remote_address="10.0.0.11"`) and returns its value.
func metricLine(text, name string, labels ...string) (string, bool) {
	for _, l := range strings.Split(text, "\n") {
		if !strings.HasPrefix(l, name+"{") {
			continue
		}
		ok := true
		for _, lb := range labels {
			ok = ok && strings.Contains(l, lb)
		}
		if ok {
			f := strings.Fields(l)
			return f[len(f)-1], true
		}
	}
	return "", false
}

// metricValue is the value of the unlabelled sample name.
func metricValue(text, name string) (float64, bool) {
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

func bg() context.Context { return context.Background() }

// contains reports whether s holds every one of subs.
func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
