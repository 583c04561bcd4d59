package scaleout

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/nftmark"
	"golang.org/x/sys/unix"
)

// drCluster is topo.DR with the VIP on the director's eth0, the real
// servers set up for DR (VIP on lo, arp_ignore/arp_announce) and echo
// servers on VIP:80 and VIP:443.
func drCluster(t *testing.T) *topo.Preset {
	p := topo.DR(t)
	vip := p.VIP.String()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(p.Director.AddAddr("eth0", vip+"/32"))
	for _, rs := range []*topo.NS{p.RS1, p.RS2} {
		must(rs.AddAddr("lo", vip+"/32"))
		must(rs.WriteSysctl("net/ipv4/conf/all/arp_ignore", "1"))
		must(rs.WriteSysctl("net/ipv4/conf/all/arp_announce", "2"))
		for _, port := range []string{"80", "443"} {
			_, err := rs.ServeEcho(vip + ":" + port)
			must(err)
		}
	}
	return p
}

func TestNFTablesMarksWithTraffic(t *testing.T) {
	p := drCluster(t)
	c := ipvsIn(t, p.Director)
	fw := ipvs.Service{Family: ipvs.Inet, FWMark: 10, Scheduler: "rr", Netmask: 32}
	apply(t, c, ipvs.Op{Kind: ipvs.OpNewService, Service: fw},
		ipvs.Op{Kind: ipvs.OpNewDestination, Service: fw, Destination: ipvs.Destination{Address: p.RS1IP, Forward: ipvs.Route, Weight: 1}},
		ipvs.Op{Kind: ipvs.OpNewDestination, Service: fw, Destination: ipvs.Destination{Address: p.RS2IP, Forward: ipvs.Route, Weight: 1}})
	rules := []nftmark.Rule{
		{VIP: p.VIP, Protocol: unix.IPPROTO_TCP, Port: 80, Mark: 10},
		{VIP: p.VIP, Protocol: unix.IPPROTO_TCP, Port: 443, Mark: 10},
	}
	k := nftmark.NewKernel(int(p.Director.NsHandle()))
	get := func(port int) (string, error) { return p.Client.Get(fmt.Sprintf("%v:%d", p.VIP, port)) }

	// Without the marks the director itself answers (nothing listens).
	if body, err := get(80); err == nil {
		t.Fatalf("VIP:80 answered %q before any mark rule", body)
	}
	ch, err := nftmark.Sync(timeout(t, 10*time.Second), k, rules)
	if err != nil || ch.Action != nftmark.Build {
		t.Fatalf("Sync = %+v, %v", ch, err)
	}
	if ch, err := nftmark.Sync(timeout(t, 10*time.Second), k, rules); err != nil || ch.Action != nftmark.None {
		t.Fatalf("second Sync = %+v, %v; want no change", ch, err)
	}
	served := map[string]int{}
	for _, port := range []int{80, 443, 80, 443} {
		body, err := get(port)
		if err != nil {
			t.Fatalf("VIP:%d with marks: %v", port, err)
		}
		served[body]++
	}
	if served[p.RS1.Name()] != 2 || served[p.RS2.Name()] != 2 {
		t.Fatalf("answers %v: want rr over rs1 and rs2, two each", served)
	}
	// The kernel's estimator publishes the counters every 2 s.
	var conns uint64
	for range 50 {
		svcs, err := c.Services(context.Background())
		if err != nil || len(svcs) != 1 {
			t.Fatalf("services: %v, %v", svcs, err)
		}
		if conns = svcs[0].Stats.Connections; conns == 4 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if conns != 4 {
		t.Fatalf("fwmark service after 4 requests: %d connections", conns)
	}
	if out := run(t, p.Director, "ipvsadm", "-Ln", "--stats"); !strings.Contains(out, "FWM  10") {
		t.Fatalf("ipvsadm:\n%s", out)
	}

	// Removal: no table left, and the VIP's ports are no longer marked.
	if ch, err := nftmark.Sync(timeout(t, 10*time.Second), k, nil); err != nil || ch.Action != nftmark.Remove {
		t.Fatalf("removing Sync = %+v, %v", ch, err)
	}
	conn := &nftables.Conn{NetNS: int(p.Director.NsHandle())}
	if tables, err := conn.ListTables(); err != nil || len(tables) != 0 {
		t.Fatalf("tables after removal: %v, %v", tables, err)
	}
	if body, err := get(443); err == nil {
		t.Fatalf("VIP:443 answered %q after the marks were removed", body)
	}
}
