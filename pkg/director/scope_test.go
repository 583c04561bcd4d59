package director

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// dumpCounter counts the destination dumps of a memKernel.
type dumpCounter struct {
	*memKernel
	dumped []ipvs.ServiceKey
}

func (d *dumpCounter) Destinations(ctx context.Context, s ipvs.Service) ([]ipvs.DestinationExtended, error) {
	d.dumped = append(d.dumped, s.Key())
	return d.memKernel.Destinations(ctx, s)
}

func (d *dumpCounter) DestinationsOf(ctx context.Context, svcs []ipvs.Service, each func(int, []ipvs.DestinationExtended)) error {
	return listEach(ctx, svcs, d.Destinations, each)
}

func (d *dumpCounter) DestinationConfigsOf(ctx context.Context, svcs []ipvs.Service, each func(int, []ipvs.Destination)) error {
	return listConfigsEach(ctx, svcs, d.Destinations, each)
}

func (d *dumpCounter) names() []string {
	var out []string
	for _, k := range d.dumped {
		out = append(out, k.String())
	}
	return out
}

// TestConvergeServicesScope: with Options.Services, a health transition
// (one real server's weight to 0 in one of two services) is one edit, the
// other service's real servers are neither dumped nor changed although
// its desired state differs too, and the record still holds both
// services; a pass with nothing to do dumps only the service in scope.
func TestConvergeServicesScope(t *testing.T) {
	b := newMemBed(t)
	cfg := web()
	second := cfg.VirtualServers[0]
	second.Port = 443
	cfg.VirtualServers = append(cfg.VirtualServers, second)
	if _, err := Start(context.Background(), cfg, b.opts()); err != nil {
		t.Fatal(err)
	}
	d := DesiredFrom(cfg)
	d.Services[0].Destinations[1].Weight = 0 // the health check failed
	d.Services[1].Destinations[0].Weight = 7 // not in scope: stays as it is
	k := &dumpCounter{memKernel: b.k}
	o := Options{StateDir: b.dir, Kernel: k, Services: []ipvs.ServiceKey{svcKey(80)}}
	writes, serviceDumps, gets := b.k.writes, b.k.serviceDumps, b.k.gets
	res, err := Converge(context.Background(), d, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != 1 || res.Changes[0].Kind != EditDestination || b.k.writes != writes+1 {
		t.Fatalf("changes %v, %d writes; want one edit", res.Changes, b.k.writes-writes)
	}
	if b.k.serviceDumps != serviceDumps || b.k.gets != gets+1 {
		t.Fatalf("the pass dumped every service %d times and asked for one %d times; want 0 and 1 (the one in scope)",
			b.k.serviceDumps-serviceDumps, b.k.gets-gets)
	}
	want := []string{"tcp 10.0.0.100:80"} // observe; the kernel acknowledged the edit: no read-back
	if diff := cmp.Diff(want, k.names()); diff != "" {
		t.Fatalf("destination dumps (-want +got):\n%s", diff)
	}
	snap := b.k.snapshot()
	if got := snap.Dests[svcKey(80)][1].Weight; got != 0 {
		t.Fatalf("weight in scope = %d, want 0", got)
	}
	if got := snap.Dests[svcKey(443)][0].Weight; got != 1 {
		t.Fatalf("weight out of scope = %d, want 1 (untouched)", got)
	}
	r, _ := b.record()
	var keys []string
	for _, s := range r.Services {
		keys = append(keys, s.ServiceKey.String())
		if len(s.Destinations) != 2 {
			t.Fatalf("recorded %v with %d real servers, want 2", s.ServiceKey, len(s.Destinations))
		}
	}
	if !slices.Equal(keys, []string{"tcp 10.0.0.100:80", "tcp 10.0.0.100:443"}) {
		t.Fatalf("recorded services %v, want both", keys)
	}
	k.dumped = nil
	if res, err := Converge(context.Background(), d, o); err != nil || len(res.Changes) != 0 {
		t.Fatalf("second pass: %v, %v; want nothing to do", res.Changes, err)
	}
	if diff := cmp.Diff([]string{"tcp 10.0.0.100:80"}, k.names()); diff != "" {
		t.Fatalf("destination dumps of a pass with nothing to do (-want +got):\n%s", diff)
	}
	// A service in scope deleted by hand: asked for, not there, added
	// again with its real servers.
	b.k.services = slices.DeleteFunc(b.k.services, func(x ipvs.ServiceExtended) bool { return x.Key() == svcKey(80) })
	delete(b.k.dests, svcKey(80))
	if res, err := Converge(context.Background(), d, o); err != nil || len(res.Changes) != 3 || res.Changes[0].Kind != AddService {
		t.Fatalf("pass after the service in scope was deleted: %v, %v; want it and its two real servers added again", res.Changes, err)
	}
	if snap := b.k.snapshot(); len(snap.Dests[svcKey(80)]) != 2 {
		t.Fatalf("service in scope after the pass: %v", snap.Dests[svcKey(80)])
	}
	// Without a scope the other service converges too.
	if res, err := Converge(context.Background(), d, Options{StateDir: b.dir, Kernel: b.k}); err != nil || len(res.Changes) != 1 {
		t.Fatalf("whole pass: %v, %v; want the out-of-scope edit", res.Changes, err)
	}
}
