package announce

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lvs-rs/lvs-rs/internal/nlretry"
	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// tableRoutes reads back every route of table in the namespace as
// "PREFIX proto N type T".
func tableRoutes(t *testing.T, h *netlink.Handle, table int) map[netip.Prefix]netlink.Route {
	t.Helper()
	rs, err := nlretry.Dump(func() ([]netlink.Route, error) {
		return h.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: table}, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[netip.Prefix]netlink.Route{}
	for _, r := range rs {
		p, ok := prefixOf(r.Dst)
		if !ok {
			t.Fatalf("route without destination in table %d: %v", table, r)
		}
		out[p] = r
	}
	return out
}

func blackhole(p netip.Prefix, table int, proto netlink.RouteProtocol) *netlink.Route {
	a := p.Addr()
	return &netlink.Route{Dst: &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(p.Bits(), a.BitLen())},
		Table: table, Protocol: proto, Type: unix.RTN_BLACKHOLE}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestRoutesInNamespace(t *testing.T) {
	ns := topo.New(t).AddNS("d")
	h := ns.Handle()
	// Another program's routes: same table other protocol, same protocol
	// other table.
	foreign := pfx("10.9.9.9/32")
	if err := h.RouteAdd(blackhole(foreign, 100, unix.RTPROT_STATIC)); err != nil {
		t.Fatal(err)
	}
	if err := h.RouteAdd(blackhole(pfx("10.0.0.200/32"), 101, DefaultProtocol)); err != nil {
		t.Fatal(err)
	}
	r := open(t, ns, 100)
	changes, err := Sync(ctx(t), r, []netip.Addr{v1, v2, v6})
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 3 {
		t.Fatalf("first sync made %v", changes)
	}
	got := tableRoutes(t, h, 100)
	for _, p := range []netip.Prefix{pfx("10.0.0.100/32"), pfx("10.0.0.200/32"), pfx("2001:db8::100/128")} {
		rt, ok := got[p]
		if !ok || rt.Protocol != DefaultProtocol || rt.Type != unix.RTN_BLACKHOLE {
			t.Errorf("%v in table 100: %v (present %v), want blackhole proto %d", p, rt, ok, DefaultProtocol)
		}
	}
	if again, err := Sync(ctx(t), r, []netip.Addr{v1, v2, v6}); err != nil || len(again) != 0 {
		t.Fatalf("second sync: %v, %v; want no change", again, err)
	}
	// Withdraw all: only lvs-rs's routes of table 100 go.
	if _, err := Sync(ctx(t), r, nil); err != nil {
		t.Fatal(err)
	}
	got = tableRoutes(t, h, 100)
	if diff := cmp.Diff([]netip.Prefix{foreign}, keys(got), cmpPrefix); diff != "" {
		t.Fatalf("table 100 after withdrawing (-want +got):\n%s", diff)
	}
	if _, ok := tableRoutes(t, h, 101)[pfx("10.0.0.200/32")]; !ok {
		t.Fatal("the route of table 101 was touched")
	}
	// Deleting what is gone succeeds; a delete never removes a route of
	// another protocol.
	if err := r.Delete(ctx(t), pfx("10.0.0.100/32")); err != nil {
		t.Fatalf("delete of a missing route: %v", err)
	}
	if err := r.Delete(ctx(t), foreign); err != nil {
		t.Fatalf("delete of another protocol's route: %v", err)
	}
	if _, ok := tableRoutes(t, h, 100)[foreign]; !ok {
		t.Fatal("Delete removed another protocol's route")
	}
	// Announcing a prefix another program holds in the table fails.
	if _, err := Sync(ctx(t), r, []netip.Addr{foreign.Addr()}); !errors.Is(err, unix.EEXIST) {
		t.Fatalf("announcing over a foreign route: %v, want EEXIST", err)
	}
}

func TestRoutesContext(t *testing.T) {
	ns := topo.New(t).AddNS("d")
	r := open(t, ns, 100)
	c, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Sync(c, r, []netip.Addr{v1}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sync with a cancelled context: %v", err)
	}
	if n := len(tableRoutes(t, ns.Handle(), 100)); n != 0 {
		t.Fatalf("%d routes written with a cancelled context", n)
	}
}

func TestOpenRejects(t *testing.T) {
	for _, tc := range []struct {
		table int
		proto netlink.RouteProtocol
	}{{0, 0}, {254, 0}, {255, 0}, {-1, 0}, {100, unix.RTPROT_KERNEL}, {100, unix.RTPROT_STATIC}} {
		if _, err := Open(netns.None(), tc.table, tc.proto); err == nil {
			t.Errorf("New(table %d, proto %d) accepted", tc.table, tc.proto)
		}
	}
}

func open(t *testing.T, ns *topo.NS, table int) *Routes {
	t.Helper()
	r, err := Open(ns.NsHandle(), table, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func keys(m map[netip.Prefix]netlink.Route) []netip.Prefix {
	out := mapKeys(map[netip.Prefix]bool{})
	for p := range m {
		out = append(out, p)
	}
	sortPrefixes(out)
	return out
}
