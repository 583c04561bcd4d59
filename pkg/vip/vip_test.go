package vip

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/nstest"
)

func TestLabel(t *testing.T) {
	for _, c := range []struct {
		dev  string
		n    int
		want string
	}{{"lo", 0, "lo:0"}, {"eth0.100", 3, "eth0.100:3"}, {"enp0s31f6abcde", 1, ""}} {
		if got := Label(c.dev, c.n); got != c.want {
			t.Errorf("Label(%q, %d) = %q, want %q", c.dev, c.n, got, c.want)
		}
	}
}

func TestHostPrefix(t *testing.T) {
	if got := HostPrefix(netip.MustParseAddr("::ffff:10.0.0.1")); got != netip.MustParsePrefix("10.0.0.1/32") {
		t.Errorf("HostPrefix(mapped) = %v", got)
	}
	if got := HostPrefix(netip.MustParseAddr("2001:db8::1")); got.Bits() != 128 {
		t.Errorf("HostPrefix(v6) = %v", got)
	}
}

func TestBindListUnbind(t *testing.T) {
	ns := nstest.New(t)
	want := []Addr{
		{Dev: "lo", Prefix: netip.MustParsePrefix("192.0.2.100/32"), Label: "lo:0", HostScope: true},
		{Dev: "lo", Prefix: netip.MustParsePrefix("2001:db8::100/128")},
	}
	for _, a := range want {
		if err := Bind(ns.Handle, a); err != nil {
			t.Fatal(err)
		}
		// A second bind is refused: the address is there already.
		if err := Bind(ns.Handle, a); !errors.Is(err, unix.EEXIST) || !strings.Contains(err.Error(), a.Prefix.String()) {
			t.Errorf("second bind of %v = %v, want EEXIST naming it", a, err)
		}
	}
	got, err := List(ns.Handle, "lo")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range want {
		if !slices.Contains(got, a) {
			t.Errorf("List(lo) = %v; missing %v", got, a)
		}
	}
	for _, a := range want {
		for range 2 { // unbinding twice is success
			if err := Unbind(ns.Handle, a); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, _ = List(ns.Handle, "lo")
	for _, a := range want {
		if slices.Contains(got, a) {
			t.Errorf("%v still bound after Unbind", a)
		}
	}
	if err := Unbind(ns.Handle, Addr{Dev: "nosuch0", Prefix: want[0].Prefix}); err != nil {
		t.Errorf("Unbind on a missing device: %v", err)
	}
}

func TestListNamedNamesDevices(t *testing.T) {
	ns := nstest.New(t)
	a := Addr{Dev: "lo", Prefix: netip.MustParsePrefix("192.0.2.9/32"), Label: "lo:3", HostScope: true}
	if err := Bind(ns.Handle, a); err != nil {
		t.Fatal(err)
	}
	lo, err := ns.Handle.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	var asked []netip.Addr
	got, err := ListNamed(ns.Handle, func(i int, ip netip.Addr) string {
		asked = append(asked, ip)
		if i == lo.Attrs().Index && ip == a.Prefix.Addr() {
			return "lo"
		}
		return ""
	})
	if err != nil || len(got) != 1 || got[0] != a {
		t.Fatalf("ListNamed = %v, %v; want only %v", got, err, a)
	}
	if !slices.Contains(asked, netip.MustParseAddr("127.0.0.1")) {
		t.Errorf("ListNamed asked about %v, not about 127.0.0.1 on lo", asked)
	}
}

// veth creates (or creates again) a veth device name (and its peer) in
// ns, up, and returns its index.
func veth(t *testing.T, ns *nstest.NS, name string) int {
	t.Helper()
	if err := ns.Handle.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: name + "p"}); err != nil {
		t.Fatalf("add %s: %v", name, err)
	}
	link, err := ns.Handle.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := ns.Handle.LinkSetUp(link); err != nil {
		t.Fatal(err)
	}
	return link.Attrs().Index
}

// TestLinksFollowTheDevice: one Links binds several VIPs on a device
// looked up once, follows the device when it is deleted and created again
// under its name, and unbinds from a device that is gone as success.
func TestLinksFollowTheDevice(t *testing.T) {
	ns := nstest.New(t)
	first := veth(t, ns, "vip0")
	var l Links
	addr := func(s string) Addr { return Addr{Dev: "vip0", Prefix: netip.MustParsePrefix(s)} }
	for _, a := range []Addr{addr("192.0.2.1/32"), addr("192.0.2.2/32"), addr("2001:db8::1/128")} {
		if err := l.Bind(ns.Handle, a); err != nil {
			t.Fatal(err)
		}
	}
	if held, ok := l.byName["vip0"]; !ok || len(l.byName) != 1 || held.Attrs().Index != first {
		t.Fatalf("Links holds %v, want vip0 (index %d) alone", l.byName, first)
	}
	got, err := List(ns.Handle, "vip0")
	if err != nil || len(got) < 3 {
		t.Fatalf("List(vip0) = %v, %v; want the three VIPs", got, err)
	}
	// The device goes and comes back with another index.
	link, _ := ns.Handle.LinkByName("vip0")
	if err := ns.Handle.LinkDel(link); err != nil {
		t.Fatal(err)
	}
	second := veth(t, ns, "vip0")
	if second == first {
		t.Fatalf("the device came back with the same index %d", first)
	}
	if err := l.Bind(ns.Handle, addr("192.0.2.3/32")); err != nil {
		t.Fatalf("bind on the device created again: %v", err)
	}
	got, _ = List(ns.Handle, "vip0")
	if !slices.ContainsFunc(got, func(a Addr) bool { return a.Prefix == netip.MustParsePrefix("192.0.2.3/32") }) {
		t.Fatalf("List(vip0) = %v; 192.0.2.3 missing", got)
	}
	if held, ok := l.byName["vip0"]; !ok || held.Attrs().Index != second {
		t.Fatalf("Links holds %v, want vip0 with index %d", l.byName, second)
	}
	if err := l.Unbind(ns.Handle, addr("192.0.2.3/32")); err != nil {
		t.Fatal(err)
	}
	link, _ = ns.Handle.LinkByName("vip0")
	if err := ns.Handle.LinkDel(link); err != nil {
		t.Fatal(err)
	}
	if err := l.Unbind(ns.Handle, addr("192.0.2.1/32")); err != nil {
		t.Fatalf("unbind from a device that is gone: %v", err)
	}
}

// TestUnbindWhateverLabel: a VIP lvs-rs bound with a label, then removed
// and re-added by hand under another label or none (and another scope),
// is still removed by Unbind: ownership is by device and prefix.
func TestUnbindWhateverLabel(t *testing.T) {
	ns := nstest.New(t)
	lo, err := ns.Handle.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	bound := Addr{Dev: "lo", Prefix: netip.MustParsePrefix("192.0.2.100/32"), Label: "lo:0", HostScope: true}
	for _, label := range []string{"", "lo:7"} {
		if err := Bind(ns.Handle, bound); err != nil {
			t.Fatal(err)
		}
		if err := ns.Handle.AddrDel(lo, toNetlink(bound)); err != nil {
			t.Fatal(err)
		}
		hand := &netlink.Addr{IPNet: toNetlink(bound).IPNet, Label: label}
		if err := ns.Handle.AddrAdd(lo, hand); err != nil {
			t.Fatal(err)
		}
		if err := Unbind(ns.Handle, bound); err != nil {
			t.Fatalf("label %q: %v", label, err)
		}
		got, err := List(ns.Handle, "lo")
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(got, func(a Addr) bool { return a.Prefix == bound.Prefix }) {
			t.Errorf("re-added with label %q: still on lo after Unbind: %v", label, got)
		}
	}
}

// TestBindNeverTakesOver: an address another tool put on the device
// (here without a label, of scope global) is not taken over by Bind:
// EEXIST, and the address is left as it was.
func TestBindNeverTakesOver(t *testing.T) {
	ns := nstest.New(t)
	foreign := Addr{Dev: "lo", Prefix: netip.MustParsePrefix("192.0.2.7/32")}
	if err := Bind(ns.Handle, foreign); err != nil {
		t.Fatal(err)
	}
	err := Bind(ns.Handle, Addr{Dev: "lo", Prefix: foreign.Prefix, Label: "lo:0", HostScope: true})
	if !errors.Is(err, unix.EEXIST) {
		t.Errorf("Bind over a foreign address = %v, want EEXIST", err)
	}
	got, err := List(ns.Handle, "lo")
	if err != nil || !slices.Contains(got, foreign) {
		t.Errorf("List(lo) = %v, %v; want %v unchanged", got, err, foreign)
	}
}
