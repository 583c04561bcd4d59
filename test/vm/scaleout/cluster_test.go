package scaleout

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/internal/vmtest"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The failover cluster: a client behind a router, and on the LAN two
// directors and three DR real servers. The router learns the VIP over
// eBGP from both directors' BIRD and spreads flows by an L4 hash.
//
//	client 10.99.1.2 --- router 10.99.1.1 | 10.99.0.1 --- LAN 10.99.0.0/24
//	    d1 10.99.0.11 (AS 65001), d2 10.99.0.12 (AS 65002)
//	    rs1 10.99.0.21, rs2 10.99.0.22, rs3 10.99.0.23; VIP 10.99.100.100
var (
	clusterVIP = netip.MustParseAddr("10.99.100.100")
	routerLAN  = netip.MustParseAddr("10.99.0.1")
	dirIPs     = [2]netip.Addr{netip.MustParseAddr("10.99.0.11"), netip.MustParseAddr("10.99.0.12")}
	rsIPs      = [3]netip.Addr{netip.MustParseAddr("10.99.0.21"), netip.MustParseAddr("10.99.0.22"), netip.MustParseAddr("10.99.0.23")}
)

// variant is what differs between the failover runs.
type variant struct {
	sync      bool   // director.sync: both, on eth0
	scheduler string // mh gets the flags mh-port and mh-fallback
	sloppy    int    // ipvs_sysctls.sloppy_tcp
	check     string // the service's check (a YAML flow mapping); "" for none
	daemon    bool   // the directors run `lvs-rs run`, else `lvs-rs start`
}

// config renders the one file every node of the cluster starts from.
func (v variant) config() string {
	var b strings.Builder
	fmt.Fprintf(&b, "director:\n  interface: eth0\n  ipvs_sysctls: {sloppy_tcp: %d, conntrack: 0}\n  announce: {table: 100}\n", v.sloppy)
	if v.sync {
		b.WriteString("  sync: {interface: eth0, state: both, syncid: 1}\n")
	}
	fmt.Fprintf(&b, "virtual_servers:\n  - vip: %v\n    port: 80\n    mode: dr\n    scheduler: %s\n", clusterVIP, v.scheduler)
	if v.scheduler == "mh" {
		b.WriteString("    scheduler_flags: [mh-port, mh-fallback]\n")
	}
	if v.check != "" {
		fmt.Fprintf(&b, "    check: %s\n", v.check)
	}
	b.WriteString("    real_servers:\n")
	for _, a := range rsIPs {
		fmt.Fprintf(&b, "      - {address: %v, weight: 1}\n", a)
	}
	return b.String()
}

// cluster is the running failover topology.
type cluster struct {
	t              *testing.T
	tp             *topo.Topo
	client, router *topo.NS
	dirs           [2]*topo.NS
	rss            [3]*topo.NS
	config         string // path of the shared config file
	base           string // holds each namespace's state directory
	birds          [3]*birdProc
	runs           [2]*runProc // the directors' `lvs-rs run`, for variant.daemon
}

// newCluster builds the topology, starts the real servers (lvs-rs and
// a line echo server), both directors (lvs-rs start, or run for
// variant.daemon, from the same file, each with its own state directory)
// and BIRD on all three routers.
func newCluster(t *testing.T, v variant) *cluster {
	tp := topo.New(t)
	c := &cluster{t: t, tp: tp, client: tp.AddNS("client"), router: tp.AddNS("router")}
	tp.AddSegment("up")
	lan := tp.AddSegment("lan")
	tp.Connect("client", "up", "eth0", "10.99.1.2/24")
	tp.Connect("router", "up", "eth0", "10.99.1.1/24")
	tp.Connect("router", "lan", "eth1", routerLAN.String()+"/24")
	c.must(c.client.SetDefaultRoute("10.99.1.1"))
	for k, v := range map[string]string{"net/ipv4/fib_multipath_hash_policy": "1", "net/ipv4/ip_forward": "1",
		"net/ipv4/conf/all/rp_filter": "0", "net/ipv4/conf/default/rp_filter": "0"} {
		c.must(c.router.WriteSysctl(k, v))
	}
	c.base = t.TempDir()
	c.config = filepath.Join(c.base, "lvs-rs.yaml")
	c.must(os.WriteFile(c.config, []byte(v.config()), 0o644))
	for i := range c.rss {
		name := fmt.Sprintf("rs%d", i+1)
		c.rss[i] = tp.AddNS(name)
		tp.Connect(name, "lan", "eth0", rsIPs[i].String()+"/24")
		c.must(c.rss[i].SetDefaultRoute(routerLAN.String()))
		c.lvsrs(c.rss[i], "start", "--role", "realserver")
		c.serveLines(c.rss[i], ":80")
	}
	for i := range c.dirs {
		name := fmt.Sprintf("d%d", i+1)
		c.dirs[i] = tp.AddNS(name)
		tp.Connect(name, "lan", "eth0", dirIPs[i].String()+"/24")
		c.must(c.dirs[i].SetDefaultRoute(routerLAN.String()))
		if v.daemon {
			c.runs[i] = c.run(c.dirs[i])
		} else {
			c.lvsrs(c.dirs[i], "start", "--role", "director")
		}
	}
	noSnooping(t, c.client, lan)
	for i, d := range c.dirs {
		c.birds[i] = startBird(t, d, fmt.Sprintf(directorBird, dirIPs[i], 65001+i, routerLAN))
	}
	c.birds[2] = startBird(t, c.router, fmt.Sprintf(routerBird, routerLAN, dirIPs[0], dirIPs[1]))
	return c
}

// presetCluster is a cluster on preset p (lvs-rs run in p's namespaces)
// with conf as its configuration file.
func presetCluster(t *testing.T, p *topo.Preset, conf string) *cluster {
	t.Helper()
	dir := t.TempDir()
	c := &cluster{t: t, tp: p.Topo, base: dir, config: filepath.Join(dir, "lvs-rs.yaml")}
	c.must(os.WriteFile(c.config, []byte(conf), 0o644))
	return c
}

func (c *cluster) must(err error) {
	c.t.Helper()
	if err != nil {
		c.t.Fatal(err)
	}
}

// noSnooping turns multicast snooping off on seg's bridge, so that it
// floods the sync messages (224.0.0.81) to every port whatever it
// snooped. The bridge is in the topology's switch namespace, named like
// any of its namespaces with "switch" for the name. The request carries
// the bridge's index and no name (renaming an up device, even to its own
// name, is EBUSY).
func noSnooping(t *testing.T, any *topo.NS, seg *topo.Segment) {
	path := strings.TrimSuffix(any.Path(), any.Name()) + "switch"
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		ns, err := netns.GetFromPath(path)
		if err == nil {
			defer ns.Close()
			err = netns.Set(ns)
		}
		if err != nil {
			errc <- fmt.Errorf("switch namespace %s: %w", path, err)
			return
		}
		l, err := netlink.LinkByName(seg.Bridge)
		if err != nil {
			errc <- err
			return
		}
		req := nl.NewNetlinkRequest(unix.RTM_NEWLINK, unix.NLM_F_ACK)
		msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
		msg.Index = int32(l.Attrs().Index)
		req.AddData(msg)
		info := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
		info.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("bridge"))
		info.AddRtAttr(nl.IFLA_INFO_DATA, nil).AddRtAttr(nl.IFLA_BR_MCAST_SNOOPING, []byte{0})
		req.AddData(info)
		if _, err := req.Execute(unix.NETLINK_ROUTE, 0); err != nil {
			errc <- fmt.Errorf("bridge %s: multicast_snooping 0: %w", seg.Bridge, err)
			return
		}
		l, err = netlink.LinkByName(seg.Bridge)
		if br, ok := l.(*netlink.Bridge); err != nil || !ok || br.MulticastSnooping == nil || *br.MulticastSnooping {
			err = fmt.Errorf("bridge %s: multicast snooping still on: %+v, %v", seg.Bridge, l, err)
		}
		errc <- err
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// stateDir is ns's lvs-rs state directory.
func (c *cluster) stateDir(ns *topo.NS) string {
	return filepath.Join(c.base, ns.Name())
}

// lvsrs runs the VM's lvs-rs in ns with the shared config and ns's own
// state directory; a failure fails the test.
func (c *cluster) lvsrs(ns *topo.NS, args ...string) string {
	c.t.Helper()
	out, err := c.lvsrsErr(ns, args...)
	if err != nil {
		c.t.Fatalf("lvs-rs %s in %s: %v\n%s", strings.Join(args, " "), ns.Name(), err, out)
	}
	return out
}

// lvsrsErr is lvsrs returning the error.
func (c *cluster) lvsrsErr(ns *topo.NS, args ...string) (string, error) {
	c.t.Helper()
	bin := os.Getenv(vmtest.EnvBin)
	if bin == "" {
		c.t.Fatalf("%s is not set (run in the VM)", vmtest.EnvBin)
	}
	full := append(args, "--config", c.config, "--state-dir", c.stateDir(ns))
	out, err := ns.Command(timeout(c.t, 60*time.Second), bin, full...).CombinedOutput()
	return string(out), err
}

// serveLines answers every line on addr with "NAME LINE" (NAME the
// namespace's), until the end of the test.
func (c *cluster) serveLines(ns *topo.NS, addr string) {
	l, err := ns.Listen("tcp", addr)
	c.must(err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	c.t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, x := range conns {
			x.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			x, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, x)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				sc := bufio.NewScanner(x)
				for sc.Scan() {
					if _, err := fmt.Fprintf(x, "%s %s\n", ns.Name(), sc.Text()); err != nil {
						return
					}
				}
			}()
		}
	}()
}

// birdProc is one BIRD daemon, stoppable and restartable.
type birdProc struct {
	t      *testing.T
	ns     *topo.NS
	dir    string
	mu     sync.Mutex
	out    bytes.Buffer
	cancel context.CancelFunc
	done   chan struct{}
}

// startBird runs BIRD in ns with config (its own control socket) until
// it is stopped or the test ends; its output is printed when the test
// fails.
func startBird(t *testing.T, ns *topo.NS, config string) *birdProc {
	t.Helper()
	b := &birdProc{t: t, ns: ns, dir: t.TempDir()}
	if err := os.WriteFile(filepath.Join(b.dir, "bird.conf"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	b.start()
	t.Cleanup(func() {
		b.stop()
		if t.Failed() {
			b.mu.Lock()
			t.Logf("bird in %s:\n%s", ns.Name(), b.out.String())
			b.mu.Unlock()
		}
	})
	return b
}

func (b *birdProc) start() {
	b.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := b.ns.Command(ctx, binary(b.t, "bird"), "-f", "-c", filepath.Join(b.dir, "bird.conf"),
		"-s", filepath.Join(b.dir, "bird.ctl"), "-P", filepath.Join(b.dir, "bird.pid"))
	w := &lockedWriter{mu: &b.mu, w: &b.out}
	cmd.Stdout, cmd.Stderr = w, w
	// Stop with SIGTERM: BIRD shuts its sessions down (a Cease to the
	// peers), as an operator's systemctl stop does.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		b.t.Fatalf("bird in %s: %v", b.ns.Name(), err)
	}
	b.cancel, b.done = cancel, make(chan struct{})
	go func(done chan struct{}) { cmd.Wait(); close(done) }(b.done)
}

// stop stops BIRD and waits for it to exit; stopping a stopped BIRD does
// nothing.
func (b *birdProc) stop() {
	if b.cancel == nil {
		return
	}
	b.cancel()
	<-b.done
	b.cancel = nil
}
