package realserver

import (
	"context"
	"net/netip"
	"testing"
)

// TestStatusGatewayZoneGone: the zone's interface goes after start: a
// plain status (the record's desired state) must report drift, not refuse
// as an invalid config.
func TestStatusGatewayZoneGone(t *testing.T) {
	h := newRAHost(t)
	llgw := netip.MustParseAddr("fe80::1%eth0")
	h.start(Desired{Gateways: gws(llgw)})
	l, err := h.ns.Handle.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.ns.Handle.LinkDel(l); err != nil {
		t.Fatal(err)
	}
	var r *Report
	h.in(func() error {
		r, err = Status(context.Background(), nil, h.opt)
		return nil
	})
	if err != nil {
		t.Errorf("status (from the record) after the zone's interface went: %v", err)
	} else {
		t.Logf("drift %q", r.Drift)
	}
	var res Result
	h.in(func() error { res, err = Stop(context.Background(), h.opt); return nil })
	t.Logf("stop: %v %q", err, kinds(res.Changes))
}
