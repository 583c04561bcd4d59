package reconcile

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// readKernel reads the weight and connection count of every real server
// of the services in want, as the kernel has them now. A few services
// (fewGets at most: a drain, a scoped pass) are asked for by key, one
// request each; more are found in one dump of every service.
func readKernel(ctx context.Context, x director.IPVS, want map[ipvs.ServiceKey]bool) (map[Member]Observed, error) {
	out := map[Member]Observed{}
	if x == nil || len(want) == 0 {
		return out, nil
	}
	svcs, err := servicesOf(ctx, x, want)
	if err != nil {
		return nil, fmt.Errorf("reconcile: read IPVS services: %w", err)
	}
	for _, s := range svcs {
		k := s.Service.Key()
		if !want[k] {
			continue
		}
		ds, err := x.Destinations(ctx, s.Service)
		if err != nil {
			return nil, fmt.Errorf("reconcile: read real servers of %v: %w", k, err)
		}
		for _, d := range ds {
			out[Member{k, d.Key()}] = Observed{Weight: d.Weight, Conns: d.ActiveConnections + d.InactiveConnections}
		}
	}
	return out, nil
}

// fewGets is how many services readKernel asks for one by one rather
// than in a dump of every service.
const fewGets = 16

// servicesOf returns the services of want that exist (and, from a dump,
// others too).
func servicesOf(ctx context.Context, x director.IPVS, want map[ipvs.ServiceKey]bool) ([]ipvs.ServiceExtended, error) {
	if len(want) > fewGets {
		return x.Services(ctx)
	}
	var out []ipvs.ServiceExtended
	for k := range want {
		s, err := x.Service(ctx, k)
		switch {
		case errors.Is(err, unix.ESRCH): // not in the kernel: no real servers to see
		case err != nil:
			return nil, err
		default:
			out = append(out, s)
		}
	}
	return out, nil
}

// kernelNeeded lists the services whose real servers Overlay must see in
// the kernel: those with a real server not checked yet (it keeps the
// kernel's weight), drained by hand or leaving the file (deleted once
// idle), or keeping a moved VIP bound while busy (see MovedVIP); with
// only set, those of only alone (OverlayScoped overlays no other). A steady pass needs none, so it costs only Converge's own read.
func kernelNeeded(in Inputs, only map[ipvs.ServiceKey]bool) map[ipvs.ServiceKey]bool {
	want := map[ipvs.ServiceKey]bool{}
	for m, h := range in.Health {
		if h.State == Pending {
			want[m.Service] = true
		}
	}
	for m := range in.Drained {
		want[m.Service] = true
	}
	for m := range in.Leaving {
		want[m.Service] = true
	}
	for k := range in.Moved {
		want[k.Service] = true
	}
	if only != nil {
		maps.DeleteFunc(want, func(k ipvs.ServiceKey, _ bool) bool { return !only[k] })
	}
	return want
}
