package realserver

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
	"github.com/vishvananda/netlink"
)

// TestKernelObserveOnlyWhatPlanReads: on a host with many links, each with
// an address (veth pairs dum0-dum19), and a default route, a DR plan observes lo's addresses and,
// on other links, only a VIP's (here one someone bound on dum7, which
// Plan warns of), and no route; a NAT plan observes the default route,
// its device named.
func TestKernelObserveOnlyWhatPlanReads(t *testing.T) {
	h := newHost(t)
	for i := range 20 {
		name := fmt.Sprintf("dum%d", i)
		if i%2 == 0 { // veth pairs: this kernel may have no dummy module
			peer := fmt.Sprintf("dum%d", i+1)
			if err := h.ns.Handle.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: peer}); err != nil {
				t.Fatal(err)
			}
		}
		a := vip.Addr{Dev: name, Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}), 24)}
		if i == 7 {
			a.Prefix = vip.HostPrefix(vip1)
		}
		if err := vip.Bind(h.ns.Handle, a); err != nil {
			t.Fatal(err)
		}
		l, err := h.ns.Handle.LinkByName(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.ns.Handle.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.ns.Handle.RouteAdd(&netlink.Route{Gw: netip.MustParseAddr("192.0.2.254").AsSlice()}); err != nil {
		t.Fatal(err)
	}
	var drObs, nat Observed
	h.in(func() (err error) {
		if drObs, err = Observe(h.ns.Handle, h.opt.tree(), Desired{Bindings: dr(vip1)}, Record{}); err != nil {
			return err
		}
		nat, err = Observe(h.ns.Handle, h.opt.tree(), Desired{Bindings: bind(config.ModeNAT, vip2), Gateways: gws(netip.MustParseAddr("192.0.2.254"))}, Record{})
		return err
	})
	var elsewhere []vip.Addr
	for _, a := range drObs.Addrs {
		switch {
		case a.Dev == "lo":
		case a.Prefix.Addr() == vip1 && a.Dev == "dum7":
			elsewhere = append(elsewhere, a)
		default:
			t.Errorf("DR plan observed %v: neither on lo nor a VIP", a)
		}
	}
	if len(elsewhere) != 1 {
		t.Errorf("DR plan observed %v on other links, want %s on dum7", elsewhere, vip1)
	}
	if _, warns := Plan(Desired{Bindings: dr(vip1)}, drObs); !slices.ContainsFunc(warns, func(w string) bool { return strings.Contains(w, "also on dum7") }) {
		t.Errorf("plan warnings %q: none about %s on dum7", warns, vip1)
	}
	if drObs.Routes != nil {
		t.Errorf("DR plan observed routes %v", drObs.Routes)
	}
	if len(nat.Routes) != 1 || nat.Routes[0].Dev == "" || !strings.HasPrefix(nat.Routes[0].Dev, "dum") {
		t.Errorf("NAT plan observed routes %+v, want the default route through a dum link, named", nat.Routes)
	}
}
