package director

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/nstest"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/state"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
)

// bed is a director under test: a fresh namespace with an eth0 (a bridge:
// the dummy module is not everywhere), a
// fake /proc/sys and a fake IPVS table.
type bed struct {
	t    *testing.T
	ns   *nstest.NS
	k    *fakeKernel
	tree sysctl.Tree
	dir  string
}

func newBed(t *testing.T) *bed {
	t.Helper()
	ns := nstest.New(t)
	link := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "eth0"}}
	if err := ns.Handle.LinkAdd(link); err != nil {
		t.Fatalf("add eth0: %v", err)
	}
	if err := ns.Handle.LinkSetUp(link); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	p := filepath.Join(root, "net/ipv4/ip_forward")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &bed{t: t, ns: ns, k: newFakeKernel(), tree: sysctl.Tree{Root: root}, dir: filepath.Join(t.TempDir(), "state")}
}

func (b *bed) opts() Options {
	return Options{StateDir: b.dir, Handle: b.ns.Handle, Sysctl: b.tree, IPVS: b.k}
}

func (b *bed) addrs() []netip.Addr {
	b.t.Helper()
	as, err := vip.List(b.ns.Handle, "eth0")
	if err != nil {
		b.t.Fatal(err)
	}
	var out []netip.Addr
	for _, a := range as {
		if !a.Prefix.Addr().IsLinkLocalUnicast() {
			out = append(out, a.Prefix.Addr())
		}
	}
	return out
}

func (b *bed) ipForward() string {
	b.t.Helper()
	v, err := b.tree.Read(sysctl.IPForward())
	if err != nil {
		b.t.Fatal(err)
	}
	return v
}

func (b *bed) recorded() bool {
	var r record
	ok, err := state.Store{Dir: b.dir}.Load(Role, &r)
	if err != nil {
		b.t.Fatal(err)
	}
	return ok
}

func (b *bed) start(cfg *config.Config) Result {
	b.t.Helper()
	res, err := Start(context.Background(), cfg, b.opts())
	if err != nil {
		b.t.Fatalf("Start: %v", err)
	}
	return res
}

func TestStartStatusStop(t *testing.T) {
	b := newBed(t)
	foreign := ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: vip2, Port: 443, Scheduler: "rr", Netmask: 32}
	b.k.services = append(b.k.services, ipvs.ServiceExtended{Service: foreign})
	cfg := web()
	cfg.Director.IPForward = true

	res := b.start(cfg)
	if len(res.Changes) != 5 || b.k.writes != 3 {
		t.Fatalf("first start: %d changes, %d IPVS writes; want 5 and 3:\n%v", len(res.Changes), b.k.writes, res.Changes)
	}
	if got := b.addrs(); len(got) != 1 || got[0] != vip1 {
		t.Fatalf("eth0 holds %v, want the VIP", got)
	}
	if b.ipForward() != "1" {
		t.Fatal("ip_forward not set")
	}

	// Second start: nothing to do, no write at all.
	writes := b.k.writes
	if res := b.start(cfg); len(res.Changes) != 0 || b.k.writes != writes {
		t.Fatalf("second start: %v, %d writes", res.Changes, b.k.writes-writes)
	}

	rep, err := Status(context.Background(), nil, b.opts())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.IsApplied() || rep.Drifted() || len(rep.Services) != 1 || len(rep.Services[0].Destinations) != 2 {
		t.Fatalf("status after start: %+v", rep)
	}
	// Status reads the counters a converge leaves out.
	for i := range b.k.dests[svcKey(80)] {
		x := &b.k.dests[svcKey(80)][i]
		x.ActiveConnections, x.Stats.Connections = uint32(i+3), uint64(i+10)
	}
	if rep, err = Status(context.Background(), nil, b.opts()); err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Services[0].Destinations {
		if r.ActiveConns < 3 || r.Stats.Connections < 10 {
			t.Fatalf("status without the counters: %+v", r)
		}
	}
	var table strings.Builder
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(table.String(), "10.0.0.200") || !strings.Contains(table.String(), "TCP  10.0.0.100:80") {
		t.Fatalf("table shows a foreign service or misses its own:\n%s", table.String())
	}

	// Someone changes a weight: drift; start edits it back in place.
	b.k.dests[svcKey(80)][0].Weight = 7
	rep, _ = Status(context.Background(), nil, b.opts())
	if len(rep.Drift) != 1 || !strings.Contains(rep.Drift[0], "weight 7 -> 1") {
		t.Fatalf("drift = %q", rep.Drift)
	}
	writes = b.k.writes
	if res := b.start(cfg); len(res.Changes) != 1 || res.Changes[0].Kind != EditDestination || b.k.writes != writes+1 {
		t.Fatalf("repair: %v", res.Changes)
	}

	res, err = Stop(context.Background(), b.opts())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != 3 {
		t.Fatalf("stop changes: %v", res.Changes)
	}
	if got := b.addrs(); len(got) != 0 {
		t.Fatalf("eth0 still holds %v", got)
	}
	if b.ipForward() != "0" || b.recorded() {
		t.Fatalf("ip_forward %s, record left %v", b.ipForward(), b.recorded())
	}
	if len(b.k.services) != 1 || b.k.services[0].Service != foreign {
		t.Fatalf("kernel after stop: %+v", b.k.services)
	}
	// Stop again: nothing applied, success.
	if res, err := Stop(context.Background(), b.opts()); err != nil || len(res.Changes) != 0 {
		t.Fatalf("second stop: %v, %v", res.Changes, err)
	}
	if rep, err := Status(context.Background(), nil, b.opts()); err != nil || rep.IsApplied() {
		t.Fatalf("status after stop: %+v, %v", rep, err)
	}
}

func TestStartNoIPVSChangesNothing(t *testing.T) {
	b := newBed(t)
	b.k.noIPVS = true
	_, err := Start(context.Background(), web(), b.opts())
	if !errors.Is(err, ErrNoIPVS) || !strings.Contains(err.Error(), "ip_vs") {
		t.Fatalf("Start = %v, want ErrNoIPVS naming ip_vs", err)
	}
	if len(b.addrs()) != 0 || b.recorded() || b.k.writes != 0 {
		t.Fatal("something changed on a kernel without IPVS")
	}
}

func TestStartRealKernelWithoutIPVS(t *testing.T) {
	b := newBed(t)
	if k, err := ipvs.Dial(nil); err == nil {
		k.Close()
		t.Skip("this kernel has IPVS")
	}
	loads := 0
	defer func(m func(context.Context) error) { modprobe = m }(modprobe)
	modprobe = func(context.Context) error { loads++; return errors.New("modprobe: not here") }
	o := b.opts()
	o.IPVS = nil
	_, err := Start(context.Background(), web(), o)
	if !errors.Is(err, ErrNoIPVS) || loads != 1 {
		t.Fatalf("Start = %v after %d modprobe calls; want ErrNoIPVS after 1", err, loads)
	}
	if len(b.addrs()) != 0 || b.recorded() {
		t.Fatal("something changed on a kernel without IPVS")
	}
	if _, err := Status(context.Background(), web(), o); err != nil {
		t.Fatalf("status with nothing applied must not need IPVS: %v", err)
	}
}

func TestStartRefusesForeignService(t *testing.T) {
	b := newBed(t)
	b.k.services = append(b.k.services, ipvs.ServiceExtended{Service: svc(80)})
	_, err := Start(context.Background(), web(), b.opts())
	if !errors.Is(err, ErrForeignService) || !strings.Contains(err.Error(), "tcp 10.0.0.100:80") {
		t.Fatalf("Start = %v, want ErrForeignService naming the service", err)
	}
	if len(b.addrs()) != 0 || b.recorded() || b.k.writes != 0 {
		t.Fatal("something changed")
	}
}

func TestStartFailsHalfwayThenConverges(t *testing.T) {
	for _, pipelined := range []bool{false, true} {
		b := newBed(t)
		b.k.pipelined = pipelined
		b.k.failOn = "add destination 10.0.0.11:80 in tcp 10.0.0.100:80"
		_, err := Start(context.Background(), web(), b.opts())
		if !errors.Is(err, unix.EPERM) || !strings.Contains(err.Error(), "10.0.0.11:80") {
			t.Fatalf("pipelined=%v: Start = %v, want EPERM naming the real server", pipelined, err)
		}
		if len(b.addrs()) != 1 || !b.recorded() {
			t.Fatalf("pipelined=%v: the VIP bound before the failure is not kept and recorded", pipelined)
		}
		b.k.failOn = ""
		res := b.start(web())
		// rs1 alone: rs2 was added past the failure, also by a kernel
		// that stopped there (what it did not attempt is sent again).
		if want := 1; len(res.Changes) != want {
			t.Fatalf("pipelined=%v: rerun changes %v", pipelined, res.Changes)
		}
		if _, err := Stop(context.Background(), b.opts()); err != nil {
			t.Fatal(err)
		}
		if len(b.k.services) != 0 || len(b.addrs()) != 0 || b.recorded() {
			t.Fatalf("pipelined=%v: stop left %v, %v", pipelined, b.k.services, b.addrs())
		}
	}
}

func TestUnknownSchedulerRecordsAndStops(t *testing.T) {
	b := newBed(t)
	cfg := web()
	cfg.VirtualServers[0].Scheduler = "xyz"
	_, err := Start(context.Background(), cfg, b.opts())
	if !errors.Is(err, unix.ENOENT) {
		t.Fatalf("Start = %v, want ENOENT", err)
	}
	if len(b.k.services) != 0 || b.k.writes != 1 {
		t.Fatalf("kernel after the failed add: %v (%d writes)", b.k.services, b.k.writes)
	}
	if res, err := Stop(context.Background(), b.opts()); err != nil || len(res.Changes) != 1 || len(b.addrs()) != 0 {
		t.Fatalf("stop: %v, %v; eth0 %v", res.Changes, err, b.addrs())
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	b := newBed(t)
	o := b.opts()
	o.DryRun = true
	res, err := Start(context.Background(), web(), o)
	if err != nil || len(res.Changes) != 4 {
		t.Fatalf("dry run: %v, %v", res.Changes, err)
	}
	if len(b.addrs()) != 0 || b.recorded() || b.k.writes != 0 {
		t.Fatal("dry run changed something")
	}
}

func TestStopReleasesServiceWithForeignRealServer(t *testing.T) {
	b := newBed(t)
	b.start(web())
	b.k.dests[svcKey(80)] = append(b.k.dests[svcKey(80)], ipvs.DestinationExtended{Destination: dst(rs3, 80, ipvs.Route, 1)})
	res, err := Stop(context.Background(), b.opts())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "10.0.0.13:80") {
		t.Fatalf("warnings %q", res.Warnings)
	}
	ds := b.k.dests[svcKey(80)]
	if len(b.k.services) != 1 || len(ds) != 1 || ds[0].Address != rs3 || b.recorded() {
		t.Fatalf("after stop: services %v dests %v", b.k.services, ds)
	}
}

func TestDryRunWithoutIPVSPlansEverything(t *testing.T) {
	b := newBed(t)
	b.k.noIPVS = true
	o := b.opts()
	o.DryRun = true
	res, err := Start(context.Background(), web(), o)
	if err != nil || len(res.Changes) != 4 || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "ip_vs") {
		t.Fatalf("dry run without IPVS: %v, %q, %v", res.Changes, res.Warnings, err)
	}
	if len(b.addrs()) != 0 || b.recorded() {
		t.Fatal("dry run changed something")
	}
}
