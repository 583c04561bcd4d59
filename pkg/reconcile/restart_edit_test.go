package reconcile

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/control"
	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/nftmark"
)

// TestRecordedLeavers: the real servers of the desired state last applied
// that the new file no longer has leave from now, with the drain_timeout
// of their service in the new file (the default when it is gone too) and
// their VIP (a fwmark service's from the recorded marks); a probe service
// and the sorry server the file still has are not real servers of the
// file.
func TestRecordedLeavers(t *testing.T) {
	vip2 := netip.MustParseAddr("10.0.0.200")
	mark := ipvs.Service{Family: ipvs.Inet, FWMark: 10, Scheduler: "wrr", Netmask: 32}
	probe := ipvs.Service{Family: ipvs.Inet, FWMark: ProbeMarkBase + 5, Scheduler: "rr", Netmask: 32}
	recorded := director.Desired{
		Services: []director.DesiredService{
			{Service: web, Destinations: []ipvs.Destination{dest(rs1, 80, 5), dest(rs2, 80, 0), dest(sry, 80, 1)}},
			{Service: dns, Destinations: []ipvs.Destination{dest(rs1, 53, 1)}},
			{Service: mark, Destinations: []ipvs.Destination{dest(rs3, 0, 1)}},
			{Service: probe, Destinations: []ipvs.Destination{dest(rs1, 80, 1)}},
		},
		Marks: []nftmark.Rule{{VIP: vip2, Protocol: 6, Port: 443, Mark: 10}},
	}
	sorry := dest(sry, 80, 1)
	next := Setup{
		Base:     base(director.DesiredService{Service: web, Destinations: []ipvs.Destination{dest(rs1, 80, 5)}}),
		Policies: map[ipvs.ServiceKey]Policy{webK: {DrainTimeout: time.Hour, Sorry: &sorry, VIP: vip}},
	}
	markM := Member{mark.Key(), ipvs.DestinationKey{Address: rs3}}
	want := map[Member]Leaving{
		mem(web, rs2): {Service: web, Destination: dest(rs2, 80, 0), Since: t0, DrainTimeout: time.Hour, VIP: vip},
		mem(dns, rs1): {Service: dns, Destination: dest(rs1, 53, 1), Since: t0, DrainTimeout: config.DefaultDrainTimeout, VIP: vip},
		markM:         {Service: mark, Destination: dest(rs3, 0, 1), Since: t0, DrainTimeout: config.DefaultDrainTimeout, VIP: vip2},
	}
	if diff := cmp.Diff(want, recordedLeavers(recorded, next, t0), addrs); diff != "" {
		t.Errorf("leavers (-want +got):\n%s", diff)
	}
}

// TestRestartWithEditedFileDrains: the file is edited while lvs-rs run is
// stopped (a restart instead of a reload, an upgrade shipping a new
// file): the busy real server the new file no longer lists drains (weight
// 0, kept in leaving.json before the first pass, its service's
// drain_timeout) instead of being deleted at the first pass, and is
// deleted once idle.
func TestRestartWithEditedFileDrains(t *testing.T) {
	l2, l3 := listen(t, "127.0.0.2:0"), listen(t, "127.0.0.3:0")
	p2, p3 := portOfListener(l2), portOfListener(l3)
	dir := t.TempDir()
	file, stateDir := dir+"/lvs-rs.yaml", dir+"/state"
	writeConfig(t, file, loopConfig(p2, p3))
	k := newMemKernel()
	_, _, stopA := runLoopOn(t, file, stateDir, k)
	k.setConns(80, "127.0.0.3", 7)
	stopA()
	writeConfig(t, file, loopConfig(p2, 0))
	b, ctx, _ := runLoopOn(t, file, stateDir, k)
	if got := k.weights(80); len(got) != 2 || got["127.0.0.3"] != 0 {
		t.Fatalf("after a restart with busy 127.0.0.3 removed from the file: %v, want it kept at weight 0 (its 7 connections drain)", got)
	}
	if st, _ := b.Status(ctx); row(st, "127.0.0.3").State != control.StateDraining {
		t.Fatalf("status: %+v", st.RealServers)
	}
	if ls := readLeaving(t, stateDir); len(ls) != 1 || ls[0].Destination.Address.String() != "127.0.0.3" || ls[0].DrainTimeout != time.Hour {
		t.Fatalf("leaving.json: %+v, want 127.0.0.3 with drain_timeout 1h", ls)
	}
	k.setConns(80, "127.0.0.3", 0)
	b.Kick()
	waitWeights(t, k, map[string]int{"127.0.0.2": 2})
}
