package announce

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvs-rs/lvs-rs/internal/nlretry"
	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/vishvananda/netlink"
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
	return Route(Table{Table: uint32(table), Protocol: uint8(proto)}, p)
}

// sync makes t in ns announce exactly desired, as the director does:
// List, Plan, then each change through AddRoute or DeleteRoute, stopping
// at the first failure.
func sync(h *netlink.Handle, t Table, desired []netip.Addr) ([]Change, error) {
	observed, err := List(h, t)
	if err != nil {
		return nil, err
	}
	changes := Plan(desired, observed)
	for _, c := range changes {
		if c.Kind == Delete {
			err = DeleteRoute(h, t, c.Prefix)
		} else {
			err = AddRoute(h, t, c.Prefix)
		}
		if err != nil {
			return changes, err
		}
	}
	return changes, nil
}

var table100 = Table{Table: 100, Protocol: DefaultProtocol}

func TestRoutesInNamespace(t *testing.T) {
	ns := topo.New(t).AddNS("d")
	h := ns.Handle()
	// Another program's routes: same table other protocol, same protocol
	// other table.
	foreign := pfx("10.9.9.9/32")
	if err := h.RouteAdd(blackhole(foreign, 100, unix.RTPROT_STATIC)); err != nil {
		t.Fatal(err)
	}
	if err := h.RouteAdd(blackhole(pfx("10.0.0.200/32"), 101, netlink.RouteProtocol(DefaultProtocol))); err != nil {
		t.Fatal(err)
	}
	changes, err := sync(h, table100, []netip.Addr{v1, v2, v6})
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 3 {
		t.Fatalf("first sync made %v", changes)
	}
	got := tableRoutes(t, h, 100)
	for _, p := range []netip.Prefix{pfx("10.0.0.100/32"), pfx("10.0.0.200/32"), pfx("2001:db8::100/128")} {
		rt, ok := got[p]
		if !ok || rt.Protocol != netlink.RouteProtocol(DefaultProtocol) || rt.Type != unix.RTN_BLACKHOLE {
			t.Errorf("%v in table 100: %v (present %v), want blackhole proto %d", p, rt, ok, DefaultProtocol)
		}
	}
	if again, err := sync(h, table100, []netip.Addr{v1, v2, v6}); err != nil || len(again) != 0 {
		t.Fatalf("second sync: %v, %v; want no change", again, err)
	}
	// Withdraw all: only lvs-rs's routes of table 100 go.
	if _, err := sync(h, table100, nil); err != nil {
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
	if err := DeleteRoute(h, table100, pfx("10.0.0.100/32")); err != nil {
		t.Fatalf("delete of a missing route: %v", err)
	}
	if err := DeleteRoute(h, table100, foreign); err != nil {
		t.Fatalf("delete of another protocol's route: %v", err)
	}
	if _, ok := tableRoutes(t, h, 100)[foreign]; !ok {
		t.Fatal("Delete removed another protocol's route")
	}
	// Announcing a prefix another program holds in the table fails.
	if _, err := sync(h, table100, []netip.Addr{foreign.Addr()}); !errors.Is(err, unix.EEXIST) {
		t.Fatalf("announcing over a foreign route: %v, want EEXIST", err)
	}
}

func keys(m map[netip.Prefix]netlink.Route) []netip.Prefix {
	out := mapKeys(map[netip.Prefix]bool{})
	for p := range m {
		out = append(out, p)
	}
	sortPrefixes(out)
	return out
}
