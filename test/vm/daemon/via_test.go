package daemon

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/lvs-rs/lvs-rs/pkg/reconcile"
)

// TestCheckViaVIP: with check.via: vip the director checks each real
// server through the forwarding path (a firewall-mark service holding
// only that real server, accept_local on the director's eth0 alone, not
// conf/all): a real server that lost its VIP is quiesced although its
// own address still answers; with the VIP back it is up again.
func TestCheckViaVIP(t *testing.T) {
	yaml := strings.Replace(config("5s", 2, 3), "check: {type: tcp,", "check: {type: tcp, via: vip,", 1)
	c := newCluster(t, yaml)
	c.run()
	c.ready()
	c.waitWeights(vip80, 5*time.Second, map[string]int{"10.0.0.11": 2, "10.0.0.12": 3})
	// accept_local on the interface the answers come in on, not on every
	// one (conf/all stays as the kernel's default, 0): the checks above
	// passed with that alone.
	for k, want := range map[string]string{"net/ipv4/conf/all/accept_local": "0", "net/ipv4/conf/eth0/accept_local": "1"} {
		if v, err := c.p.Director.ReadSysctl(k); err != nil || strings.TrimSpace(v) != want {
			t.Fatalf("%s = %q (%v), want %s", k, v, err, want)
		}
	}
	svcs, err := c.ipvs.Services(bg())
	must(t, err)
	probes := map[string]int{}
	for _, s := range svcs {
		if s.Service.FWMark < reconcile.ProbeMarkBase || s.Service.FWMark >= reconcile.ProbeMarkBase+reconcile.ProbeMarks {
			continue
		}
		ds, err := c.ipvs.Destinations(bg(), s.Service)
		must(t, err)
		for _, d := range ds {
			probes[d.Address.String()]++
		}
		if len(ds) != 1 {
			t.Fatalf("probe service %v holds %d real servers, want 1", s.Service, len(ds))
		}
	}
	if fmt.Sprint(probes) != fmt.Sprint(map[string]int{"10.0.0.11": 1, "10.0.0.12": 1}) {
		t.Fatalf("probe services' real servers: %v, want one each", probes)
	}

	h := c.p.RS1.Handle()
	lo, err := h.LinkByName("lo")
	must(t, err)
	vip, err := netlink.ParseAddr("10.0.0.100/32")
	must(t, err)
	must(t, h.AddrDel(lo, vip))
	if body, err := c.p.Client.Get("10.0.0.11:80"); err != nil || body != "rs1" {
		t.Fatalf("rs1's own address: %q, %v; want it still answering", body, err)
	}
	c.waitWeights(vip80, 5*time.Second, map[string]int{"10.0.0.11": 0, "10.0.0.12": 3})
	if got := c.tally(10); got["rs2"] != 10 {
		t.Fatalf("with rs1 quiesced: answers %v", got)
	}
	must(t, h.AddrAdd(lo, vip))
	c.waitWeights(vip80, 5*time.Second, map[string]int{"10.0.0.11": 2, "10.0.0.12": 3})
	if got := c.tally(20); got["rs1"] == 0 || got["rs2"] == 0 {
		t.Fatalf("with rs1 back: answers %v", got)
	}
}

// TestCheckViaVIPRenumbered: the director's own address on eth0 replaced
// (10.0.0.1 by 10.0.0.5) while the daemon runs: the checks through the
// VIP move to the new source address, and no healthy real server is
// quiesced. Before, their source was looked up only at start and at a
// reload: every check then failed binding 10.0.0.1 (cannot assign
// requested address) and both real servers went to weight 0.
func TestCheckViaVIPRenumbered(t *testing.T) {
	yaml := strings.Replace(config("5s", 2, 3), "check: {type: tcp,", "check: {type: tcp, via: vip,", 1)
	c := newCluster(t, yaml)
	d := c.run()
	c.ready()
	want := map[string]int{"10.0.0.11": 2, "10.0.0.12": 3}
	c.waitWeights(vip80, 5*time.Second, want)
	dir := c.p.Director
	// Deleting the primary address keeps its secondary in the same subnet.
	must(t, dir.WriteSysctl("net/ipv4/conf/eth0/promote_secondaries", "1"))
	must(t, dir.AddAddr("eth0", "10.0.0.5/24"))
	eth0, err := dir.Handle().LinkByName("eth0")
	must(t, err)
	old, err := netlink.ParseAddr("10.0.0.1/24")
	must(t, err)
	must(t, dir.Handle().AddrDel(eth0, old))
	renumbered := time.Now()
	// fall 3 x interval: every check failing would show within 5 s.
	for time.Since(renumbered) < 8*time.Second {
		if got := c.weights(vip80); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s after the director was renumbered, weights %v, want %v (log:\n%s)",
				time.Since(renumbered).Round(time.Millisecond), got, want, d.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(d.log.String(), "checks through the VIP follow the director's address") {
		t.Errorf("no log line of the new source address:\n%s", d.log.String())
	}
	st, err := c.status()
	must(t, err)
	for _, r := range st.RealServers {
		if r.State != "up" || r.LastResult != "pass" || r.Since.After(renumbered) {
			t.Errorf("after the renumbering: %+v, want up since before it, passing", r)
		}
	}
}
