package director

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/nstest"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

var (
	vip6 = netip.MustParseAddr("2001:db8:1::100")
	rs6  = netip.MustParseAddr("2001:db8:1::101")
)

// nat6 is an IPv6 nat service on eth0.
func nat6() *config.Config {
	return &config.Config{
		Director: config.Director{Interface: "eth0"},
		VirtualServers: []config.VirtualServer{{
			VIP: vip6, Port: 80, Protocol: config.TCP, Scheduler: "rr", Mode: config.ModeNAT, PersistenceNetmask: 128,
			RealServers: []config.RealServer{{Address: rs6, Port: 8080, Weight: 1, Mode: config.ModeNAT}},
		}},
	}
}

func acceptRA(dev string) string { return sysctl.IPv6Conf(dev, "accept_ra").String() }

// sysctlLines renders the sysctl changes of cs, in order.
func sysctlLines(cs []Change) []string {
	var out []string
	for _, c := range cs {
		switch c.Kind {
		case SetSysctl, RestoreSysctl, LeaveSysctl:
			out = append(out, c.String())
		}
	}
	return out
}

// TestPlanIPv6Forwarding: an IPv6 nat service asks for IPv6 forwarding
// (an IPv4 one, or an IPv6 dr one, does not); before writing it, the plan
// sets accept_ra=2 where it is 1 (conf/default too, lo and all not), each
// recorded and restored on stop; where forwarding is already 1 and not
// lvs-rs's, nothing else changes; an interface set back to accept_ra=1
// while lvs-rs's forwarding is on is set to 2 again.
func TestPlanIPv6Forwarding(t *testing.T) {
	d := DesiredFrom(nat6())
	if v, ok := d.wanted(forwarding6); !ok || v != "1" {
		t.Fatalf("DesiredFrom(IPv6 nat) wants %v: no %s=1", d.Sysctls, forwarding6)
	}
	for name, cfg := range map[string]*config.Config{"IPv4 nat": func() *config.Config {
		c := web()
		c.VirtualServers[0].Mode, c.VirtualServers[0].RealServers[0].Mode = config.ModeNAT, config.ModeNAT
		return c
	}(), "IPv6 dr": func() *config.Config {
		c := nat6()
		c.VirtualServers[0].Mode, c.VirtualServers[0].RealServers[0].Mode = config.ModeDR, config.ModeDR
		return c
	}()} {
		if _, ok := DesiredFrom(cfg).wanted(forwarding6); ok {
			t.Errorf("%s: DesiredFrom wants IPv6 forwarding", name)
		}
	}
	host := map[string]string{forwarding6: "0", acceptRA("default"): "1", acceptRA("eth0"): "1", acceptRA("eth1"): "0", acceptRA("lo"): "1"}
	obs := func(m map[string]string) Observed { return Observed{Sysctls: m} }
	rec := func(key, prior, wrote string) sysctl.Record {
		return sysctl.Record{Key: key, Prior: prior, Wrote: wrote}
	}
	applied := Owned{Sysctls: []sysctl.Record{rec(acceptRA("default"), "1", "2"), rec(acceptRA("eth0"), "1", "2"), rec(forwarding6, "0", "1")}}
	on := map[string]string{forwarding6: "1", acceptRA("default"): "2", acceptRA("eth0"): "2"}
	for _, c := range []struct {
		name  string
		d     Desired
		obs   map[string]string
		owned Owned
		want  []string
	}{
		{"start: accept_ra 2 where 1, then forwarding", d, host, Owned{}, []string{
			"set net/ipv6/conf/default/accept_ra=2 (was 1)",
			"set net/ipv6/conf/eth0/accept_ra=2 (was 1)",
			"set net/ipv6/conf/all/forwarding=1 (was 0)"}},
		{"applied: nothing", d, on, applied, nil},
		{"eth0 set back to 1: 2 again", d, map[string]string{forwarding6: "1", acceptRA("default"): "2", acceptRA("eth0"): "1"}, applied,
			[]string{"set net/ipv6/conf/eth0/accept_ra=2 (was 1)"}},
		{"stop: forwarding, then accept_ra restored", Desired{}, on, applied, []string{
			"restore net/ipv6/conf/all/forwarding=0",
			"restore net/ipv6/conf/default/accept_ra=1",
			"restore net/ipv6/conf/eth0/accept_ra=1"}},
		{"forwarding on already, the operator's: nothing", d, map[string]string{forwarding6: "1", acceptRA("eth0"): "1"}, Owned{}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, sysctlLines(plan(c.d, obs(c.obs), c.owned))); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

// TestIPv6NATForwardingKeepsRA runs a director with an IPv6 nat service
// in a namespace whose eth0 learns its default route from a router's
// advertisements: start turns IPv6 forwarding on (without it the kernel
// drops the real servers' replies) and the learned route stays, and the
// interface keeps learning (a withdrawal removes it, a new advertisement
// brings it back); stop puts forwarding and accept_ra back. Writing
// forwarding=1 alone deletes the learned route at once and ignores later
// advertisements.
func TestIPv6NATForwardingKeepsRA(t *testing.T) {
	d, g := nstest.New(t), nstest.New(t)
	for _, ns := range []*nstest.NS{d, g} {
		if err := ns.Do(func() error { return writeProc("net/ipv6/conf/default/accept_dad", "0") }); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Handle.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0"}, PeerName: "eth0", PeerNamespace: netlink.NsFd(g.Fd())}); err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		ns   *nstest.NS
		addr string
	}{{d, "2001:db8:1::2/64"}, {g, "2001:db8:1::1/64"}} {
		l, err := x.ns.Handle.LinkByName("eth0")
		if err != nil {
			t.Fatal(err)
		}
		ip, ipn, _ := net.ParseCIDR(x.addr)
		ipn.IP = ip
		if err := x.ns.Handle.AddrAdd(l, &netlink.Addr{IPNet: ipn, Flags: unix.IFA_F_NODAD}); err != nil {
			t.Fatal(err)
		}
		if err := x.ns.Handle.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
	learned := func() bool {
		rs, err := d.Handle.RouteListFiltered(netlink.FAMILY_V6, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(rs, func(r netlink.Route) bool {
			return (r.Dst == nil || r.Dst.IP.IsUnspecified()) && r.Protocol == unix.RTPROT_RA
		})
	}
	wait := func(what string, want bool) {
		t.Helper()
		for end := time.Now().Add(5 * time.Second); learned() != want; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	advertise := func(lifetime uint16) {
		t.Helper()
		// The router's link-local address may still be on its way.
		var err error
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			if err = g.Advertise("eth0", lifetime); err == nil {
				return
			}
		}
		t.Fatal(err)
	}
	read := func(k string) string {
		t.Helper()
		var v string
		if err := d.Do(func() (err error) { v, err = sysctl.Proc().Read(sysctl.ParseKey(k)); return err }); err != nil {
			t.Fatal(err)
		}
		return v
	}
	values := func() []string {
		return []string{read(forwarding6), read(acceptRA("default")), read(acceptRA("eth0")), read(acceptRA("lo"))}
	}
	advertise(1800)
	wait("the advertised default route", true)
	before := values()
	if !slices.Equal(before, []string{"0", "1", "1", "1"}) {
		t.Fatalf("namespace defaults (forwarding, accept_ra of default, eth0, lo) = %v", before)
	}

	opts := Options{StateDir: filepath.Join(t.TempDir(), "state"), Handle: d.Handle, Sysctl: sysctl.Proc(), IPVS: newFakeKernel()}
	run := func(f func() error) {
		t.Helper()
		if err := d.Do(f); err != nil {
			t.Fatal(err)
		}
	}
	run(func() error { _, err := Start(context.Background(), nat6(), opts); return err })
	if got := values(); !slices.Equal(got, []string{"1", "2", "2", "1"}) {
		t.Errorf("after start: forwarding, accept_ra of default, eth0, lo = %v, want 1 2 2 1", got)
	}
	if !learned() {
		t.Error("start took the learned default route away")
	}
	var rep *Report
	run(func() (err error) { rep, err = Status(context.Background(), nat6(), opts); return err })
	if rep.Drifted() {
		t.Errorf("status after start drifts: %q", rep.Drift)
	}
	advertise(0)
	wait("the withdrawal to be heard while forwarding", false)
	advertise(1800)
	wait("a new advertisement to be heard while forwarding", true)

	run(func() error { _, err := Stop(context.Background(), opts); return err })
	if got := values(); !slices.Equal(got, before) {
		t.Errorf("after stop: forwarding, accept_ra of default, eth0, lo = %v, want %v as before", got, before)
	}
	if !learned() {
		t.Error("the learned default route is gone after stop")
	}
}

// writeProc writes /proc/sys/KEY in the calling thread's namespace (a
// parameter outside the set lvs-rs manages).
func writeProc(key, v string) error {
	return os.WriteFile(filepath.Join("/proc/sys", key), []byte(v+"\n"), 0)
}
