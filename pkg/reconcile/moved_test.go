package reconcile

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// TestOverlayMovedVIP: the old VIP of a fwmark service whose vip moved
// stays in the desired VIPs (after base's, once) while a real server of
// the service has connections and its deadline has not passed, and is
// never announced; idle, past its deadline, or the service's VIP again,
// it is let go (GoneVIPs).
func TestOverlayMovedVIP(t *testing.T) {
	vip2, vip3 := netip.MustParseAddr("10.0.0.102"), netip.MustParseAddr("10.0.0.103")
	mark := ipvs.Service{Family: ipvs.Inet, FWMark: 10, Scheduler: "wrr", Netmask: 32}
	mk := mark.Key()
	member := Member{mk, ipvs.DestinationKey{Address: rs1}}
	b := base(director.DesiredService{Service: mark, Destinations: []ipvs.Destination{dest(rs1, 0, 5)}})
	b.VIPs = []netip.Addr{vip3}
	b.Announce = &director.Announce{Table: 100, Protocol: 250, VIPs: []netip.Addr{vip3}}
	old := MovedKey{mk, vip2}
	moved := func(timeout time.Duration) map[MovedKey]MovedVIP {
		return map[MovedKey]MovedVIP{old: {Service: mk, VIP: vip2, Since: t0, DrainTimeout: timeout}}
	}
	type want struct {
		VIPs, Announced []netip.Addr
		Gone            []MovedKey
		Next            time.Time
	}
	for _, tc := range []struct {
		name   string
		now    time.Time
		conns  uint32
		moved  map[MovedKey]MovedVIP
		policy netip.Addr // the service's VIP in the file
		want   want
	}{
		{"busy", t0.Add(time.Minute), 3, moved(time.Hour), vip3,
			want{VIPs: []netip.Addr{vip3, vip2}, Announced: []netip.Addr{vip3}, Next: t0.Add(time.Hour)}},
		{"busy, no deadline", t0.Add(48 * time.Hour), 3, moved(0), vip3,
			want{VIPs: []netip.Addr{vip3, vip2}, Announced: []netip.Addr{vip3}}},
		{"idle", t0.Add(time.Minute), 0, moved(time.Hour), vip3,
			want{VIPs: []netip.Addr{vip3}, Announced: []netip.Addr{vip3}, Gone: []MovedKey{old}}},
		{"past its deadline", t0.Add(time.Hour), 3, moved(time.Hour), vip3,
			want{VIPs: []netip.Addr{vip3}, Announced: []netip.Addr{vip3}, Gone: []MovedKey{old}}},
		// (base is the file's before the move back: vip3 serves nothing.)
		{"moved back", t0.Add(time.Minute), 3, moved(time.Hour), vip2,
			want{VIPs: []netip.Addr{vip3}, Gone: []MovedKey{old}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := Inputs{Now: tc.now, Policies: map[ipvs.ServiceKey]Policy{mk: {VIP: tc.policy}},
				Moved: tc.moved, Kernel: map[Member]Observed{member: {Weight: 5, Conns: tc.conns}}}
			out := Overlay(b, in)
			got := want{VIPs: out.Desired.VIPs, Announced: out.Desired.Announce.VIPs, Gone: out.GoneVIPs, Next: out.Next}
			if diff := cmp.Diff(tc.want, got, addrs, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if out.Reusable(b, in) {
				t.Error("an outcome keeping a moved VIP is reusable by a scoped pass")
			}
		})
	}
	if !slices.Equal(b.VIPs, []netip.Addr{vip3}) {
		t.Errorf("base's VIPs edited: %v", b.VIPs)
	}
}

// TestMovedVIPs: a reload that gives a fwmark service another vip moves
// its old one (with the service's drain_timeout before the reload); an
// address service's vip is in its key (its real servers leave instead),
// and a service that is gone or keeps its vip moves nothing.
func TestMovedVIPs(t *testing.T) {
	a, b, c := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.3")
	m10 := ipvs.ServiceKey{Family: ipvs.Inet, FWMark: 10}
	m11 := ipvs.ServiceKey{Family: ipvs.Inet, FWMark: 11}
	m12 := ipvs.ServiceKey{Family: ipvs.Inet, FWMark: 12}
	old := map[ipvs.ServiceKey]Policy{
		m10: {VIP: a, DrainTimeout: time.Minute}, m11: {VIP: b}, m12: {VIP: c}, webK: {VIP: vip},
	}
	next := map[ipvs.ServiceKey]Policy{m10: {VIP: c, DrainTimeout: time.Hour}, m11: {VIP: b}, webK: {VIP: a}}
	got := movedVIPs(old, next, t0)
	want := map[MovedKey]MovedVIP{{m10, a}: {Service: m10, VIP: a, Since: t0, DrainTimeout: time.Minute}}
	if diff := cmp.Diff(want, got, addrs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// markMoveConfig is leavingVIPConfig with a fwmark service (mark 10, tcp
// port 82) on vip, whose real server is 127.0.0.4.
func markMoveConfig(vip string) string {
	return leavingVIPConfig(`  - vip: ` + vip + `
    fwmark: 10
    mark: [{protocol: tcp, port: 82}]
    scheduler: wrr
    mode: dr
    drain_timeout: 1h
    real_servers:
      - {address: 127.0.0.4, weight: 4}
`)
}

// TestMovedMarkVIPKeptWhileBusy: a reload gives a busy fwmark service
// another vip: its mark rules and announce route move to the new VIP at
// once (no new flow is drawn to the old one), the old VIP stays bound
// while the service has connections, also across a restart of the
// daemon (leaving.json), and is unbound once the service is idle.
func TestMovedMarkVIPKeptWhileBusy(t *testing.T) {
	dir := t.TempDir()
	file, stateDir := filepath.Join(dir, "lvs-rs.yaml"), filepath.Join(dir, "state")
	writeConfig(t, file, markMoveConfig("10.0.0.102"))
	k := newMemKernel()
	a, _, stopA := runLoopOn(t, file, stateDir, k)
	k.setConns(0, "127.0.0.4", 5) // the fwmark service's real server (port 0)
	writeConfig(t, file, markMoveConfig("10.0.0.103"))
	a.Reload()
	waitUntil(t, "the mark rules moved", func() (bool, string) {
		return slices.Equal(k.markRules(), []string{"tcp 10.0.0.103:82 mark 10"}), fmt.Sprint(k.markRules())
	})
	waitUntil(t, "the new VIP announced", func() (bool, string) {
		return slices.Equal(k.announced(), []string{"10.0.0.100/32", "10.0.0.103/32"}), fmt.Sprint(k.announced())
	})
	if got, want := k.bound(), []string{"10.0.0.100", "10.0.0.102", "10.0.0.103"}; !slices.Equal(got, want) {
		t.Fatalf("bound after the move: %v, want %v (the old VIP unbound cuts its established connections)", got, want)
	}
	if got := k.weights(0); got["127.0.0.4"] != 4 {
		t.Fatalf("the fwmark service's real server: %v, want weight 4 (it stays in the file)", got)
	}
	stopA()

	b, _, _ := runLoopOn(t, file, stateDir, k)
	if got, want := k.bound(), []string{"10.0.0.100", "10.0.0.102", "10.0.0.103"}; !slices.Equal(got, want) {
		t.Fatalf("bound after a restart: %v, want %v", got, want)
	}
	k.setConns(0, "127.0.0.4", 0)
	b.Kick()
	waitUntil(t, "the old VIP unbound once idle", func() (bool, string) {
		return slices.Equal(k.bound(), []string{"10.0.0.100", "10.0.0.103"}), fmt.Sprint(k.bound())
	})
	waitUntil(t, "leaving.json without it", func() (bool, string) {
		mv := readMoved(t, stateDir)
		return len(mv) == 0, fmt.Sprint(mv)
	})
}

// TestMovedMarkVIPEditedWhileStopped: the file gives a busy fwmark
// service another vip while lvs-rs run is not active: the next run keeps
// the old VIP (the recorded nftables rules') bound while it is busy.
func TestMovedMarkVIPEditedWhileStopped(t *testing.T) {
	dir := t.TempDir()
	file, stateDir := filepath.Join(dir, "lvs-rs.yaml"), filepath.Join(dir, "state")
	writeConfig(t, file, markMoveConfig("10.0.0.102"))
	k := newMemKernel()
	_, _, stopA := runLoopOn(t, file, stateDir, k)
	k.setConns(0, "127.0.0.4", 5)
	stopA()
	writeConfig(t, file, markMoveConfig("10.0.0.103"))
	b, _, _ := runLoopOn(t, file, stateDir, k)
	if got, want := k.bound(), []string{"10.0.0.100", "10.0.0.102", "10.0.0.103"}; !slices.Equal(got, want) {
		t.Fatalf("bound after a restart with the vip edited: %v, want %v", got, want)
	}
	mv := readMoved(t, stateDir)
	if len(mv) != 1 || mv[0].VIP != netip.MustParseAddr("10.0.0.102") || mv[0].DrainTimeout != time.Hour {
		t.Fatalf("leaving.json's moved VIPs: %+v, want 10.0.0.102 with drain_timeout 1h", mv)
	}
	k.setConns(0, "127.0.0.4", 0)
	b.Kick()
	waitUntil(t, "the old VIP unbound once idle", func() (bool, string) {
		return slices.Equal(k.bound(), []string{"10.0.0.100", "10.0.0.103"}), fmt.Sprint(k.bound())
	})
}

// readMoved reads leaving.json's moved VIPs in stateDir.
func readMoved(t *testing.T, stateDir string) []MovedVIP {
	t.Helper()
	_, mv, err := loadLeaving(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]MovedVIP, 0, len(mv))
	for _, v := range mv {
		out = append(out, v)
	}
	return out
}
