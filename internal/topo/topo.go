package topo

import (
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// netnsDir is where named namespaces are bind-mounted (as by `ip netns`).
const netnsDir = "/run/netns"

var topoSeq atomic.Int64

// Topo is a set of namespaces and segments, removed at the end of the test.
type Topo struct {
	tb    testing.TB
	id    string // prefix of the namespace names
	sw    *NS    // hidden switch namespace holding the bridges
	nss   map[string]*NS
	segs  map[string]*Segment
	ports int
}

// Segment is an L2 segment: a bridge in the topology's switch namespace.
type Segment struct {
	Name   string // the name given to AddSegment
	Bridge string // bridge device name in the switch namespace
	index  int
}

// New creates an empty topology removed by tb.Cleanup. It skips the test
// when not root (fails when CI=true).
func New(tb testing.TB) *Topo {
	tb.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			tb.Fatal("topo: network namespaces need root (CI=true: failing)")
		}
		tb.Skip("topo: network namespaces need root")
	}
	tp := &Topo{
		tb:   tb,
		id:   fmt.Sprintf("lt%d-%d", os.Getpid(), topoSeq.Add(1)),
		nss:  map[string]*NS{},
		segs: map[string]*Segment{},
	}
	sw, err := tp.newNS("switch")
	if err != nil {
		tb.Fatalf("topo: %v", err)
	}
	tp.sw = sw
	// No IPv6 on the bridge ports themselves: no DAD or MLD chatter.
	for _, p := range []string{"net/ipv6/conf/all/disable_ipv6", "net/ipv6/conf/default/disable_ipv6"} {
		if err := sw.WriteSysctl(p, "1"); err != nil {
			tb.Fatalf("topo: %v", err)
		}
	}
	return tp
}

// AddNS creates the named namespace name (lo up) and returns it.
func (tp *Topo) AddNS(name string) *NS {
	tp.tb.Helper()
	if _, dup := tp.nss[name]; dup || name == "switch" {
		tp.tb.Fatalf("topo: namespace %q exists", name)
	}
	n, err := tp.newNS(name)
	if err != nil {
		tp.tb.Fatalf("topo: %v", err)
	}
	tp.nss[name] = n
	return n
}

// NS returns the namespace added as name; it fails the test if none.
func (tp *Topo) NS(name string) *NS {
	tp.tb.Helper()
	n, ok := tp.nss[name]
	if !ok {
		tp.tb.Fatalf("topo: no namespace %q", name)
	}
	return n
}

// AddSegment creates an L2 segment (a bridge, up, STP off).
func (tp *Topo) AddSegment(name string) *Segment {
	tp.tb.Helper()
	if _, dup := tp.segs[name]; dup {
		tp.tb.Fatalf("topo: segment %q exists", name)
	}
	s := &Segment{Name: name, Bridge: fmt.Sprintf("br%d", len(tp.segs))}
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: s.Bridge}}
	if err := tp.sw.nl.LinkAdd(br); err != nil {
		tp.tb.Fatalf("topo: segment %s: adding bridge: %v", name, err)
	}
	if err := tp.sw.nl.LinkSetUp(br); err != nil {
		tp.tb.Fatalf("topo: segment %s: bridge up: %v", name, err)
	}
	s.index = br.Attrs().Index
	tp.segs[name] = s
	return s
}

// Connect joins namespace ns to segment seg with a veth pair: ifname (up,
// with the given addresses, e.g. "10.0.0.2/24") in ns, the peer on the
// segment's bridge. IPv6 addresses skip duplicate address detection.
func (tp *Topo) Connect(ns, seg, ifname string, cidrs ...string) {
	tp.tb.Helper()
	n := tp.NS(ns)
	s, ok := tp.segs[seg]
	if !ok {
		tp.tb.Fatalf("topo: no segment %q", seg)
	}
	port := fmt.Sprintf("p%d", tp.ports)
	tp.ports++
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: port},
		PeerName:      ifname,
		PeerNamespace: netlink.NsFd(n.fd),
	}
	if err := tp.sw.nl.LinkAdd(veth); err != nil {
		tp.tb.Fatalf("topo: connect %s/%s to %s: %v", ns, ifname, seg, err)
	}
	if err := tp.sw.nl.LinkSetMasterByIndex(veth, s.index); err != nil {
		tp.tb.Fatalf("topo: connect %s/%s to %s: master: %v", ns, ifname, seg, err)
	}
	if err := tp.sw.nl.LinkSetUp(veth); err != nil {
		tp.tb.Fatalf("topo: connect %s/%s to %s: port up: %v", ns, ifname, seg, err)
	}
	for _, c := range cidrs {
		if err := n.AddAddr(ifname, c); err != nil {
			tp.tb.Fatalf("topo: connect %s/%s to %s: %v", ns, ifname, seg, err)
		}
	}
	if err := n.LinkUp(ifname); err != nil {
		tp.tb.Fatalf("topo: connect %s/%s to %s: %v", ns, ifname, seg, err)
	}
}

// newNS creates and bind-mounts a namespace, opens a netlink handle in it,
// sets lo up and registers its removal.
func (tp *Topo) newNS(name string) (*NS, error) {
	n := &NS{name: name, path: netnsDir + "/" + tp.id + "-" + name, tp: tp}
	fd, err := createNamed(n.path)
	if err != nil {
		return nil, fmt.Errorf("namespace %s: %w", name, err)
	}
	n.fd = fd
	tp.tb.Cleanup(n.remove)
	if n.nl, err = netlink.NewHandleAt(fd, unix.NETLINK_ROUTE); err != nil {
		return nil, fmt.Errorf("namespace %s: netlink handle: %w", name, err)
	}
	if err := n.LinkUp("lo"); err != nil {
		return nil, fmt.Errorf("namespace %s: %w", name, err)
	}
	return n, nil
}

// createNamed makes a new network namespace bind-mounted at path, from a
// throw-away thread: the thread stays locked in the new namespace and Go
// discards it when its goroutine ends.
func createNamed(path string) (netns.NsHandle, error) {
	if err := os.MkdirAll(netnsDir, 0o755); err != nil {
		return netns.None(), fmt.Errorf("creating %s: %w", netnsDir, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return netns.None(), fmt.Errorf("creating %s: %w", path, err)
	}
	f.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: see above
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("unshare(CLONE_NEWNET): %w", err)
			return
		}
		src := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
		if err := unix.Mount(src, path, "none", unix.MS_BIND, ""); err != nil {
			errc <- fmt.Errorf("bind-mounting %s: %w", path, err)
			return
		}
		errc <- nil
	}()
	if err := <-errc; err != nil {
		os.Remove(path)
		return netns.None(), err
	}
	fd, err := netns.GetFromPath(path)
	if err != nil {
		return netns.None(), fmt.Errorf("opening %s: %w", path, err)
	}
	return fd, nil
}
