package e2e

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/lvs-rs/lvs-rs/internal/nlretry"
	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// snapshot is what lvs-rs may change in one namespace, one fact per line,
// in a stable order: links, addresses, routes, sysctls, IPVS. Counters,
// neighbour entries and anything else traffic changes are left out.
type snapshot []string

// sysctlParams are the per-device parameters lvs-rs may write.
var sysctlParams = []string{"arp_ignore", "arp_announce", "rp_filter"}

// sysctl6Params are the per-device IPv6 parameters lvs-rs may write (an
// IPv6 nat director).
var sysctl6Params = []string{"forwarding", "accept_ra"}

// takeSnapshot reads ns. It first waits for IPv6 duplicate address
// detection to finish, since a link-local address's local route appears
// only then.
func takeSnapshot(t *testing.T, ns *topo.NS) snapshot {
	t.Helper()
	h := ns.Handle()
	if err := ns.WaitNoTentative(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	links, err := nlretry.Dump(h.LinkList)
	if err != nil {
		t.Fatalf("%s: links: %v", ns.Name(), err)
	}
	slices.SortFunc(links, func(a, b netlink.Link) int { return cmp.Compare(a.Attrs().Name, b.Attrs().Name) })
	names := map[int]string{}
	var s snapshot
	for _, l := range links {
		a := l.Attrs()
		names[a.Index] = a.Name
		state := "down"
		if a.Flags&net.FlagUp != 0 {
			state = "up"
		}
		s = append(s, fmt.Sprintf("link %s type %s %s mtu %d", a.Name, l.Type(), state, a.MTU))
	}
	s = append(s, addrLines(t, ns, links)...)
	s = append(s, routeLines(t, ns, names)...)
	s = append(s, sysctlLines(t, ns, links)...)
	s = append(s, ipvsLines(t, ns)...)
	return s
}

func addrLines(t *testing.T, ns *topo.NS, links []netlink.Link) []string {
	t.Helper()
	var out []string
	for _, l := range links {
		as, err := nlretry.Dump(func() ([]netlink.Addr, error) { return ns.Handle().AddrList(l, netlink.FAMILY_ALL) })
		if err != nil {
			t.Fatalf("%s: addresses of %s: %v", ns.Name(), l.Attrs().Name, err)
		}
		var lines []string
		for _, a := range as {
			line := fmt.Sprintf("addr %s %s scope %s label %q", l.Attrs().Name, a.IPNet, netlink.Scope(a.Scope), a.Label)
			if a.Broadcast != nil {
				line += " brd " + a.Broadcast.String()
			}
			lines = append(lines, line)
		}
		slices.Sort(lines)
		out = append(out, lines...)
	}
	return out
}

func routeLines(t *testing.T, ns *topo.NS, names map[int]string) []string {
	t.Helper()
	rs, err := ns.Routes()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		dst := "default"
		if r.Dst != nil {
			dst = r.Dst.String()
		}
		line := fmt.Sprintf("route table %d type %d %s dev %s scope %s proto %d metric %d", r.Table, r.Type, dst, names[r.LinkIndex], r.Scope, r.Protocol, r.Priority)
		if r.Gw != nil {
			line += " via " + r.Gw.String()
		}
		if r.Src != nil {
			line += " src " + r.Src.String()
		}
		out = append(out, line)
	}
	slices.Sort(out)
	return out
}

// sysctlLines reads ip_forward and, for all, default, lo, tunl0 and every
// link, the parameters in sysctlParams and sysctl6Params ("absent" when there is no such
// device). /proc/sys/net resolves to the namespace of the reading thread.
func sysctlLines(t *testing.T, ns *topo.NS, links []netlink.Link) []string {
	t.Helper()
	devs := []string{"all", "default", "lo", "tunl0"}
	for _, l := range links {
		if !slices.Contains(devs, l.Attrs().Name) {
			devs = append(devs, l.Attrs().Name)
		}
	}
	keys := []string{"net/ipv4/ip_forward"}
	for _, d := range devs {
		for _, p := range sysctlParams {
			keys = append(keys, "net/ipv4/conf/"+d+"/"+p)
		}
		if d == "tunl0" {
			// IPv6 gives tunl0 its conf/ the first time the device
			// comes up, and keeps it when it goes down again: a
			// kernel side effect of tun mode, not a setting.
			continue
		}
		for _, p := range sysctl6Params {
			keys = append(keys, "net/ipv6/conf/"+d+"/"+p)
		}
	}
	var out []string
	err := ns.Do(func() error {
		for _, k := range keys {
			b, err := os.ReadFile("/proc/sys/" + k)
			switch {
			case errors.Is(err, os.ErrNotExist):
				out = append(out, "sysctl "+k+" absent")
			case err != nil:
				return err
			default:
				out = append(out, "sysctl "+k+" = "+strings.TrimSpace(string(b)))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%s: sysctls: %v", ns.Name(), err)
	}
	return out
}

// ipvsLines renders the namespace's IPVS table without counters.
func ipvsLines(t *testing.T, ns *topo.NS) []string {
	t.Helper()
	c := ipvsIn(t, ns)
	defer c.Close()
	svcs, err := c.Services(context.Background())
	if err != nil {
		t.Fatalf("%s: IPVS services: %v", ns.Name(), err)
	}
	slices.SortFunc(svcs, func(a, b ipvs.ServiceExtended) int { return cmp.Compare(a.Key().String(), b.Key().String()) })
	var out []string
	for _, s := range svcs {
		out = append(out, fmt.Sprintf("ipvs %s %s flags %q timeout %d netmask %d pe %q",
			s.Key(), s.Scheduler, s.Flags, s.Timeout, s.Netmask, s.PEName))
		ds, err := c.Destinations(context.Background(), s.Service)
		if err != nil {
			t.Fatalf("%s: IPVS real servers of %s: %v", ns.Name(), s.Key(), err)
		}
		slices.SortFunc(ds, func(a, b ipvs.DestinationExtended) int { return cmp.Compare(a.Key().String(), b.Key().String()) })
		for _, d := range ds {
			out = append(out, fmt.Sprintf("ipvs %s -> %s %s weight %d thresholds %d/%d",
				s.Key(), d.Key(), d.Forward, d.Weight, d.LowerThreshold, d.UpperThreshold))
		}
	}
	return out
}

// ipvsIn opens an IPVS client in ns; the generic netlink family lookup
// loads ip_vs when needed.
func ipvsIn(t *testing.T, ns *topo.NS) *ipvs.Client {
	t.Helper()
	c, err := ipvs.Dial(&ipvs.Config{NetNS: int(ns.NsHandle())})
	if err != nil {
		t.Fatalf("%s: IPVS: %v", ns.Name(), err)
	}
	return c
}

// snapshots maps a namespace name to its snapshot.
type snapshots map[string]snapshot

func snapshotAll(t *testing.T, nss []*topo.NS) snapshots {
	t.Helper()
	out := snapshots{}
	for _, ns := range nss {
		out[ns.Name()] = takeSnapshot(t, ns)
	}
	return out
}

// compareSnapshots reports every namespace whose snapshot differs, with
// a diff (- before, + after).
func compareSnapshots(t *testing.T, what string, before, after snapshots) {
	t.Helper()
	names := make([]string, 0, len(before))
	for n := range before {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if d := lineDiff(before[n], after[n]); d != "" {
			t.Errorf("%s: namespace %s differs (-before +after):\n%s", what, n, d)
		}
	}
}

// lineDiff lists the lines only in a ("- ") and only in b ("+ "), each
// in its snapshot's order; "" when a and b hold the same lines. Snapshot
// lines are sorted within their section, so equal multisets mean equal
// snapshots.
func lineDiff(a, b snapshot) string {
	count := map[string]int{}
	for _, l := range a {
		count[l]++
	}
	for _, l := range b {
		count[l]--
	}
	var out strings.Builder
	left := maps.Clone(count)
	for _, l := range a {
		if left[l] > 0 {
			left[l]--
			out.WriteString("  - " + l + "\n")
		}
	}
	for _, l := range b {
		if count[l] < 0 {
			count[l]++
			out.WriteString("  + " + l + "\n")
		}
	}
	return out.String()
}

// logSnapshot prints a snapshot (for the record, with -v).
func logSnapshot(t *testing.T, name string, s snapshot) {
	t.Helper()
	t.Logf("snapshot of %s:\n  %s", name, strings.Join(s, "\n  "))
}

func TestLineDiff(t *testing.T) {
	a := snapshot{"link eth0 up", "sysctl x = 0", "sysctl y = 1"}
	if d := lineDiff(a, slices.Clone(a)); d != "" {
		t.Errorf("equal snapshots: diff %q", d)
	}
	b := snapshot{"link eth0 up", "sysctl x = 2", "sysctl y = 1", "route z"}
	want := "  - sysctl x = 0\n  + sysctl x = 2\n  + route z\n"
	if d := lineDiff(a, b); d != want {
		t.Errorf("lineDiff = %q, want %q", d, want)
	}
}
