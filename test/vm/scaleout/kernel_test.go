package scaleout

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

var cmpAddr = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

// director is a namespace with eth1 on a segment, for the sync daemon.
func director(t *testing.T) *topo.NS {
	tp := topo.New(t)
	d := tp.AddNS("d")
	tp.AddSegment("lan")
	tp.Connect("d", "lan", "eth1", "10.0.0.1/24")
	return d
}

// settle lets freshly started sync threads run. Linux 6.1 can hang
// IPVS_CMD_DEL_DAEMON forever when it comes (within a millisecond, here on
// one vCPU) before the new kernel thread has run once; a director never
// stops a daemon that soon after starting it, this test would.
func settle() { time.Sleep(300 * time.Millisecond) }

func TestSyncDaemonReadBack(t *testing.T) {
	d := director(t)
	c := ipvsIn(t, d)
	ctx := timeout(t, time.Minute)
	want := []ipvs.Daemon{
		{State: ipvs.DaemonMaster, Interface: "eth1", SyncID: 7},
		{State: ipvs.DaemonBackup, Interface: "eth1", SyncID: 7, Group: netip.MustParseAddr("239.1.2.3"), Port: 9000, TTL: 2, MaxLen: 1200},
	}
	have, err := c.Daemons(ctx)
	if err != nil || len(have) != 0 {
		t.Fatalf("daemons in a fresh namespace: %v, %v", have, err)
	}
	if err := ipvs.ApplyDaemons(ctx, c, ipvs.PlanDaemons(want, have)); err != nil {
		t.Fatal(err)
	}
	settle()
	got, err := c.Daemons(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].MaxLen == 0 {
		t.Fatalf("read back %+v", got)
	}
	wantRead := []ipvs.Daemon{
		{State: ipvs.DaemonMaster, Interface: "eth1", SyncID: 7, MaxLen: got[0].MaxLen, Group: ipvs.DefaultSyncGroup, Port: 8848, TTL: 1},
		want[1],
	}
	if diff := cmp.Diff(wantRead, got, cmpAddr); diff != "" {
		t.Fatalf("daemons read back (-want +got):\n%s", diff)
	}
	if p := ipvs.PlanDaemons(want, got); len(p) != 0 {
		t.Fatalf("plan after start: %v, want nothing", p)
	}
	out := run(t, d, "ipvsadm", "-L", "--daemon")
	t.Logf("ipvsadm -L --daemon:\n%s", out)
	for _, s := range []string{"master sync daemon (mcast=eth1, syncid=7", "backup sync daemon (mcast=eth1, syncid=7", "group=239.1.2.3", "port=9000", "ttl=2"} {
		if !strings.Contains(out, s) {
			t.Errorf("ipvsadm does not show %q", s)
		}
	}

	// A changed sync id restarts the master only.
	want[0].SyncID = 8
	plan := ipvs.PlanDaemons(want, got)
	if len(plan) != 2 || plan[0].Kind != ipvs.DaemonStop || plan[1].Daemon != want[0] {
		t.Fatalf("plan for a new sync id: %v", plan)
	}
	if err := ipvs.ApplyDaemons(ctx, c, plan); err != nil {
		t.Fatal(err)
	}
	settle()
	if got, _ = c.Daemons(ctx); len(got) != 2 || got[0].SyncID != 8 || got[1] != want[1] {
		t.Fatalf("after restart: %+v", got)
	}

	// Stop: nothing runs, and a second stop is a no-op.
	if err := ipvs.ApplyDaemons(ctx, c, ipvs.PlanDaemons(nil, got)); err != nil {
		t.Fatal(err)
	}
	if err := ipvs.ApplyDaemons(ctx, c, ipvs.PlanDaemons(nil, got)); err != nil {
		t.Fatalf("stopping stopped daemons: %v", err)
	}
	if got, err := c.Daemons(ctx); err != nil || len(got) != 0 {
		t.Fatalf("daemons after stop: %v, %v", got, err)
	}
	if out := run(t, d, "ipvsadm", "-L", "--daemon"); strings.Contains(out, "sync daemon") {
		t.Fatalf("ipvsadm still shows a daemon:\n%s", out)
	}
}

func TestTimeoutsSetAndRestored(t *testing.T) {
	d := director(t)
	c := ipvsIn(t, d)
	ctx := timeout(t, time.Minute)
	prior, err := c.Timeouts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("prior timeouts: %v", prior)
	want := ipvs.Timeouts{TCP: 1000 * time.Second, TCPFin: 100 * time.Second, UDP: 200 * time.Second}
	set, ok := ipvs.PlanTimeouts(want, prior)
	if !ok {
		t.Fatalf("the kernel's defaults %v equal the test's values", prior)
	}
	if err := ipvs.ApplyTimeouts(ctx, c, set); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Timeouts(ctx); err != nil || got != want {
		t.Fatalf("timeouts read back: %v, %v; want %v", got, err, want)
	}
	if out := run(t, d, "ipvsadm", "-L", "--timeout"); !strings.Contains(out, "1000 100 200") {
		t.Fatalf("ipvsadm -L --timeout:\n%s", out)
	}
	if _, ok := ipvs.PlanTimeouts(want, want); ok {
		t.Fatal("plan after set is not empty")
	}
	set, _ = ipvs.PlanTimeouts(prior, want)
	if err := ipvs.ApplyTimeouts(ctx, c, set); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Timeouts(ctx); err != nil || got != prior {
		t.Fatalf("timeouts after restore: %v, %v; want %v", got, err, prior)
	}
}

func TestServiceFieldsRoundTrip(t *testing.T) {
	d := director(t)
	c := ipvsIn(t, d)
	vip := netip.MustParseAddr("10.0.0.100")
	rs := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, 1, byte(i)}) }
	mh := ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: vip, Port: 80, Scheduler: "mh", Netmask: 32,
		Flags: ipvs.FlagSchedSHFallback | ipvs.FlagSchedSHPort}
	sh := ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.UDP, Address: vip, Port: 53, Scheduler: "sh", Netmask: 32,
		Flags: ipvs.FlagSchedSHPort | ipvs.FlagOnePacket}
	fw := ipvs.Service{Family: ipvs.Inet, FWMark: 10, Scheduler: "rr", Netmask: 32}
	dests := []ipvs.Destination{
		{Family: ipvs.Inet, Address: rs(11), Port: 80, Forward: ipvs.Route, Weight: 1, UpperThreshold: 1000, LowerThreshold: 800},
		{Family: ipvs.Inet, Address: rs(12), Port: 80, Forward: ipvs.Tunnel, Weight: 2, TunnelType: ipvs.TunnelGUE, TunnelPort: 6080, TunnelFlags: ipvs.TunnelCsum},
		{Family: ipvs.Inet, Address: rs(13), Port: 80, Forward: ipvs.Tunnel, Weight: 3, TunnelType: ipvs.TunnelGUE, TunnelPort: 6081, TunnelFlags: ipvs.TunnelRemCsum},
		{Family: ipvs.Inet, Address: rs(14), Port: 80, Forward: ipvs.Tunnel, Weight: 4, TunnelType: ipvs.TunnelGRE, TunnelFlags: ipvs.TunnelCsum},
		{Family: ipvs.Inet, Address: rs(15), Port: 80, Forward: ipvs.Tunnel, Weight: 5, TunnelType: ipvs.TunnelIPIP},
	}
	ops := []ipvs.Op{{Kind: ipvs.OpNewService, Service: mh}, {Kind: ipvs.OpNewService, Service: sh}, {Kind: ipvs.OpNewService, Service: fw}}
	for _, dst := range dests {
		ops = append(ops, ipvs.Op{Kind: ipvs.OpNewDestination, Service: mh, Destination: dst})
	}
	apply(t, c, ops...)

	svcs, err := c.Services(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	gotSvcs := map[ipvs.ServiceKey]ipvs.Service{}
	for _, s := range svcs {
		gotSvcs[s.Key()] = s.Service
	}
	wantSvcs := map[ipvs.ServiceKey]ipvs.Service{mh.Key(): mh, sh.Key(): sh, fw.Key(): fw}
	if diff := cmp.Diff(wantSvcs, gotSvcs, cmpAddr); diff != "" {
		t.Errorf("services read back (-want +got):\n%s", diff)
	}
	ds, err := c.Destinations(context.Background(), mh)
	if err != nil {
		t.Fatal(err)
	}
	got := map[netip.Addr]ipvs.Destination{}
	for _, dd := range ds {
		got[dd.Address] = dd.Destination
	}
	for _, want := range dests {
		if got[want.Address] != want {
			t.Errorf("destination read back %+v, want %+v", got[want.Address], want)
		}
	}
	// ipvsadm's view of the same table (its own decoder).
	out := run(t, d, "ipvsadm", "-Ln")
	t.Logf("ipvsadm -Ln:\n%s", out)
	for _, s := range []string{"mh-fallback", "mh-port", "sh-port", "ops", "FWM  10 rr"} {
		if !strings.Contains(out, s) {
			t.Errorf("ipvsadm -Ln does not show %q", s)
		}
	}
	out = run(t, d, "ipvsadm", "-Ln", "--thresholds")
	if !strings.Contains(out, "1000") || !strings.Contains(out, "800") {
		t.Errorf("ipvsadm -Ln --thresholds does not show 1000/800:\n%s", out)
	}
	out = run(t, d, "ipvsadm", "-Ln", "--tun-info")
	t.Logf("ipvsadm -Ln --tun-info:\n%s", out)
	for _, s := range []string{"gue", "gre", "6080", "6081"} {
		if !strings.Contains(strings.ToLower(out), s) {
			t.Errorf("ipvsadm -Ln --tun-info does not show %q", s)
		}
	}
}

func TestDaemonBinariesRun(t *testing.T) {
	binary(t, "birdcl")
	for _, args := range [][]string{{"bird", "--version"}, {"keepalived", "--version"}} {
		binary(t, args[0])
		out, err := topoless(t, args...)
		if err != nil || !strings.Contains(strings.ToLower(out), args[0]) {
			t.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
