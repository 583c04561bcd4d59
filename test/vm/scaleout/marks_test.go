package scaleout

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/pkg/nftmark"
)

// TestMarksFromConfig: lvs-rs start installs the nftables rules of a
// fwmark service's mark entries, so that traffic to VIP:80 and VIP:443
// lands in the fwmark service; stop removes the table.
func TestMarksFromConfig(t *testing.T) {
	p := topo.DR(t)
	c := presetCluster(t, p, fmt.Sprintf(`director:
  interface: eth0
virtual_servers:
  - vip: %v
    fwmark: 10
    mark: [{protocol: tcp, port: 80}, {protocol: tcp, port: 443}]
    scheduler: rr
    mode: dr
    real_servers:
      - {address: %v, weight: 1}
      - {address: %v, weight: 1}
`, p.VIP, p.RS1IP, p.RS2IP))
	for _, rs := range []*topo.NS{p.RS1, p.RS2} {
		c.lvsrs(rs, "start", "--role", "realserver")
		for _, port := range []string{":80", ":443"} {
			_, err := rs.ServeEcho(port)
			c.must(err)
		}
	}
	k := nftmark.NewKernel(int(p.Director.NsHandle()))
	c.lvsrs(p.Director, "start", "--role", "director")

	obs, err := k.Observe(timeout(t, 10*time.Second))
	if err != nil || !obs.Present || obs.Foreign || len(obs.Rules) != 2 {
		t.Fatalf("table inet %s after start: %+v, %v", nftmark.TableName, obs, err)
	}
	served := map[string]int{}
	for _, port := range []int{80, 443, 80, 443} {
		body, err := p.Client.Get(fmt.Sprintf("%v:%d", p.VIP, port))
		if err != nil {
			t.Fatalf("VIP:%d: %v", port, err)
		}
		served[body]++
	}
	if served[p.RS1.Name()] != 2 || served[p.RS2.Name()] != 2 {
		t.Fatalf("answers %v: want rr over rs1 and rs2, two each", served)
	}
	// The fwmark service counted them (the estimator publishes every 2 s).
	cl := ipvsIn(t, p.Director)
	var conns uint64
	for range 60 {
		svcs, err := cl.Services(context.Background())
		if err != nil || len(svcs) != 1 || svcs[0].FWMark != 10 {
			t.Fatalf("services: %+v, %v", svcs, err)
		}
		if conns = svcs[0].Stats.Connections; conns == 4 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if conns != 4 {
		t.Fatalf("fwmark service after 4 requests to VIP:80 and VIP:443: %d connections", conns)
	}
	if out, err := c.lvsrsErr(p.Director, "status", "--role", "director"); err != nil {
		t.Fatalf("status after start: %v\n%s", err, out)
	}

	c.lvsrs(p.Director, "stop", "--role", "director")
	if obs, err := k.Observe(timeout(t, 10*time.Second)); err != nil || obs.Present {
		t.Fatalf("table inet %s after stop: %+v, %v", nftmark.TableName, obs, err)
	}
	if svcs, err := cl.Services(context.Background()); err != nil || len(svcs) != 0 {
		t.Fatalf("services after stop: %+v, %v", svcs, err)
	}
}
