package realserver

import (
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	rs "github.com/lvs-rs/lvs-rs/pkg/realserver"
	"github.com/lvs-rs/lvs-rs/pkg/state"
	"github.com/lvs-rs/lvs-rs/pkg/tunnel"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
)

var tunVIP = netip.MustParseAddr("203.0.113.100")

var allKeys = []string{key("all", "arp_ignore"), key("all", "arp_announce"), key("all", "rp_filter"), key("lo", "arp_ignore"), key("lo", "arp_announce")}
var tunKeys = []string{key("tunl0", "arp_ignore"), key("tunl0", "arp_announce"), key("tunl0", "rp_filter")}

// TestTunStartStop: tunl0 down (or absent) before start is down again after
// stop, every sysctl is back, the VIP is gone, and the repeats are no-ops.
func TestTunStartStop(t *testing.T) {
	h := newHost(t, topo.New(t).AddNS("rs"))
	h.setSysctl(key("all", "rp_filter"), "1")
	h.setSysctl(key("all", "arp_announce"), "1")
	existed, up := h.link(tunnel.Dev)
	if up {
		t.Fatal("tunl0 is up in a fresh namespace")
	}
	before := map[string]string{}
	for _, k := range allKeys {
		before[k] = h.sysctl(k)
	}
	if existed {
		for _, k := range tunKeys {
			before[k] = h.sysctl(k)
		}
	}
	d := rs.Desired{Bindings: binding(config.ModeTUN, tunVIP)}

	res := h.start(d)
	if len(res.Changes) == 0 {
		t.Fatal("start changed nothing")
	}
	if ex, up := h.link(tunnel.Dev); !ex || !up {
		t.Fatalf("after start tunl0 exists=%v up=%v", ex, up)
	}
	want := vip.Addr{Dev: tunnel.Dev, Prefix: vip.HostPrefix(tunVIP), Label: "tunl0:0"}
	if !h.has(want) {
		t.Errorf("after start tunl0 holds %v, want %v", h.addrs(tunnel.Dev), want)
	}
	for k, v := range map[string]string{
		key("tunl0", "arp_ignore"): "1", key("tunl0", "arp_announce"): "2", key("tunl0", "rp_filter"): "0",
		key("all", "arp_ignore"): "1", key("all", "arp_announce"): "2", key("all", "rp_filter"): "0",
	} {
		if got := h.sysctl(k); got != v {
			t.Errorf("after start %s = %s, want %s", k, got, v)
		}
	}
	// The priors of the tunl0 parameters are what the kernel gave tunl0.
	if !existed {
		for _, k := range tunKeys {
			before[k] = recordedPrior(t, h, k)
		}
	}

	if res := h.start(d); len(res.Changes) != 0 {
		t.Errorf("second start: %q", changes(res.Changes))
	}
	if r := h.status(); !r.Applied || len(r.Drift) != 0 || r.Tunnel == nil || !r.Tunnel.Up || r.Tunnel.WasUp {
		t.Errorf("status: %+v tunnel %+v", r, r.Tunnel)
	}
	// Someone sets tunl0 down: drift, and start brings it up again.
	if err := tunnel.SetDown(h.ns.Handle()); err != nil {
		t.Fatal(err)
	}
	if r := h.status(); len(r.Drift) != 1 || !strings.Contains(r.Drift[0], "tunl0 is down") {
		t.Errorf("drift with tunl0 down: %q", r.Drift)
	}
	if res := h.start(d); len(res.Changes) != 1 || res.Changes[0].Kind != rs.TunnelUp {
		t.Errorf("start with tunl0 down: %q", changes(res.Changes))
	}

	h.stop()
	if ex, up := h.link(tunnel.Dev); !ex || up {
		t.Errorf("after stop tunl0 exists=%v up=%v, want it present (ipip stays loaded) and down", ex, up)
	}
	if h.has(want) {
		t.Error("the VIP survived stop")
	}
	for k, v := range before {
		if got := h.sysctl(k); got != v {
			t.Errorf("after stop %s = %s, want %s", k, got, v)
		}
	}
	if res := h.stop(); len(res.Changes) != 0 {
		t.Errorf("second stop: %q", changes(res.Changes))
	}
}

// recordedPrior returns the value of k before lvs-rs first wrote it, from
// the state record (for tunl0 created by start, that is what the kernel
// gave the new device).
func recordedPrior(t *testing.T, h *host, k string) string {
	t.Helper()
	var rec rs.Record
	if ok, err := (state.Store{Dir: h.opt.StateDir}).Load(rs.Role, &rec); !ok || err != nil {
		t.Fatalf("no state record (%v)", err)
	}
	for _, r := range rec.Sysctls {
		if r.Key == k {
			return r.Prior
		}
	}
	t.Fatalf("%s is not in the record (%+v): start set it to its value already?", k, rec.Sysctls)
	return ""
}

// TestTunWasUpStaysUp: a tunl0 that was up before start stays up after stop.
func TestTunWasUpStaysUp(t *testing.T) {
	h := newHost(t, topo.New(t).AddNS("rs"))
	if _, err := tunnel.Ensure(t.Context(), h.ns.Handle()); err != nil {
		t.Fatal(err)
	}
	if err := tunnel.SetUp(h.ns.Handle()); err != nil {
		t.Fatal(err)
	}
	res := h.start(rs.Desired{Bindings: binding(config.ModeTUN, tunVIP)})
	if len(res.Changes) == 0 || res.Changes[0].Kind != rs.NoteTunnelUp {
		t.Errorf("start with tunl0 up: %q", changes(res.Changes))
	}
	h.stop()
	if ex, up := h.link(tunnel.Dev); !ex || !up {
		t.Errorf("after stop tunl0 exists=%v up=%v, want up as before", ex, up)
	}
}

// TestSwitchDRToTun: the VIP moves from lo to tunl0, lo's sysctls go back,
// the tun ones are set, and stop restores everything.
func TestSwitchDRToTun(t *testing.T) {
	h := newHost(t, topo.New(t).AddNS("rs"))
	before := map[string]string{}
	for _, k := range allKeys {
		before[k] = h.sysctl(k)
	}
	h.start(rs.Desired{Bindings: binding(config.ModeDR, tunVIP)})
	onLo := vip.Addr{Dev: "lo", Prefix: vip.HostPrefix(tunVIP), Label: "lo:0", HostScope: true}
	if !h.has(onLo) {
		t.Fatalf("dr: lo holds %v", h.addrs("lo"))
	}
	res := h.start(rs.Desired{Bindings: binding(config.ModeTUN, tunVIP)})
	t.Logf("switch:\n%s", strings.Join(changes(res.Changes), "\n"))
	if h.has(onLo) {
		t.Error("the VIP is still on lo after the switch")
	}
	if !h.has(vip.Addr{Dev: tunnel.Dev, Prefix: vip.HostPrefix(tunVIP), Label: "tunl0:0"}) {
		t.Errorf("tun: tunl0 holds %v", h.addrs(tunnel.Dev))
	}
	for _, k := range []string{key("lo", "arp_ignore"), key("lo", "arp_announce")} {
		if got := h.sysctl(k); got != before[k] {
			t.Errorf("after the switch %s = %s, want its prior %s", k, got, before[k])
		}
	}
	if got := h.sysctl(key("all", "rp_filter")); got != "0" {
		t.Errorf("after the switch all/rp_filter = %s", got)
	}
	if r := h.status(); len(r.Drift) != 0 {
		t.Errorf("drift after the switch: %q", r.Drift)
	}
	h.stop()
	for k, v := range before {
		if got := h.sysctl(k); got != v {
			t.Errorf("after stop %s = %s, want %s", k, got, v)
		}
	}
}

// TestTunWithoutFallbackDevice: with net.core.fb_tunnels_only_for_init_net
// = 2 the kernel gives a new namespace no tunl0 even with ipip loaded;
// start then creates tunl0 itself, records it, and stop deletes it.
func TestTunWithoutFallbackDevice(t *testing.T) {
	const fb = "/proc/sys/net/core/fb_tunnels_only_for_init_net"
	old, err := os.ReadFile(fb)
	if err != nil {
		t.Skipf("no %s: %v", fb, err)
	}
	if err := os.WriteFile(fb, []byte("2"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.WriteFile(fb, old, 0o644) })
	// Make sure ipip is loaded, so the namespace below really lacks tunl0
	// because of the sysctl and not because of the module.
	probe := topo.New(t).AddNS("probe")
	if _, err := tunnel.Ensure(t.Context(), probe.Handle()); err != nil {
		t.Fatal(err)
	}
	h := newHost(t, topo.New(t).AddNS("rs"))
	if ex, _ := h.link(tunnel.Dev); ex {
		t.Skip("the kernel made tunl0 in the new namespace anyway")
	}
	res := h.start(rs.Desired{Bindings: binding(config.ModeTUN, tunVIP)})
	if len(res.Changes) == 0 || res.Changes[0].Kind != rs.LoadIPIP {
		t.Fatalf("start: %q", changes(res.Changes))
	}
	if ex, up := h.link(tunnel.Dev); !ex || !up {
		t.Fatalf("after start tunl0 exists=%v up=%v", ex, up)
	}
	var rec rs.Record
	if ok, err := (state.Store{Dir: h.opt.StateDir}).Load(rs.Role, &rec); !ok || err != nil || rec.Tunnel == nil || !rec.Tunnel.Created {
		t.Fatalf("record: %v %v %+v", ok, err, rec.Tunnel)
	}
	res = h.stop()
	if ex, _ := h.link(tunnel.Dev); ex {
		t.Errorf("tunl0 created by lvs-rs survived stop (%q)", changes(res.Changes))
	}
}
