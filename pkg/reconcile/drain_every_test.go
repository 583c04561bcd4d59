package reconcile

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/control"
)

// drainEveryConfig is a file with 127.0.0.2 (weight 2) and 127.0.0.3
// (weight 3) in a service on 10.0.0.100:80, and 127.0.0.2 alone in a
// service on each of ports.
func drainEveryConfig(ports ...int) string {
	s := `director:
  interface: eth0
  reconcile_interval: 1s
virtual_servers:
  - vip: 10.0.0.100
    port: 80
    scheduler: wrr
    real_servers:
      - {address: 127.0.0.2, weight: 2}
      - {address: 127.0.0.3, weight: 3}
`
	for _, p := range ports {
		s += fmt.Sprintf(`  - vip: 10.0.0.100
    port: %d
    scheduler: wrr
    real_servers:
      - {address: 127.0.0.2, weight: 2}
`, p)
	}
	return s
}

// rowOf is the status row of addr in the service on 10.0.0.100:port.
func rowOf(st control.Status, port uint16, addr string) (control.RealServer, bool) {
	for _, r := range st.RealServers {
		if r.Service.Port == port && r.Address.String() == addr {
			return r, true
		}
	}
	return control.RealServer{}, false
}

// TestDrainedHostNewService: a host drained by hand without --service
// stays out of rotation in the services a later reload adds or re-keys
// (not added to them at all: a drained real server is deleted once
// idle), also after a restart of the daemon; enable with --service puts
// it back in that service alone, and enable without --service
// everywhere.
func TestDrainedHostNewService(t *testing.T) {
	dir := t.TempDir()
	file, stateDir := dir+"/lvs-rs.yaml", dir+"/state"
	writeConfig(t, file, drainEveryConfig(82))
	k := newMemKernel()
	lp, ctx, stop := runLoopOn(t, file, stateDir, k)
	host := netip.MustParseAddr("127.0.0.2")
	k.setConns(80, "127.0.0.2", 1) // busy: kept at weight 0
	if _, err := lp.Drain(ctx, control.DrainRequest{Address: host}); err != nil {
		t.Fatal(err)
	}
	if w80, w82 := k.weights(80), k.weights(82); w80["127.0.0.2"] != 0 || w82["127.0.0.2"] != 0 {
		t.Fatalf("after drain: 80=%v 82=%v", w80, w82)
	}
	// :443 (here :81) added for the same hosts, :82 moved to :83.
	writeConfig(t, file, drainEveryConfig(83, 81))
	lp.Reload()
	waitUntil(t, "the new services", func() (bool, string) {
		st, _ := lp.Status(ctx)
		_, ok81 := rowOf(st, 81, "127.0.0.2")
		_, ok83 := rowOf(st, 83, "127.0.0.2")
		return ok81 && ok83, fmt.Sprint(st.RealServers)
	})
	st, _ := lp.Status(ctx)
	for _, p := range []uint16{80, 81, 83} {
		if r, _ := rowOf(st, p, "127.0.0.2"); r.State != control.StateDrained || r.EffectiveWeight != 0 {
			t.Errorf("127.0.0.2 in :%d after the reload: %+v, want drained", p, r)
		}
		if w := k.weights(p); w["127.0.0.2"] != 0 {
			t.Errorf("127.0.0.2 in :%d has weight %d in the kernel: it gets new connections", p, w["127.0.0.2"])
		}
	}
	if w := k.weights(80); w["127.0.0.3"] != 3 {
		t.Errorf("127.0.0.3 in :80: %v", w)
	}

	// A restart keeps the drain of every service.
	stop()
	lp2, ctx2, _ := runLoopOn(t, file, stateDir, k)
	if w81 := k.weights(81); w81["127.0.0.2"] != 0 {
		t.Fatalf("after a restart: :81 %v", w81)
	}
	svc81, err := control.ParseService("tcp:10.0.0.100:81")
	if err != nil {
		t.Fatal(err)
	}
	res, err := lp2.Enable(ctx2, control.DrainRequest{Address: host, Service: svc81})
	if err != nil || len(res.Targets) != 1 || !res.Targets[0].Changed {
		t.Fatalf("enable in :81: %+v, %v", res, err)
	}
	if w81, w83, w80 := k.weights(81), k.weights(83), k.weights(80); w81["127.0.0.2"] != 2 || w83["127.0.0.2"] != 0 || w80["127.0.0.2"] != 0 {
		t.Fatalf("after enable in :81 alone: 80=%v 81=%v 83=%v", w80, w81, w83)
	}
	if _, err := lp2.Enable(ctx2, control.DrainRequest{Address: host}); err != nil {
		t.Fatal(err)
	}
	if w80, w83 := k.weights(80), k.weights(83); w80["127.0.0.2"] != 2 || w83["127.0.0.2"] != 2 {
		t.Fatalf("after enable: 80=%v 83=%v", w80, w83)
	}
	if kept, err := control.LoadDrains(stateDir); err != nil || len(kept) != 0 {
		t.Fatalf("drains kept after enable: %v, %v", kept, err)
	}
}
