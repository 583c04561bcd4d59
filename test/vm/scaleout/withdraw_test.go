package scaleout

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/internal/vmtest"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// runProc is one `lvs-rs run --role director` child process.
type runProc struct {
	ns   *topo.NS
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
	err  error
}

// run starts `lvs-rs run --role director` in ns with the shared config
// and ns's own state directory; the test's end stops it with SIGTERM (its
// output is printed when the test fails).
func (c *cluster) run(ns *topo.NS) *runProc {
	c.t.Helper()
	bin := os.Getenv(vmtest.EnvBin)
	if bin == "" {
		c.t.Fatalf("%s is not set (run in the VM)", vmtest.EnvBin)
	}
	p := &runProc{ns: ns, done: make(chan struct{})}
	p.cmd = ns.Command(context.Background(), bin, "run", "--role", "director", "--config", c.config, "--state-dir", c.stateDir(ns))
	w := &lockedWriter{mu: &p.mu, w: &p.out}
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		c.t.Fatalf("lvs-rs run in %s: %v", ns.Name(), err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t := c.t
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			p.mu.Lock()
			t.Logf("lvs-rs run in %s:\n%s", ns.Name(), p.out.String())
			p.mu.Unlock()
		}
	})
	return p
}

// term sends SIGTERM and waits (bounded) for a zero exit.
func (p *runProc) term(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Fatalf("lvs-rs run in %s did not exit on SIGTERM", p.ns.Name())
	}
	if p.err != nil {
		t.Fatalf("lvs-rs run in %s on SIGTERM: %v", p.ns.Name(), p.err)
	}
}

// waitAnnounced waits until director i's table 100 holds exactly want
// routes of lvs-rs's protocol and returns how long that took.
func waitAnnounced(t *testing.T, c *cluster, i, want int, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		rs := announced(t, c, i)
		if len(rs) == want {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("d%d's table 100 after %v: %v, want %d route(s)", i+1, limit, rs, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// newConns opens n new connections from the client to the VIP one after
// another, each sending one line and reading the answer; it returns the
// client ports, the failures and the count of answers per real server.
func newConns(t *testing.T, c *cluster, n int) (ports []uint16, failed []string, byRS map[string]int) {
	t.Helper()
	addr := netip.AddrPortFrom(clusterVIP, 80).String()
	byRS = map[string]int{}
	for i := range n {
		port, rs, err := oneConn(c.client, addr, i)
		if port != 0 {
			ports = append(ports, port)
		}
		if err != nil {
			failed = append(failed, fmt.Sprintf("connection %d (port %d): %v", i, port, err))
			continue
		}
		byRS[rs]++
	}
	return ports, failed, byRS
}

// oneConn makes one connection with a bounded wait and returns its
// source port and the real server that answered.
func oneConn(ns *topo.NS, addr string, seq int) (uint16, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	x, err := ns.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, "", err
	}
	defer x.Close()
	port := uint16(x.LocalAddr().(*net.TCPAddr).Port)
	x.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(x, "%d\n", seq); err != nil {
		return port, "", err
	}
	line, err := bufio.NewReader(x).ReadString('\n')
	if err != nil {
		return port, "", err
	}
	name, echo, _ := strings.Cut(strings.TrimSpace(line), " ")
	if echo != fmt.Sprint(seq) || !strings.HasPrefix(name, "rs") {
		return port, "", fmt.Errorf("answer %q to %d", line, seq)
	}
	return port, name, nil
}

// blockChecks makes every real server unreachable from director i alone
// (a prohibit route per real server in its namespace: its checks fail at
// once), or reachable again.
func blockChecks(t *testing.T, c *cluster, i int, block bool) {
	t.Helper()
	h := c.dirs[i].Handle()
	for _, a := range rsIPs {
		r := &netlink.Route{Dst: &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(32, 32)}, Type: unix.RTN_PROHIBIT}
		var err error
		if block {
			err = h.RouteAdd(r)
		} else {
			err = h.RouteDel(r)
		}
		if err != nil {
			t.Fatalf("prohibit route to %v in d%d (block %v): %v", a, i+1, block, err)
		}
	}
}

// TestHealthDrivenWithdrawal: both directors run `lvs-rs run` from one
// file with a tcp check and announce table 100. When every real server
// fails its checks on d1 alone, d1 withdraws the VIP (its table 100 and
// then the router lose it) while new connections through the router keep
// succeeding via d2; when the checks pass again d1 announces again.
// SIGTERM of d2's daemon leaves its route; stop removes it.
func TestHealthDrivenWithdrawal(t *testing.T) {
	c := newCluster(t, variant{scheduler: "mh", sloppy: 1, daemon: true,
		check: "{type: tcp, interval: 300ms, timeout: 250ms, rise: 1, fall: 2}"})
	up := waitNexthops(t, c.router, clusterVIP, 90*time.Second, dirIPs[0], dirIPs[1])
	t.Logf("the router has the ECMP route via both directors %v after BIRD started", up.Round(time.Millisecond))

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	snif := [2]*sniffer{sniff(t, ctx, c.dirs[0], clusterVIP), sniff(t, ctx, c.dirs[1], clusterVIP)}
	from := time.Now()
	ports, failed, byRS := newConns(t, c, 32)
	if len(failed) > 0 {
		t.Fatalf("%d of 32 new connections failed with both directors announcing: %s", len(failed), strings.Join(failed[:min(3, len(failed))], "; "))
	}
	if on1, on2 := snif[0].carried(from, time.Now()), snif[1].carried(from, time.Now()); len(on1) == 0 || len(on2) == 0 {
		t.Fatalf("new connections per director: d1 %d, d2 %d (ports %v): the router does not spread them", len(on1), len(on2), ports)
	} else {
		t.Logf("before: 32 new connections, d1 carried %d, d2 %d; real servers %v", len(on1), len(on2), byRS)
	}

	// Every real server fails its checks on d1 only.
	blocked := time.Now()
	blockChecks(t, c, 0, true)
	local := waitAnnounced(t, c, 0, 0, 20*time.Second)
	waitNexthops(t, c.router, clusterVIP, 30*time.Second, dirIPs[1])
	t.Logf("WITHDRAWAL: d1's route left its table 100 %v after its checks began to fail; the router kept only d2 %v after",
		local.Round(time.Millisecond), time.Since(blocked).Round(time.Millisecond))
	if n := len(announced(t, c, 1)); n != 1 {
		t.Fatalf("d2's table 100 holds %d routes while d1 withdraws, want 1", n)
	}

	// Settled: every new connection succeeds, and through d2 alone.
	from = time.Now()
	ports, failed, byRS = newConns(t, c, 32)
	if len(failed) > 0 {
		t.Fatalf("%d of 32 new connections failed after d1 withdrew: %s", len(failed), strings.Join(failed[:min(3, len(failed))], "; "))
	}
	time.Sleep(200 * time.Millisecond) // the sniffers' last packets
	on1, on2 := snif[0].carried(from, time.Now()), snif[1].carried(from, time.Now())
	for _, p := range ports {
		if on1[p] || !on2[p] {
			t.Fatalf("new connection from port %d after the withdrawal: through d1 %v, d2 %v; want d2 alone", p, on1[p], on2[p])
		}
	}
	t.Logf("after: 32 new connections, 0 failed, all through d2; real servers %v", byRS)

	// The checks pass again: d1 announces again.
	back := time.Now()
	blockChecks(t, c, 0, false)
	waitAnnounced(t, c, 0, 1, 20*time.Second)
	waitNexthops(t, c.router, clusterVIP, 60*time.Second, dirIPs[0], dirIPs[1])
	t.Logf("RE-ANNOUNCEMENT: ECMP over both directors again %v after d1's checks could pass", time.Since(back).Round(time.Millisecond))

	// SIGTERM leaves the data plane, the route included; stop removes it.
	cancel()
	c.runs[1].term(t)
	time.Sleep(time.Second)
	if n := len(announced(t, c, 1)); n != 1 {
		t.Fatalf("d2's table 100 holds %d routes after SIGTERM of its lvs-rs run, want 1", n)
	}
	if got := nexthops(t, c.router, clusterVIP); len(got) != 2 {
		t.Fatalf("router's nexthops after SIGTERM of d2's lvs-rs run: %v, want both", got)
	}
	c.lvsrs(c.dirs[1], "stop", "--role", "director")
	if rs := announced(t, c, 1); len(rs) != 0 {
		t.Fatalf("d2's table 100 after stop: %v", rs)
	}
	waitNexthops(t, c.router, clusterVIP, 30*time.Second, dirIPs[0])
}
