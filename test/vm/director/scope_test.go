package director

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// TestScopedPassAsksForItsService: a pass converging one service (as
// lvs-rs run's after a health transition) asks the kernel for that
// service alone, with no dump of every service, and makes the one edit;
// the other service is not touched. A service in scope deleted by hand
// is found missing (ESRCH) and made again. The client's request for one
// service returns what the dump shows.
func TestScopedPassAsksForItsService(t *testing.T) {
	p := topo.DR(t)
	h := newHost(t, p.Director).counted()
	cfg := one(p, config.ModeDR, "rr", 80, 1, 1)
	other := cfg.VirtualServers[0]
	other.Port = 81
	for i := range other.RealServers {
		other.RealServers[i].Port = 81
	}
	cfg.VirtualServers = append(cfg.VirtualServers, other)
	h.start(cfg)
	c := ipvsIn(t, p.Director)
	before := readTable(t, c)
	for k, e := range before {
		got, err := c.Service(context.Background(), k)
		if err != nil || got.Service != e.svc.Service {
			t.Fatalf("Service(%v) = %+v, %v; the dump shows %+v", k, got.Service, err, e.svc.Service)
		}
	}
	missing := ipvs.ServiceKey{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: p.VIP, Port: 82}
	if _, err := c.Service(context.Background(), missing); !errors.Is(err, unix.ESRCH) {
		t.Fatalf("Service of a missing service: %v, want ESRCH", err)
	}

	d := director.DesiredFrom(cfg)
	key := d.Services[0].Service.Key()
	d.Services[0].Destinations[1].Weight = 0 // its health check failed
	d.Services[1].Destinations[1].Weight = 5 // out of scope: stays
	o := h.o
	o.Services = []ipvs.ServiceKey{key}
	converge := func() director.Result {
		t.Helper()
		var res director.Result
		must(t, h.ns.Do(func() (err error) { res, err = director.Converge(context.Background(), d, o); return err }))
		return res
	}
	writes, dumps, gets := h.k.writes, h.k.dumps, h.k.gets
	res := converge()
	if len(res.Changes) != 1 || h.k.writes != writes+1 {
		t.Fatalf("changes %v (%d writes), want the one edit", kinds(res.Changes), h.k.writes-writes)
	}
	if h.k.dumps != dumps || h.k.gets != gets+1 {
		t.Fatalf("the pass dumped every service %d times and asked for one %d times; want 0 and 1", h.k.dumps-dumps, h.k.gets-gets)
	}
	after := readTable(t, c)
	for _, x := range after[key].dests {
		if x.Address == p.RS2IP && x.Weight != 0 {
			t.Fatalf("weight in scope %d, want 0", x.Weight)
		}
	}
	for _, x := range after[d.Services[1].Service.Key()].dests {
		if x.Weight != 1 {
			t.Fatalf("weight out of scope %d, want 1 (untouched)", x.Weight)
		}
	}

	must(t, c.DeleteService(context.Background(), d.Services[0].Service))
	res = converge()
	if len(res.Changes) != 3 || res.Changes[0].Kind != director.AddService {
		t.Fatalf("pass after the service in scope was deleted by hand: %v, want it and its two real servers added", kinds(res.Changes))
	}
	if got := len(readTable(t, c)[key].dests); got != 2 {
		t.Fatalf("service in scope has %d real servers after the pass, want 2", got)
	}
	h.stop()
	if tb := readTable(t, c); len(tb) != 0 {
		t.Fatalf("stop left %d services", len(tb))
	}
}
