package director

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
)

// counting wraps the real client and counts IPVS writes, dumps of every
// service and requests for one.
type counting struct {
	*ipvs.Client
	writes, dumps, gets int
}

func (c *counting) Services(ctx context.Context) ([]ipvs.ServiceExtended, error) {
	c.dumps++
	return c.Client.Services(ctx)
}

func (c *counting) Service(ctx context.Context, k ipvs.ServiceKey) (ipvs.ServiceExtended, error) {
	c.gets++
	return c.Client.Service(ctx, k)
}

func (c *counting) Apply(ctx context.Context, ops []ipvs.Op) []error {
	c.writes += len(ops)
	return c.Client.Apply(ctx, ops)
}

// host is the director under test: a namespace and its state directory.
type host struct {
	t  *testing.T
	ns *topo.NS
	o  director.Options
	k  *counting // non-nil when the host counts writes
}

func newHost(t *testing.T, ns *topo.NS) *host {
	return &host{t: t, ns: ns, o: director.Options{StateDir: filepath.Join(t.TempDir(), "state"), Handle: ns.Handle()}}
}

// counted makes the host program IPVS through a counting client opened
// in its namespace.
func (h *host) counted() *host {
	h.t.Helper()
	c, err := ipvs.Dial(&ipvs.Config{NetNS: int(h.ns.NsHandle())})
	if err != nil {
		h.t.Fatalf("ipvs in %s: %v", h.ns.Name(), err)
	}
	h.t.Cleanup(func() { c.Close() })
	h.k = &counting{Client: c}
	h.o.IPVS = h.k
	return h
}

func (h *host) writes() int {
	if h.k == nil {
		h.t.Fatal("host does not count writes")
	}
	return h.k.writes
}

// tryStart runs director.Start inside the namespace.
func (h *host) tryStart(cfg *config.Config) (director.Result, error) {
	var res director.Result
	err := h.ns.Do(func() (err error) { res, err = director.Start(context.Background(), cfg, h.o); return err })
	return res, err
}

func (h *host) start(cfg *config.Config) director.Result {
	h.t.Helper()
	res, err := h.tryStart(cfg)
	if err != nil {
		h.t.Fatalf("start: %v", err)
	}
	return res
}

func (h *host) stop() director.Result {
	h.t.Helper()
	var res director.Result
	err := h.ns.Do(func() (err error) { res, err = director.Stop(context.Background(), h.o); return err })
	if err != nil {
		h.t.Fatalf("stop: %v", err)
	}
	return res
}

func (h *host) status(cfg *config.Config) *director.Report {
	h.t.Helper()
	var r *director.Report
	err := h.ns.Do(func() (err error) { r, err = director.Status(context.Background(), cfg, h.o); return err })
	if err != nil {
		h.t.Fatalf("status: %v", err)
	}
	return r
}

// ipvsIn opens a client in ns for reading back and for hand-made rules.
func ipvsIn(t *testing.T, ns *topo.NS) *ipvs.Client {
	t.Helper()
	c, err := ipvs.Dial(&ipvs.Config{NetNS: int(ns.NsHandle())})
	if err != nil {
		t.Fatalf("ipvs in %s: %v", ns.Name(), err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// table is the kernel's IPVS table as read back through netlink.
type table map[ipvs.ServiceKey]tableEntry

type tableEntry struct {
	svc   ipvs.ServiceExtended
	dests []ipvs.DestinationExtended
}

func readTable(t *testing.T, c *ipvs.Client) table {
	t.Helper()
	svcs, err := c.Services(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := table{}
	for _, s := range svcs {
		ds, err := c.Destinations(context.Background(), s.Service)
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(ds, func(a, b ipvs.DestinationExtended) int { return a.Address.Compare(b.Address) })
		out[s.Key()] = tableEntry{svc: s, dests: ds}
	}
	return out
}

// procIPVS returns /proc/net/ip_vs as the kernel prints it in ns: an
// independent rendering of the table (addresses and ports in hex).
func procIPVS(t *testing.T, ns *topo.NS) string {
	t.Helper()
	var b []byte
	err := ns.Do(func() (err error) { b, err = os.ReadFile("/proc/thread-self/net/ip_vs"); return err })
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// hex4 renders an IPv4 address and port the way /proc/net/ip_vs does.
func hex4(a netip.Addr, port uint16) string {
	b := a.As4()
	return fmt.Sprintf("%02X%02X%02X%02X:%04X", b[0], b[1], b[2], b[3], port)
}

// vips returns the addresses on dev (no link-local).
func vips(t *testing.T, ns *topo.NS, dev string) []vip.Addr {
	t.Helper()
	as, err := vip.List(ns.Handle(), dev)
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(as, func(a vip.Addr) bool { return a.Prefix.Addr().IsLinkLocalUnicast() })
}

func hasAddr(t *testing.T, ns *topo.NS, dev string, a netip.Addr) bool {
	return slices.ContainsFunc(vips(t, ns, dev), func(v vip.Addr) bool { return v.Prefix.Addr() == a })
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func sysctl(t *testing.T, ns *topo.NS, key string) string {
	t.Helper()
	v, err := ns.ReadSysctl(key)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// kinds lists the kinds of changes, for compact assertions.
func kinds(cs []director.Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c.Kind)
	}
	return out
}

// waitStats polls the service's counters until cond holds: the kernel
// folds its per-CPU counters into the dump every two seconds.
func waitStats(t *testing.T, c *ipvs.Client, k ipvs.ServiceKey, what string, cond func(table) bool) table {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		tb := readTable(t, c)
		if cond(tb) {
			return tb
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: counters of %v never got there: %+v", what, k, tb[k].svc.Stats)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// ask makes n requests from the client to addr and counts who answered.
func ask(t *testing.T, client *topo.NS, addr string, n int) map[string]int {
	t.Helper()
	seen, err := client.Tally(addr, n)
	if err != nil {
		t.Fatal(err)
	}
	return seen
}

// hitBoth fails unless rs1 and rs2, and nobody else, answered n requests.
func hitBoth(t *testing.T, client *topo.NS, addr string, n int) {
	t.Helper()
	seen := ask(t, client, addr, n)
	if seen["rs1"] == 0 || seen["rs2"] == 0 || len(seen) != 2 {
		t.Fatalf("answers through %s: %v, want both rs1 and rs2", addr, seen)
	}
}

func contains(t *testing.T, text string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("missing %q in:\n%s", w, text)
		}
	}
}
