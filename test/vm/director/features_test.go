package director

import (
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

var (
	vipA = netip.MustParseAddr("10.0.0.100")
	vipB = netip.MustParseAddr("10.0.0.101")
	vip6 = netip.MustParseAddr("2001:db8::100")
	a    = netip.MustParseAddr
)

// lone is a topology with one director namespace whose eth0 is on a
// segment.
func lone(t *testing.T) *topo.NS {
	t.Helper()
	tp := topo.New(t)
	d := tp.AddNS("director")
	tp.AddSegment("lan")
	tp.Connect("director", "lan", "eth0", "192.0.2.1/24")
	return d
}

// featureConfig exercises every service feature but SCTP.
func featureConfig() *config.Config {
	return &config.Config{
		Director: config.Director{Interface: "eth0", IPForward: true},
		VirtualServers: []config.VirtualServer{
			{VIP: vipA, Port: 80, Protocol: config.TCP, Scheduler: "wrr", Mode: config.ModeDR, PersistenceNetmask: 32,
				RealServers: []config.RealServer{
					{Address: a("10.0.0.11"), Port: 80, Weight: 1, Mode: config.ModeDR},
					{Address: a("10.0.0.12"), Port: 80, Weight: 3, Mode: config.ModeDR},
					{Address: a("10.0.0.13"), Port: 80, Weight: 0, Mode: config.ModeDR},
				}},
			{VIP: vipA, Port: 53, Protocol: config.UDP, Scheduler: "rr", Mode: config.ModeNAT, PersistenceNetmask: 32,
				RealServers: []config.RealServer{{Address: a("10.0.1.11"), Port: 5353, Weight: 1, Mode: config.ModeNAT}}},
			{VIP: vipB, FWMark: 10, Scheduler: "sh", Mode: config.ModeTUN, PersistenceNetmask: 32,
				RealServers: []config.RealServer{{Address: a("10.0.0.21"), Weight: 2, Mode: config.ModeTUN}}},
			{VIP: vipB, Port: 0, Protocol: config.TCP, Scheduler: "lc", Persistence: 360, PersistenceNetmask: 24, Mode: config.ModeDR,
				RealServers: []config.RealServer{{Address: a("10.0.0.11"), Weight: 1, Mode: config.ModeDR}}},
			{VIP: vip6, Port: 80, Protocol: config.TCP, Scheduler: "mh", Persistence: 60, PersistenceNetmask: 64, Mode: config.ModeDR,
				RealServers: []config.RealServer{{Address: a("2001:db8::11"), Port: 80, Weight: 1, Mode: config.ModeDR}}},
		},
	}
}

type wantService struct {
	svc   ipvs.Service
	dests []ipvs.Destination
}

// featureKernel is what featureConfig must produce, written by hand.
func featureKernel() []wantService {
	v4 := func(s string, port uint16, fwd ipvs.ForwardMethod, w uint32) ipvs.Destination {
		return ipvs.Destination{Family: ipvs.Inet, Address: a(s), Port: port, Forward: fwd, Weight: w}
	}
	return []wantService{
		{ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: vipA, Port: 80, Scheduler: "wrr", Netmask: 32},
			[]ipvs.Destination{v4("10.0.0.11", 80, ipvs.Route, 1), v4("10.0.0.12", 80, ipvs.Route, 3), v4("10.0.0.13", 80, ipvs.Route, 0)}},
		{ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.UDP, Address: vipA, Port: 53, Scheduler: "rr", Netmask: 32},
			[]ipvs.Destination{v4("10.0.1.11", 5353, ipvs.Masq, 1)}},
		{ipvs.Service{Family: ipvs.Inet, FWMark: 10, Scheduler: "sh", Netmask: 32},
			[]ipvs.Destination{v4("10.0.0.21", 0, ipvs.Tunnel, 2)}},
		{ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: vipB, Port: 0, Scheduler: "lc",
			Flags: ipvs.FlagPersistent, Timeout: 360, Netmask: 24},
			[]ipvs.Destination{v4("10.0.0.11", 0, ipvs.Route, 1)}},
		{ipvs.Service{Family: ipvs.Inet6, Protocol: ipvs.TCP, Address: vip6, Port: 80, Scheduler: "mh",
			Flags: ipvs.FlagPersistent, Timeout: 60, Netmask: 64},
			[]ipvs.Destination{{Family: ipvs.Inet6, Address: a("2001:db8::11"), Port: 80, Forward: ipvs.Route, Weight: 1}}},
	}
}

var cmpOpts = cmp.Options{cmpopts.EquateComparable(netip.Addr{})}

// checkTable compares the kernel's table with want, ignoring counters and
// services in except.
func checkTable(t *testing.T, c *ipvs.Client, want []wantService, except ...ipvs.ServiceKey) {
	t.Helper()
	got := map[ipvs.ServiceKey]wantService{}
	for k, e := range readTable(t, c) {
		if slices.Contains(except, k) {
			continue
		}
		w := wantService{svc: e.svc.Service}
		for _, d := range e.dests {
			w.dests = append(w.dests, d.Destination)
		}
		got[k] = w
	}
	wm := map[ipvs.ServiceKey]wantService{}
	for _, w := range want {
		wm[w.svc.Key()] = w
	}
	if diff := cmp.Diff(wm, got, cmpOpts, cmp.AllowUnexported(wantService{})); diff != "" {
		t.Fatalf("IPVS table (-want +got):\n%s", diff)
	}
}

// procFields returns the lines of /proc/net/ip_vs split into fields.
func procFields(text string) [][]string {
	var out [][]string
	for _, l := range strings.Split(text, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			out = append(out, f)
		}
	}
	return out
}

// hasLine reports whether a line of /proc/net/ip_vs starts with prefix.
func hasLine(lines [][]string, prefix ...string) bool {
	return slices.ContainsFunc(lines, func(l []string) bool {
		return len(l) >= len(prefix) && slices.Equal(l[:len(prefix)], prefix)
	})
}

func TestConfigToKernelEveryFeature(t *testing.T) {
	ns := lone(t)
	h := newHost(t, ns).counted()
	c := ipvsIn(t, ns)
	prior := sysctl(t, ns, "net/ipv4/ip_forward")

	res := h.start(featureConfig())
	if h.writes() != 12 { // 5 services, 7 real servers
		t.Errorf("first start made %d IPVS writes, want 12: %v", h.writes(), res.Changes)
	}
	checkTable(t, c, featureKernel())

	// The kernel's own rendering, independent of pkg/ipvs's decoder.
	proc := procFields(procIPVS(t, ns))
	for _, l := range [][]string{
		{"TCP", hex4(vipA, 80), "wrr"},
		{"->", hex4(a("10.0.0.12"), 80), "Route", "3"},
		{"->", hex4(a("10.0.0.13"), 80), "Route", "0"},
		{"UDP", hex4(vipA, 53), "rr"},
		{"->", hex4(a("10.0.1.11"), 5353), "Masq", "1"},
		{"FWM", "0000000A", "sh"},
		{"->", hex4(a("10.0.0.21"), 0), "Tunnel", "2"},
		{"TCP", hex4(vipB, 0), "lc", "persistent"}, // then the timeout in jiffies
	} {
		if !hasLine(proc, l...) {
			t.Errorf("/proc/net/ip_vs lacks a line starting %q:\n%s", l, procIPVS(t, ns))
		}
	}
	// The persistence netmask as the kernel holds it: an IPv4 mask, and an
	// IPv6 prefix length in host byte order (printed through ntohl).
	mask6 := "40000000" // ntohl(64) on a little-endian host
	if binary.NativeEndian.Uint16([]byte{0, 1}) == 1 {
		mask6 = "00000040"
	}
	for _, w := range []struct{ key, last string }{{hex4(vipB, 0), "FFFFFF00"}, {"mh", mask6}} {
		if !slices.ContainsFunc(proc, func(f []string) bool { return slices.Contains(f, w.key) && f[len(f)-1] == w.last }) {
			t.Errorf("/proc/net/ip_vs: the persistent service with %s does not end in netmask %s", w.key, w.last)
		}
	}

	// VIPs: /32 with labels eth0:0 and eth0:1, and a /128.
	got := map[string]string{}
	for _, v := range vips(t, ns, "eth0") {
		got[v.Prefix.String()] = v.Label
	}
	for p, l := range map[string]string{"10.0.0.100/32": "eth0:0", "10.0.0.101/32": "eth0:1", "2001:db8::100/128": ""} {
		if lab, ok := got[p]; !ok || lab != l {
			t.Errorf("eth0: %s with label %q missing (eth0 holds %v)", p, l, got)
		}
	}
	if v := sysctl(t, ns, "net/ipv4/ip_forward"); v != "1" {
		t.Errorf("ip_forward = %s, want 1", v)
	}

	// Second start: no change, no IPVS write.
	before := h.writes()
	if res := h.start(featureConfig()); len(res.Changes) != 0 || h.writes() != before {
		t.Fatalf("second start: %v (%d writes)", res.Changes, h.writes()-before)
	}
	rep := h.status(nil)
	if rep.Drifted() || len(rep.Services) != 5 || rep.IPVSVersion == "" {
		t.Fatalf("status: drift %q, %d services, version %q", rep.Drift, len(rep.Services), rep.IPVSVersion)
	}

	h.stop()
	if len(readTable(t, c)) != 0 {
		t.Fatalf("stop left services: %v", readTable(t, c))
	}
	if len(vips(t, ns, "eth0")) != 1 { // 192.0.2.1/24 only
		t.Fatalf("stop left addresses: %v", vips(t, ns, "eth0"))
	}
	if v := sysctl(t, ns, "net/ipv4/ip_forward"); v != prior {
		t.Errorf("ip_forward = %s after stop, want %s", v, prior)
	}
}

func TestSCTPService(t *testing.T) {
	ns := lone(t)
	h := newHost(t, ns)
	cfg := &config.Config{
		Director: config.Director{Interface: "eth0", IPForward: true},
		VirtualServers: []config.VirtualServer{{VIP: vipA, Port: 3868, Protocol: config.SCTP, Scheduler: "rr", Mode: config.ModeNAT,
			PersistenceNetmask: 32, RealServers: []config.RealServer{{Address: a("10.0.1.12"), Port: 13868, Weight: 1, Mode: config.ModeNAT}}}},
	}
	if _, err := h.tryStart(cfg); errors.Is(err, unix.EPROTONOSUPPORT) {
		t.Skipf("this kernel's IPVS has no SCTP: %v", err)
	} else if err != nil {
		t.Fatal(err)
	}
	checkTable(t, ipvsIn(t, ns), []wantService{{
		ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.SCTP, Address: vipA, Port: 3868, Scheduler: "rr", Netmask: 32},
		[]ipvs.Destination{{Family: ipvs.Inet, Address: a("10.0.1.12"), Port: 13868, Forward: ipvs.Masq, Weight: 1}},
	}})
	if !hasLine(procFields(procIPVS(t, ns)), "SCTP", hex4(vipA, 3868), "rr") {
		t.Errorf("/proc/net/ip_vs:\n%s", procIPVS(t, ns))
	}
	h.stop()
}

func TestEveryScheduler(t *testing.T) {
	loadSchedulers(t)
	ns := lone(t)
	h := newHost(t, ns)
	cfg := &config.Config{Director: config.Director{Interface: "eth0"}}
	var want []wantService
	for i, s := range config.Schedulers {
		port := uint16(1000 + i)
		cfg.VirtualServers = append(cfg.VirtualServers, config.VirtualServer{
			VIP: vipA, Port: port, Protocol: config.TCP, Scheduler: s, Mode: config.ModeDR, PersistenceNetmask: 32,
			RealServers: []config.RealServer{{Address: a("10.0.0.11"), Port: port, Weight: 1, Mode: config.ModeDR}}})
		want = append(want, wantService{
			ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: vipA, Port: port, Scheduler: s, Netmask: 32},
			[]ipvs.Destination{{Family: ipvs.Inet, Address: a("10.0.0.11"), Port: port, Forward: ipvs.Route, Weight: 1}},
		})
	}
	h.start(cfg)
	c := ipvsIn(t, ns)
	checkTable(t, c, want)

	// Rotate every service to the next scheduler: edits only.
	for i := range cfg.VirtualServers {
		next := config.Schedulers[(i+1)%len(config.Schedulers)]
		cfg.VirtualServers[i].Scheduler, want[i].svc.Scheduler = next, next
	}
	res := h.start(cfg)
	for _, k := range kinds(res.Changes) {
		if k != string(director.EditService) {
			t.Fatalf("scheduler change made %v", kinds(res.Changes))
		}
	}
	checkTable(t, c, want)
	h.stop()
}

func TestUnknownSchedulerNamesIt(t *testing.T) {
	ns := lone(t)
	h := newHost(t, ns)
	cfg := &config.Config{Director: config.Director{Interface: "eth0"}, VirtualServers: []config.VirtualServer{
		{VIP: vipA, Port: 80, Protocol: config.TCP, Scheduler: "xyz", Mode: config.ModeDR, PersistenceNetmask: 32}}}
	_, err := h.tryStart(cfg)
	const want = `ipvs: add service tcp 10.0.0.100:80: scheduler "xyz" (module ip_vs_xyz): no such file or directory`
	if err == nil || err.Error() != want || !errors.Is(err, unix.ENOENT) {
		t.Fatalf("start = %v\nwant %s", err, want)
	}
	// The VIP bound before the failure is recorded: stop removes it.
	if !hasAddr(t, ns, "eth0", vipA) {
		t.Fatal("the VIP bound before the failure is gone")
	}
	h.stop()
	if hasAddr(t, ns, "eth0", vipA) {
		t.Fatal("stop left the VIP")
	}
}

func TestDropOneRealServer(t *testing.T) {
	ns := lone(t)
	h := newHost(t, ns).counted()
	cfg := featureConfig()
	cfg.VirtualServers = cfg.VirtualServers[:1]
	h.start(cfg)
	c := ipvsIn(t, ns)
	want := featureKernel()[:1]
	checkTable(t, c, want)

	cfg.VirtualServers[0].RealServers = slices.Delete(cfg.VirtualServers[0].RealServers, 1, 2) // 10.0.0.12
	want[0].dests = slices.Delete(want[0].dests, 1, 2)
	before := h.writes()
	res := h.start(cfg)
	if diff := cmp.Diff([]string{"delete-destination"}, kinds(res.Changes)); diff != "" || h.writes() != before+1 {
		t.Fatalf("changes (-want +got):\n%s(%d writes)", diff, h.writes()-before)
	}
	if !strings.Contains(res.Changes[0].String(), "10.0.0.12:80") {
		t.Fatalf("deleted %v", res.Changes[0])
	}
	checkTable(t, c, want)
	h.stop()
}

func TestForeignServiceSurvives(t *testing.T) {
	ns := lone(t)
	c := ipvsIn(t, ns)
	foreign := ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: a("10.0.0.200"), Port: 443, Scheduler: "rr", Netmask: 32}
	fdest := ipvs.Destination{Family: ipvs.Inet, Address: a("10.0.0.50"), Port: 443, Forward: ipvs.Masq, Weight: 4}
	must(t, c.NewService(context.Background(), foreign))
	must(t, c.NewDestination(context.Background(), foreign, fdest))
	handMade := wantService{foreign, []ipvs.Destination{fdest}}

	h := newHost(t, ns)
	cfg := featureConfig()
	cfg.VirtualServers = cfg.VirtualServers[:1]
	h.start(cfg)
	checkTable(t, c, append(featureKernel()[:1], handMade))

	// A real server added by hand to lvs-rs's service stays too.
	stray := ipvs.Destination{Family: ipvs.Inet, Address: a("10.0.0.99"), Port: 80, Forward: ipvs.Route, Weight: 1}
	own := featureKernel()[0].svc
	must(t, c.NewDestination(context.Background(), own, stray))
	if res := h.start(cfg); len(res.Changes) != 0 {
		t.Fatalf("start after hand edits: %v", res.Changes)
	}
	rep := h.status(nil)
	if rep.Drifted() || len(rep.Services) != 1 || len(rep.Services[0].Destinations) != 3 {
		t.Fatalf("status: drift %q, services %+v", rep.Drift, rep.Services)
	}
	var table strings.Builder
	must(t, rep.WriteTable(&table))
	if strings.Contains(table.String(), "10.0.0.200") || strings.Contains(table.String(), "10.0.0.99") {
		t.Fatalf("status reports what lvs-rs did not create:\n%s", table.String())
	}

	res := h.stop()
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "10.0.0.99:80") {
		t.Fatalf("stop warnings %q", res.Warnings)
	}
	// lvs-rs's real servers are gone; its service stays for the stray one.
	checkTable(t, c, []wantService{handMade, {own, []ipvs.Destination{stray}}})
}

func TestForeignServiceSameKeyRefused(t *testing.T) {
	ns := lone(t)
	c := ipvsIn(t, ns)
	hand := featureKernel()[0].svc
	hand.Scheduler = "lc"
	must(t, c.NewService(context.Background(), hand))
	h := newHost(t, ns)
	cfg := featureConfig()
	cfg.VirtualServers = cfg.VirtualServers[:1]
	_, err := h.tryStart(cfg)
	if !errors.Is(err, director.ErrForeignService) || !strings.Contains(err.Error(), "tcp 10.0.0.100:80") {
		t.Fatalf("start = %v, want ErrForeignService", err)
	}
	checkTable(t, c, []wantService{{hand, nil}})
	if hasAddr(t, ns, "eth0", vipA) {
		t.Fatal("a refused start bound the VIP")
	}
}

// loadSchedulers loads every scheduler module before the test. Thirteen
// kernel autoloads inside one pipelined sendmsg were seen to leave the
// test bed's kernel waiting for good for busybox's modprobe when the host
// was busy (the guest idle, the sendmsg never returning); a real host's
// kmod is not in question, and every other test still autoloads its
// scheduler through lvs-rs.
func loadSchedulers(t *testing.T) {
	t.Helper()
	for _, s := range config.Schedulers {
		if out, err := exec.Command("modprobe", "ip_vs_"+s).CombinedOutput(); err != nil {
			t.Fatalf("modprobe ip_vs_%s: %v: %s", s, err, out)
		}
	}
}

// TestMissingServiceDestinations pins what the IPVS client documents: the
// kernel's dump of a missing service's real servers is an empty list, not
// a refusal (so the director reads a service deleted under it as one
// without real servers), while asking for the service itself is ESRCH.
func TestMissingServiceDestinations(t *testing.T) {
	c := ipvsIn(t, lone(t))
	missing := featureKernel()[0].svc
	ds, err := c.DestinationConfigs(context.Background(), missing)
	if err != nil || len(ds) != 0 {
		t.Fatalf("DestinationConfigs of a missing service = %v, %v; want none, no error", ds, err)
	}
	calls := 0
	err = c.DestinationsOf(context.Background(), []ipvs.Service{missing}, func(int, []ipvs.DestinationExtended) { calls++ })
	if err != nil || calls != 1 {
		t.Fatalf("DestinationsOf a missing service: %v, %d calls; want one call with none", err, calls)
	}
	if _, err := c.Service(context.Background(), missing.Key()); !errors.Is(err, unix.ESRCH) {
		t.Fatalf("Service of a missing one = %v, want ESRCH", err)
	}
}
