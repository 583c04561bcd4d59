package realserver

import (
	"fmt"
	"slices"

	"github.com/lvs-rs/lvs-rs/pkg/tunnel"
)

// check validates a record read from disk: a version this lvs-rs reads,
// and entries that name only what the real-server role creates (sysctls
// of its ARP policy, VIPs on lo, tunl0 or gre0, tunl0 and gre0, GUE
// receive ports, default routes), so that a damaged or tampered file
// never makes stop touch anything else.
func (r Record) check() error {
	if !slices.Contains(readVersions, r.Version) {
		return fmt.Errorf("version %d is not one this lvs-rs reads (%v): stop with the lvs-rs that wrote it, or undo by hand what it lists and delete the file", r.Version, readVersions)
	}
	bad := func(what string, a ...any) error {
		return fmt.Errorf(what+": the record is damaged: undo by hand what it lists and delete the file", a...)
	}
	keys := map[string]bool{}
	for _, dev := range []string{"lo", tunnel.Dev, tunnel.GREDev} {
		for _, w := range devicePolicy(dev) {
			keys[w.Key.String()] = true
		}
	}
	for i, s := range r.Sysctls {
		if !keys[s.Key] {
			return bad("sysctls[%d]: %q is not a parameter lvs-rs sets on a real server", i, s.Key)
		}
	}
	for i, a := range r.Addresses {
		if a.Dev != "lo" && a.Dev != tunnel.Dev && a.Dev != tunnel.GREDev {
			return bad("addresses[%d]: device %q is not lo, %s or %s", i, a.Dev, tunnel.Dev, tunnel.GREDev)
		}
		if !a.Prefix.IsValid() || !a.Prefix.IsSingleIP() {
			return bad("addresses[%d]: %q is not a single-address prefix", i, a.Prefix)
		}
	}
	if r.Tunnel != nil && r.Tunnel.Dev != tunnel.Dev {
		return bad("tunnel: device %q is not %s", r.Tunnel.Dev, tunnel.Dev)
	}
	if r.GRE != nil && r.GRE.Dev != tunnel.GREDev {
		return bad("gre: device %q is not %s", r.GRE.Dev, tunnel.GREDev)
	}
	for i, p := range r.FOU {
		if p.Port == 0 || slices.ContainsFunc(r.FOU[:i], func(q FOURecord) bool { return q == p }) {
			return bad("fou[%d]: port %d is 0 or listed twice", i, p.Port)
		}
	}
	for _, f := range []struct {
		name string
		rr   *RouteRecord
	}{{"route", r.Route}, {"route6", r.Route6}} {
		if err := f.rr.check(f.name); err != nil {
			return bad("%v", err)
		}
	}
	if r.Route6 != nil && (r.Route == nil || r.Route.v6() || !r.Route6.v6()) {
		return bad("route6: set only for an IPv6 route next to an IPv4 one in route")
	}
	return nil
}

// check validates the record of one default route, named name: default
// routes only, Was in Created's slot.
func (rr *RouteRecord) check(name string) error {
	if rr == nil {
		return nil
	}
	for _, e := range []struct {
		name string
		rt   *Route
	}{{"created", rr.Created}, {"was", rr.Was}, {"replaced", rr.Replaced}} {
		if e.rt != nil && (!e.rt.Dst.IsValid() || e.rt.Dst.Bits() != 0) {
			return fmt.Errorf("%s.%s: %q is not a default route", name, e.name, e.rt.Dst)
		}
	}
	if rr.Was != nil && (rr.Created == nil || !sameSlot(*rr.Was, *rr.Created)) {
		return fmt.Errorf("%s.was: %s is not in the slot of %s.created", name, rr.Was, name)
	}
	return nil
}
