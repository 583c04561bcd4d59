package bench

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	vnl "github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// bed hands out fresh network namespaces, removed at the end of the test
// or benchmark run.
type bed struct {
	tb testing.TB
	tp *topo.Topo
	n  int
}

func newBed(tb testing.TB) *bed { return &bed{tb: tb, tp: topo.New(tb)} }

// fresh returns a new namespace with lo up and a dummy eth0 (up) for
// director.Start to bind its VIP on.
func (e *bed) fresh() *topo.NS {
	e.tb.Helper()
	e.n++
	ns := e.tp.AddNS(nsName(e.n))
	eth := &vnl.Dummy{LinkAttrs: vnl.LinkAttrs{Name: "eth0"}}
	if err := ns.Handle().LinkAdd(eth); err != nil {
		e.tb.Fatalf("dummy eth0: %v", err)
	}
	if err := ns.LinkUp("eth0"); err != nil {
		e.tb.Fatal(err)
	}
	return ns
}

func nsName(n int) string { return fmt.Sprintf("n%d", n) }

// dial opens a pipelined client in ns.
func dial(tb testing.TB, ns *topo.NS) *ipvs.Client {
	tb.Helper()
	c, err := ipvs.Dial(&ipvs.Config{NetNS: int(ns.NsHandle())})
	if err != nil {
		tb.Fatalf("ipvs in %s: %v", ns.Name(), err)
	}
	return c
}

// applyAll applies ops and fails on the first error.
func applyAll(tb testing.TB, c *ipvs.Client, ops []ipvs.Op) {
	tb.Helper()
	for i, err := range c.Apply(context.Background(), ops) {
		if err != nil {
			tb.Fatalf("op %d (%v): %v", i, ops[i], err)
		}
	}
}

// dumpAll lists the services and every service's destinations, without
// counters, as the director observes them (DestinationConfigsOf: one call
// for all the services), and returns how many entries it read.
func dumpAll(tb testing.TB, c *ipvs.Client) int {
	tb.Helper()
	svcs, err := c.Services(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	list := make([]ipvs.Service, len(svcs))
	for i := range svcs {
		list[i] = svcs[i].Service
	}
	n := len(svcs)
	if err := c.DestinationConfigsOf(context.Background(), list, func(_ int, ds []ipvs.Destination) { n += len(ds) }); err != nil {
		tb.Fatal(err)
	}
	return n
}

// dumpAll1 is dumpAll one call per service.
func dumpAll1(tb testing.TB, c *ipvs.Client) int {
	tb.Helper()
	svcs, err := c.Services(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	n := len(svcs)
	for _, s := range svcs {
		ds, err := c.DestinationConfigs(context.Background(), s.Service)
		if err != nil {
			tb.Fatal(err)
		}
		n += len(ds)
	}
	return n
}

// applySerial applies ops one request per round trip: the client before
// pipelining.
func applySerial(tb testing.TB, c *ipvs.Client, ops []ipvs.Op) {
	tb.Helper()
	for _, op := range ops {
		if err := c.Apply(context.Background(), []ipvs.Op{op})[0]; err != nil {
			tb.Fatalf("%v: %v", op, err)
		}
	}
}

// startDirector runs director.Start inside ns with a fresh state dir: the
// CLI's path, dialing IPVS itself.
func startDirector(tb testing.TB, ns *topo.NS, s shape, stateDir string) director.Result {
	tb.Helper()
	var res director.Result
	err := ns.Do(func() (err error) {
		res, err = director.Start(context.Background(), s.config(), director.Options{StateDir: stateDir, Handle: ns.Handle()})
		return err
	})
	if err != nil {
		tb.Fatalf("director.Start: %v", err)
	}
	return res
}

// stateDir is a new state directory for director.Start.
func stateDir(tb testing.TB, n int) string {
	return filepath.Join(tb.TempDir(), fmt.Sprintf("state%d", n))
}

// ipvsadmPath finds Debian's ipvsadm in the VM (scripts/vm-prepare.sh puts
// it and its libraries into the initramfs); "" when absent.
func ipvsadmPath() string {
	p, err := exec.LookPath("ipvsadm")
	if err != nil {
		return ""
	}
	return p
}

// restoreIpvsadm runs ipvsadm -R with the shape's restore file in ns,
// forked from a thread inside the namespace.
func restoreIpvsadm(tb testing.TB, ns *topo.NS, path, restore string) {
	tb.Helper()
	cmd := exec.Command(path, "-R")
	cmd.Stdin = strings.NewReader(restore)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := ns.Start(cmd); err != nil {
		tb.Fatalf("ipvsadm -R: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		tb.Fatalf("ipvsadm -R: %v\n%s", err, out.Bytes())
	}
}

// rawSocket is a blocking generic netlink socket in ns, with the buffers
// the client asks for and NETLINK_CAP_ACK, for the floor.
type rawSocket struct {
	fd     int
	family uint16
}

func openRaw(tb testing.TB, ns *topo.NS) rawSocket {
	tb.Helper()
	var s rawSocket
	err := ns.Do(func() (err error) {
		s.fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_GENERIC)
		return err
	})
	if err != nil {
		tb.Fatalf("netlink socket: %v", err)
	}
	tb.Cleanup(func() { unix.Close(s.fd) })
	must(tb, unix.Bind(s.fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}))
	must(tb, unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 4<<20))
	must(tb, unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 1<<20))
	must(tb, unix.SetsockoptInt(s.fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1))
	gc, err := genetlink.Dial(&netlink.Config{NetNS: int(ns.NsHandle())})
	if err != nil {
		tb.Fatal(err)
	}
	defer gc.Close()
	fam, err := gc.GetFamily("IPVS")
	if err != nil {
		tb.Fatalf("IPVS family: %v", err)
	}
	s.family = fam.ID
	return s
}

// chunk is pre-encoded requests for one sendmsg and how many
// acknowledgements they produce.
type chunk struct {
	buf  []byte
	acks int
}

// chunks splits encoded requests like the client's limits do (4 MiB
// receive buffer, 1 MiB send buffer, both doubled by the kernel), without
// the client's break after a service addition: the best case. Each
// request is counted as acknowledged.
func chunks(msgs [][]byte) []chunk {
	const maxOps, maxBytes = (8 << 20) / 2048, (2 << 20) - 64
	var out []chunk
	var cur chunk
	for _, m := range msgs {
		if cur.acks == maxOps || len(cur.buf)+len(m) > maxBytes {
			out = append(out, cur)
			cur = chunk{}
		}
		cur.buf = append(cur.buf, m...)
		cur.acks++
	}
	if cur.acks > 0 {
		out = append(out, cur)
	}
	return out
}

// encodeChunks encodes the shape's table for the floor: NLM_F_ACK on every
// request, or with ackEach false on each chunk's last request only (the
// kernel still answers a refusal of any).
func encodeChunks(tb testing.TB, s shape, family uint16, ackEach bool) []chunk {
	tb.Helper()
	return encodeOps(tb, s.ops(), family, ackEach)
}

// encodeDeletes encodes the deletion of the shape's services for the
// floor of stop, an acknowledgement per request.
func encodeDeletes(tb testing.TB, s shape, family uint16) []chunk {
	tb.Helper()
	return encodeOps(tb, s.deletes(), family, true)
}

// encodeOps encodes ops in chunks for the floor (see encodeChunks).
func encodeOps(tb testing.TB, ops []ipvs.Op, family uint16, ackEach bool) []chunk {
	tb.Helper()
	msgs, err := encodeRequests(ops, family, 1, ackEach)
	if err != nil {
		tb.Fatal(err)
	}
	cs := chunks(msgs)
	if !ackEach {
		for i, c := range cs {
			last := c.buf[len(c.buf)-lastLen(c.buf):]
			flags := uint16(last[6]) | uint16(last[7])<<8 | uint16(netlink.Acknowledge)
			last[6], last[7] = byte(flags), byte(flags>>8)
			cs[i].acks = 1
		}
	}
	return cs
}

// lastLen is the length of the last netlink message in buf.
func lastLen(buf []byte) int {
	off := 0
	for {
		l := int(uint32(buf[off]) | uint32(buf[off+1])<<8 | uint32(buf[off+2])<<16 | uint32(buf[off+3])<<24)
		l = (l + 3) &^ 3
		if off+l >= len(buf) {
			return len(buf) - off
		}
		off += l
	}
}

// sendChunks sends each chunk with one sendto and reads its
// acknowledgements with recvfrom; any refusal fails.
func (s rawSocket) sendChunks(tb testing.TB, cs []chunk) {
	buf := make([]byte, 64<<10)
	for _, c := range cs {
		if err := rawSendto(s.fd, c.buf); err != nil {
			tb.Fatalf("sendto: %v", err)
		}
		for range c.acks {
			n, err := rawRecvfrom(s.fd, buf)
			if err != nil {
				tb.Fatalf("recvfrom: %v", err)
			}
			if n < 20 || buf[4] != unix.NLMSG_ERROR {
				tb.Fatalf("unexpected reply of %d bytes, type %d", n, buf[4])
			}
			if errno := int32(uint32(buf[16]) | uint32(buf[17])<<8 | uint32(buf[18])<<16 | uint32(buf[19])<<24); errno != 0 {
				tb.Fatalf("request %d refused: %v", uint32(buf[8])|uint32(buf[9])<<8|uint32(buf[10])<<16|uint32(buf[11])<<24,
					unix.Errno(-errno))
			}
		}
	}
}

// checkTable reads the IPVS table back through netlink and compares it
// with the shape's.
func checkTable(tb testing.TB, c *ipvs.Client, s shape) {
	tb.Helper()
	svcs, err := c.Services(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	if len(svcs) != s.services {
		tb.Fatalf("%d services, want %d", len(svcs), s.services)
	}
	slices.SortFunc(svcs, func(a, b ipvs.ServiceExtended) int { return cmp.Compare(a.Port, b.Port) })
	total := 0
	for i, sx := range svcs {
		if want := service(i); sx.Service != want {
			tb.Fatalf("service %d:\n got %+v\nwant %+v", i, sx.Service, want)
		}
		ds, err := c.Destinations(context.Background(), sx.Service)
		if err != nil {
			tb.Fatal(err)
		}
		if len(ds) != s.perService {
			tb.Fatalf("service %v: %d real servers, want %d", sx.Service, len(ds), s.perService)
		}
		slices.SortFunc(ds, func(a, b ipvs.DestinationExtended) int { return a.Address.Compare(b.Address) })
		for j, d := range ds {
			if want := destination(i, j); d.Destination != want {
				tb.Fatalf("service %v, real server %d:\n got %+v\nwant %+v", sx.Service, j, d.Destination, want)
			}
		}
		total += len(ds)
	}
	if total != s.realServers() {
		tb.Fatalf("%d real servers, want %d", total, s.realServers())
	}
}

// quiesce waits (up to 30 s) until the VM's CPU is idle: the kernel frees
// deleted real servers and dead namespaces asynchronously, and on the VM's
// one CPU that work would be measured as part of the next run.
func quiesce(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		b0, t0 := cpuStat()
		time.Sleep(100 * time.Millisecond)
		b1, t1 := cpuStat()
		if t1 > t0 && float64(b1-b0)/float64(t1-t0) < 0.05 {
			return
		}
	}
	tb.Logf("quiesce: the CPU is still busy after 30s; measuring anyway")
}

// cpuStat returns the busy and total jiffies of /proc/stat's cpu line.
func cpuStat() (busy, total uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	for i, f := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseUint(f, 10, 64)
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total
}

// cpuTime is the CPU time of this process and its waited-for children.
type cpuTime struct{ sys, user time.Duration }

func cpuNow() cpuTime {
	var t cpuTime
	for _, who := range []int{unix.RUSAGE_SELF, unix.RUSAGE_CHILDREN} {
		var ru unix.Rusage
		if unix.Getrusage(who, &ru) == nil {
			t.sys += time.Duration(ru.Stime.Nano())
			t.user += time.Duration(ru.Utime.Nano())
		}
	}
	return t
}

func (t cpuTime) sub(u cpuTime) cpuTime { return cpuTime{t.sys - u.sys, t.user - u.user} }
func (t cpuTime) add(u cpuTime) cpuTime { return cpuTime{t.sys + u.sys, t.user + u.user} }

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
