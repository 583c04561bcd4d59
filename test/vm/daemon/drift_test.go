package daemon

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// TestDriftRepair: a real server deleted by hand and a weight edited by
// hand are repaired within reconcile_interval; the VIP deleted by hand is
// bound again at once, from address events (reconcile_interval is far
// longer than the wait). A service lvs-rs did not create is never touched.
func TestDriftRepair(t *testing.T) {
	// Without checks: a health transition under a loaded VM would change
	// the desired state and make a repair count as an ordinary change.
	yaml := config("3s", 2, 3)
	i := strings.Index(yaml, "    check: {")
	yaml = yaml[:i] + yaml[i+strings.Index(yaml[i:], "\n")+1:]
	c := newCluster(t, yaml)
	foreign := ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: netip.MustParseAddr("10.0.0.200"), Port: 81, Scheduler: "rr", Netmask: 32}
	ctx := context.Background()
	must(t, c.ipvs.NewService(ctx, foreign))
	must(t, c.ipvs.NewDestination(ctx, foreign, ipvs.Destination{Address: netip.MustParseAddr("10.0.0.11"), Port: 81, Forward: ipvs.Route, Weight: 7}))
	c.run()
	c.ready()
	c.waitWeights(vip80, 5*time.Second, map[string]int{"10.0.0.11": 2, "10.0.0.12": 3})
	svc := ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: vip80.Address, Port: 80, Scheduler: "rr", Netmask: 32}

	must(t, c.ipvs.DeleteDestination(ctx, svc, ipvs.Destination{Address: netip.MustParseAddr("10.0.0.12"), Port: 80}))
	took := c.waitWeights(vip80, 6*time.Second, map[string]int{"10.0.0.11": 2, "10.0.0.12": 3})
	t.Logf("deleted real server repaired after %s (reconcile_interval 3s)", took)

	must(t, c.ipvs.UpdateDestination(ctx, svc, ipvs.Destination{Address: netip.MustParseAddr("10.0.0.11"), Port: 80, Forward: ipvs.Route, Weight: 9}))
	took = c.waitWeights(vip80, 6*time.Second, map[string]int{"10.0.0.11": 2, "10.0.0.12": 3})
	t.Logf("weight edited by hand repaired after %s", took)

	// The pass counts its repairs once it has finished, a moment after
	// the kernel holds them.
	waitFor(t, 2*time.Second, "status counts 2 drift repairs", func() (bool, string) {
		st, err := c.status()
		if err != nil {
			return false, err.Error()
		}
		return st.DriftRepairs >= 2, fmt.Sprintf("status counts %d drift repairs, want at least 2", st.DriftRepairs)
	})
	if !strings.Contains(c.d.log.String(), "drift repaired") {
		t.Fatalf("no drift log line:\n%s", c.d.log.String())
	}
	if v, _ := metricLine(c.scrape("10.0.0.1:9597"), "lvsrs_drift_repairs_total", `object="weight"`); v != "1" {
		t.Fatalf("lvsrs_drift_repairs_total{object=weight} = %q, want 1", v)
	}

	h := c.p.Director.Handle()
	link, err := h.LinkByName("eth0")
	must(t, err)
	vipAddr, err := netlink.ParseAddr("10.0.0.100/32")
	must(t, err)
	// The reconcile timer was just reset by the repair above: the next
	// periodic pass is up to 3s away, the bound below is 1s.
	must(t, h.AddrDel(link, vipAddr))
	start := time.Now()
	waitFor(t, time.Second, "the VIP to be bound again", func() (bool, string) {
		addrs, err := h.AddrList(link, netlink.FAMILY_V4)
		if err != nil {
			return false, err.Error()
		}
		for _, a := range addrs {
			if a.IP.String() == "10.0.0.100" {
				return true, ""
			}
		}
		return false, "missing"
	})
	t.Logf("VIP re-bound after %s", time.Since(start))
	if got := c.tally(4); got["rs1"]+got["rs2"] != 4 {
		t.Fatalf("after re-binding: answers %v", got)
	}

	fd, err := c.ipvs.Destinations(ctx, foreign)
	must(t, err)
	if len(fd) != 1 || fd[0].Weight != 7 {
		t.Fatalf("the foreign service's real servers: %+v, want one, weight 7, untouched", fd)
	}
}
