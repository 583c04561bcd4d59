package vip

import (
	"net/netip"
	"slices"
	"testing"

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
		for range 2 { // a second bind must be harmless
			if err := Bind(ns.Handle, a); err != nil {
				t.Fatal(err)
			}
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
