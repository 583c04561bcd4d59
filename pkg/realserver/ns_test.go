package realserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvs-rs/lvs-rs/internal/nlretry"
	"github.com/lvs-rs/lvs-rs/internal/nstest"
	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
	"github.com/lvs-rs/lvs-rs/pkg/tunnel"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// rsHost is a fresh namespace acting as one real server, with its own
// state directory.
type rsHost struct {
	t   *testing.T
	ns  *nstest.NS
	opt Options
}

func newHost(t *testing.T) *rsHost {
	ns := nstest.New(t)
	return &rsHost{t: t, ns: ns, opt: Options{StateDir: filepath.Join(t.TempDir(), "state"), Handle: ns.Handle}}
}

// in runs fn on a thread inside the namespace (so /proc/sys/net is its).
func (h *rsHost) in(fn func() error) {
	h.t.Helper()
	if err := h.ns.Do(fn); err != nil {
		h.t.Fatal(err)
	}
}

func (h *rsHost) start(d Desired) Result {
	h.t.Helper()
	var res Result
	h.in(func() (err error) { res, err = Start(context.Background(), d, h.opt); return err })
	return res
}

func (h *rsHost) stop() Result {
	h.t.Helper()
	var res Result
	h.in(func() (err error) { res, err = Stop(context.Background(), h.opt); return err })
	return res
}

func (h *rsHost) status(d *Desired) *Report {
	h.t.Helper()
	var r *Report
	h.in(func() (err error) { r, err = Status(context.Background(), d, h.opt); return err })
	return r
}

func (h *rsHost) sysctl(k string) string {
	h.t.Helper()
	var v string
	h.in(func() (err error) { v, err = sysctl.Proc().Read(sysctl.ParseKey(k)); return err })
	return v
}

func (h *rsHost) setSysctl(k, v string) {
	h.t.Helper()
	// Written directly: test setup may touch parameters outside the set
	// the product manages (sysctl.Key.Validate), such as disable_ipv6.
	h.in(func() error { return os.WriteFile(filepath.Join("/proc/sys", k), []byte(v+"\n"), 0) })
}

// kernelState is what the namespace holds, read back through netlink and
// /proc/sys.
type kernelState struct {
	Addrs   []string
	Routes  []string
	Sysctls map[string]string
	Links   []string
}

var watched = []string{loI, loA, allI, allA, allR, "net/ipv4/conf/lo/rp_filter", "net/ipv4/conf/default/arp_ignore", "net/ipv4/conf/default/arp_announce"}

func (h *rsHost) snap() kernelState {
	h.t.Helper()
	s := kernelState{Sysctls: map[string]string{}}
	links, err := nlretry.Dump(h.ns.Handle.LinkList)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, l := range links {
		// Administrative state only: carrier (running) comes and goes
		// on its own.
		s.Links = append(s.Links, fmt.Sprintf("%s up=%v", l.Attrs().Name, l.Attrs().Flags&net.FlagUp != 0))
		as, err := vip.List(h.ns.Handle, l.Attrs().Name)
		if err != nil {
			h.t.Fatal(err)
		}
		for _, a := range as {
			s.Addrs = append(s.Addrs, a.String())
		}
	}
	rs, err := topo.RoutesOf(h.ns.Handle)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, r := range rs {
		// The local table follows the addresses (compared above), and
		// the kernel fills it asynchronously for IPv6 (a /128's local
		// route appears a moment after the address).
		if r.Table == unix.RT_TABLE_LOCAL {
			continue
		}
		s.Routes = append(s.Routes, routeLine(r))
	}
	for _, k := range watched {
		s.Sysctls[k] = h.sysctl(k)
	}
	slices.Sort(s.Addrs)
	slices.Sort(s.Routes)
	return s
}

// rawRoute is netlink.Route without its String method, so that %+v
// prints every field: metric, protocol, type, scope, table, metrics, and
// each next hop with its weight and flags.
type rawRoute netlink.Route

func routeLine(r netlink.Route) string { return fmt.Sprintf("%+v", rawRoute(r)) }

func hasAddr(t *testing.T, h *netlink.Handle, want vip.Addr) bool {
	t.Helper()
	as, err := vip.List(h, want.Dev)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Contains(as, want)
}

func kinds(cs []Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.String())
	}
	return out
}

func TestKernelDR(t *testing.T) {
	h := newHost(t)
	// Someone else's state that must survive: a non-default arp_announce
	// and a foreign /32 on lo holding the label lo:0.
	h.setSysctl(allA, "1")
	foreign := vip.Addr{Dev: "lo", Prefix: netip.MustParsePrefix("192.0.2.50/32"), Label: "lo:0", HostScope: true}
	if err := vip.Bind(h.ns.Handle, foreign); err != nil {
		t.Fatal(err)
	}
	before := h.snap()
	d := Desired{Bindings: dr(vip1, vip6)}

	// Dry run: the plan, and nothing written.
	var dry Result
	h.in(func() (err error) {
		o := h.opt
		o.DryRun = true
		dry, err = Start(context.Background(), d, o)
		return err
	})
	if len(dry.Changes) == 0 {
		t.Fatal("dry run planned nothing")
	}
	if d := cmp.Diff(before, h.snap()); d != "" {
		t.Fatalf("dry run changed the kernel (-before +after):\n%s", d)
	}
	if _, err := os.Stat(filepath.Join(h.opt.StateDir, Role+".json")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("dry run wrote state: %v", err)
	}

	// Start.
	res := h.start(d)
	if d := cmp.Diff(kinds(dry.Changes), kinds(res.Changes)); d != "" {
		t.Errorf("start did other than the dry run said (-dry +start):\n%s", d)
	}
	want4 := vip.Addr{Dev: "lo", Prefix: netip.MustParsePrefix("10.0.0.100/32"), Label: "lo:1", HostScope: true}
	want6 := vip.Addr{Dev: "lo", Prefix: netip.MustParsePrefix("2001:db8::100/128")}
	for _, a := range []vip.Addr{want4, want6, foreign} {
		if !hasAddr(t, h.ns.Handle, a) {
			t.Errorf("after start, %v is not on lo", a)
		}
	}
	for k, v := range map[string]string{loI: "1", loA: "2", allI: "1", allA: "2"} {
		if got := h.sysctl(k); got != v {
			t.Errorf("after start, %s = %s, want %s", k, got, v)
		}
	}
	applied := h.snap()
	statePath := filepath.Join(h.opt.StateDir, Role+".json")
	st1, err := os.Stat(statePath)
	if err != nil {
		t.Fatal(err)
	}
	if st1.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v", st1.Mode().Perm())
	}

	// Second start: no change, and the kernel and the record as they were.
	if res := h.start(d); len(res.Changes) != 0 {
		t.Errorf("second start changed %q", kinds(res.Changes))
	}
	if d := cmp.Diff(applied, h.snap()); d != "" {
		t.Errorf("second start changed the kernel (-first +second):\n%s", d)
	}
	if st2, err := os.Stat(statePath); err != nil || !st2.ModTime().Equal(st1.ModTime()) {
		t.Errorf("second start rewrote the state record (%v)", err)
	}

	// Status: applied, no drift, from the state alone and from the config.
	for _, want := range []*Desired{nil, &d} {
		r := h.status(want)
		if !r.Applied || len(r.Drift) != 0 || len(r.VIPs) != 2 || !r.VIPs[0].Present || r.VIPs[0].Owner != "lvs-rs" {
			t.Errorf("status(%v) = %+v", want != nil, r)
		}
	}

	// Someone removes the VIP: status shows it, start puts it back.
	if err := vip.Unbind(h.ns.Handle, want4); err != nil {
		t.Fatal(err)
	}
	r := h.status(nil)
	if len(r.Drift) != 1 || !strings.Contains(r.Drift[0], "10.0.0.100") || r.VIPs[0].Present {
		t.Errorf("status after the VIP was removed: drift %q, rows %+v", r.Drift, r.VIPs)
	}
	if res := h.start(d); len(res.Changes) != 1 || res.Changes[0].Kind != Bind {
		t.Errorf("start after drift: %q", kinds(res.Changes))
	}
	if !hasAddr(t, h.ns.Handle, want4) {
		t.Error("start did not re-add the VIP")
	}
	if r := h.status(nil); len(r.Drift) != 0 {
		t.Errorf("drift after start: %q", r.Drift)
	}

	// Stop: exactly as before.
	if res := h.stop(); len(res.Changes) == 0 {
		t.Error("stop changed nothing")
	}
	if d := cmp.Diff(before, h.snap()); d != "" {
		t.Errorf("stop did not restore the namespace (-before +after):\n%s", d)
	}
	if h.sysctl(allA) != "1" || !hasAddr(t, h.ns.Handle, foreign) {
		t.Error("the foreign arp_announce or /32 did not survive")
	}
	if r := h.status(nil); r.Applied || r.Source != "none" {
		t.Errorf("status after stop: %+v", r)
	}
	// Stop again: success, nothing to do.
	if res := h.stop(); len(res.Changes) != 0 {
		t.Errorf("second stop: %q", kinds(res.Changes))
	}
}

func TestKernelDRAdoptAndForeignSysctl(t *testing.T) {
	h := newHost(t)
	adopted := vip.Addr{Dev: "lo", Prefix: vip.HostPrefix(vip1)}
	if err := vip.Bind(h.ns.Handle, adopted); err != nil {
		t.Fatal(err)
	}
	h.setSysctl(loI, "0")
	h.setSysctl(allA, "0")
	d := Desired{Bindings: dr(vip1, vip2)}
	res := h.start(d)
	for _, c := range res.Changes {
		if c.Kind == Bind && c.Addr.Prefix.Addr() == vip1 {
			t.Error("start bound an address that was already there")
		}
	}
	// The config drops vip2: only vip2 goes.
	res = h.start(Desired{Bindings: dr(vip1)})
	if len(res.Changes) != 1 || res.Changes[0].Kind != Unbind || res.Changes[0].Addr.Prefix.Addr() != vip2 {
		t.Errorf("dropping vip2: %q", kinds(res.Changes))
	}
	// Someone changes a sysctl lvs-rs wrote: stop leaves it and warns.
	h.setSysctl(allA, "1")
	res = h.stop()
	if h.sysctl(allA) != "1" || len(res.Warnings) == 0 || !strings.Contains(strings.Join(res.Warnings, "\n"), allA) {
		t.Errorf("foreign sysctl: value %s, warnings %q", h.sysctl(allA), res.Warnings)
	}
	if h.sysctl(loI) != "0" {
		t.Errorf("lo/arp_ignore = %s after stop, want its prior 0", h.sysctl(loI))
	}
	if !hasAddr(t, h.ns.Handle, adopted) {
		t.Error("stop removed an adopted VIP")
	}
}

func TestKernelNAT(t *testing.T) {
	h := newHost(t)
	nh := h.ns.Handle
	eth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0"}, PeerName: "peer0"}
	if err := nh.LinkAdd(eth); err != nil {
		t.Fatal(err)
	}
	link, err := nh.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if err := nh.AddrAdd(link, &netlink.Addr{IPNet: mustNet("10.9.0.2/24")}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"eth0", "peer0"} {
		// No IPv6 here: link-local addresses would appear on their own
		// while the test compares snapshots.
		h.setSysctl("net/ipv6/conf/"+name+"/disable_ipv6", "1")
		l, err := nh.LinkByName(name)
		if err == nil {
			err = nh.LinkSetUp(l)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// The host's own default route, which nat must replace and stop
	// must put back; and one at another metric that must stay.
	for _, r := range []*netlink.Route{
		{Gw: net.ParseIP("10.9.0.254"), LinkIndex: link.Attrs().Index},
		{Gw: net.ParseIP("10.9.0.253"), LinkIndex: link.Attrs().Index, Priority: 200},
	} {
		if err := nh.RouteAdd(r); err != nil {
			t.Fatal(err)
		}
	}
	before := h.snap()
	gwAddr := netip.MustParseAddr("10.9.0.1")
	d := Desired{Bindings: bind(config.ModeNAT, vip1), Gateways: gws(gwAddr)}

	res := h.start(d)
	if len(res.Changes) != 1 || res.Changes[0].Kind != ReplaceRoute || res.Changes[0].Old == nil {
		t.Fatalf("nat start: %q", kinds(res.Changes))
	}
	defaults := func() []string {
		var out []string
		for _, r := range h.snap().Routes {
			if strings.Contains(r, "Dst:0.0.0.0/0") {
				out = append(out, r)
			}
		}
		return out
	}
	got := strings.Join(defaults(), "\n")
	if !strings.Contains(got, "Gw:10.9.0.1 ") || strings.Contains(got, "Gw:10.9.0.254 ") || !strings.Contains(got, "Gw:10.9.0.253 ") {
		t.Errorf("default routes after start:\n%s", got)
	}
	applied := h.snap()
	if res := h.start(d); len(res.Changes) != 0 {
		t.Errorf("second start: %q", kinds(res.Changes))
	}
	if d := cmp.Diff(applied, h.snap()); d != "" {
		t.Errorf("second start changed the kernel:\n%s", d)
	}
	if r := h.status(nil); !r.Applied || len(r.Drift) != 0 || r.Route == nil || !r.Route.Present || r.Route.Owner != "lvs-rs" {
		t.Errorf("status: %+v %+v", r, r.Route)
	}
	// Someone deletes the route: drift, and start puts it back.
	if err := nh.RouteDel(&netlink.Route{Gw: net.ParseIP("10.9.0.1"), Dst: mustNet("0.0.0.0/0")}); err != nil {
		t.Fatal(err)
	}
	if r := h.status(nil); len(r.Drift) != 1 || !strings.Contains(r.Drift[0], "10.9.0.1") {
		t.Errorf("status after route removal: %q", r.Drift)
	}
	if res := h.start(d); len(res.Changes) != 1 {
		t.Errorf("start after drift: %q", kinds(res.Changes))
	}
	if d := cmp.Diff(applied, h.snap()); d != "" {
		t.Errorf("start did not converge back:\n%s", d)
	}
	h.stop()
	if d := cmp.Diff(before, h.snap()); d != "" {
		t.Errorf("stop did not restore the namespace (-before +after):\n%s", d)
	}
	if res := h.stop(); len(res.Changes) != 0 {
		t.Errorf("second stop: %q", kinds(res.Changes))
	}
}

// TestKernelTunWithoutIPIP runs where the kernel lacks ipip (this host):
// start fails with ErrNoIPIP naming ipip and leaves nothing behind. Where
// ipip exists, the VM suite covers tun.
func TestKernelTunWithoutIPIP(t *testing.T) {
	h := newHost(t)
	if l, err := tunnel.Observe(h.ns.Handle); err != nil || l.Exists {
		t.Skipf("tunl0 exists here (%v): covered by the VM suite", err)
	}
	before := h.snap()
	var err error
	h.in(func() error { _, err = Start(context.Background(), Desired{Bindings: tun(vip1)}, h.opt); return nil })
	if l, _ := tunnel.Observe(h.ns.Handle); l.Exists {
		t.Skip("this kernel loaded ipip: covered by the VM suite")
	}
	if !errors.Is(err, tunnel.ErrNoIPIP) || !strings.Contains(err.Error(), "ipip") {
		t.Fatalf("start tun = %v, want ErrNoIPIP", err)
	}
	if d := cmp.Diff(before, h.snap()); d != "" {
		t.Errorf("failed start changed the kernel:\n%s", d)
	}
	if r := h.status(nil); r.Applied {
		t.Error("a start that failed at its first step left a record")
	}
}

func TestIsLocal(t *testing.T) {
	h := newHost(t)
	if err := vip.Bind(h.ns.Handle, vip.Addr{Dev: "lo", Prefix: netip.MustParsePrefix("10.7.0.1/32")}); err != nil {
		t.Fatal(err)
	}
	is, err := IsLocal(h.ns.Handle)
	if err != nil {
		t.Fatal(err)
	}
	for a, want := range map[string]bool{"10.7.0.1": true, "127.0.0.1": true, "::1": true, "::ffff:10.7.0.1": true, "10.7.0.2": false} {
		if got := is(netip.MustParseAddr(a)); got != want {
			t.Errorf("IsLocal(%s) = %v, want %v", a, got, want)
		}
	}
}

// mustNet parses an address with its prefix length, keeping the address
// (10.9.0.2/24 stays 10.9.0.2, not 10.9.0.0).
func mustNet(s string) *net.IPNet {
	n, err := netlink.ParseIPNet(s)
	if err != nil {
		panic(err)
	}
	return n
}

// TestKernelGREWithoutIPGRE: on a kernel without ip_gre (this host's),
// start for a gre VIP fails with ErrNoGRE naming ip_gre and leaves
// nothing behind. Where ip_gre exists, the VM suite covers gre.
func TestKernelGREWithoutIPGRE(t *testing.T) {
	h := newHost(t)
	if l, err := tunnel.GRE.Observe(h.ns.Handle); err != nil || l.Exists {
		t.Skipf("gre0 exists here (%v): covered by the VM suite", err)
	}
	before := h.snap()
	var err error
	h.in(func() error { _, err = Start(context.Background(), Desired{Bindings: gre(vip1)}, h.opt); return nil })
	if l, _ := tunnel.GRE.Observe(h.ns.Handle); l.Exists {
		t.Skip("this kernel loaded ip_gre: covered by the VM suite")
	}
	if !errors.Is(err, tunnel.ErrNoGRE) || !strings.Contains(err.Error(), "ip_gre") {
		t.Fatalf("start gre = %v, want ErrNoGRE", err)
	}
	if d := cmp.Diff(before, h.snap()); d != "" {
		t.Errorf("failed start changed the kernel:\n%s", d)
	}
	if r := h.status(nil); r.Applied {
		t.Error("a start that failed at its first step left a record")
	}
}

// TestKernelGUEDryRun: lvs-rs start --dry-run for a gue VIP plans, from a
// real kernel's answers (the generic netlink families listed, fou's
// ports read when it is loaded), tunl0, fou and the GUE receive port of
// the director's UDP port before the VIP on tunl0; it writes nothing.
func TestKernelGUEDryRun(t *testing.T) {
	h := newHost(t)
	before := h.snap()
	opt := h.opt
	opt.DryRun = true
	var res Result
	h.in(func() (err error) {
		res, err = Start(context.Background(), Desired{Bindings: gue(6080, vip1)}, opt)
		return err
	})
	got := kinds(res.Changes)
	t.Logf("plan:\n%s", strings.Join(got, "\n"))
	at := func(s string) int {
		return slices.IndexFunc(got, func(c string) bool { return strings.HasPrefix(c, s) })
	}
	port, bind := at("add gue receive port 6080"), at("bind "+vip1.String()+"/32 dev tunl0")
	if port < 0 || bind < 0 || port > bind {
		t.Errorf("plan lacks the GUE receive port before the VIP on tunl0")
	}
	if l, _ := tunnel.Observe(h.ns.Handle); !l.Up && at("set tunl0 up") < 0 {
		t.Error("plan does not bring tunl0 up")
	}
	if d := cmp.Diff(before, h.snap()); d != "" {
		t.Errorf("a dry run changed the kernel:\n%s", d)
	}
}
