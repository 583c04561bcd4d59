package realserver

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strings"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
	"github.com/lvs-rs/lvs-rs/pkg/tunnel"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
)

// Role is the state record's name in the state directory.
const Role = "realserver"

// recordVersion is the schema version of Record that this lvs-rs
// writes. Version 2 records routes whole and is written intention first
// (an entry is saved before the write that makes it); version 1, whose
// routes hold gateway, device and metric only, is read as well.
const recordVersion = 2

// changingVersion is the version of a record saved while a gateway change
// is under way (RouteRecord.Was set): version 2 with Was, which an lvs-rs
// that reads only version 2 would ignore, taking lvs-rs's own route for
// another's and losing the one it replaced; so that lvs-rs refuses it.
// It is written only while Was is.
const changingVersion = 3

// tunnelVersion is the version of a record that holds anything of a gue
// or gre tunnel (a binding with a tunnel type, a GUE receive port, gre0,
// a VIP or a parameter of gre0): an lvs-rs that reads only versions 1 to
// 3 would ignore the ports and gre0, leaving them behind on stop, or
// refuse the rest as damaged; so that lvs-rs refuses the version instead.
// It may hold a gateway change under way too (changingVersion's content).
// It is written only while the record holds such an entry.
const tunnelVersion = 4

// dualVersion is the version of a record that holds default routes of
// both families (Route6 set): an lvs-rs that reads only versions 1 to 4
// would ignore Route6, leaving lvs-rs's IPv6 route behind on stop and
// never putting back the one it replaced; so that lvs-rs refuses the
// version instead. It may hold what tunnelVersion and changingVersion
// need too. It is written only while Route6 is set.
const dualVersion = 5

// readVersions are the record versions this lvs-rs reads.
var readVersions = []int{1, 2, changingVersion, tunnelVersion, dualVersion}

// versioned sets r's version to what its content needs: dualVersion
// while it holds routes of both families, else tunnelVersion while it
// holds a gue or gre entry, else changingVersion while a gateway change
// is under way; a record back from any of them is version 2 again (one
// read as version 1 keeps its version otherwise).
func (r *Record) versioned() {
	switch {
	case r.Route6 != nil:
		r.Version = dualVersion
	case r.tunnels():
		r.Version = tunnelVersion
	case r.Route != nil && r.Route.Was != nil:
		r.Version = changingVersion
	case r.Version == changingVersion, r.Version == tunnelVersion, r.Version == dualVersion:
		r.Version = recordVersion
	}
}

// tunnels reports whether r holds an entry of a gue or gre tunnel, which
// needs tunnelVersion.
func (r *Record) tunnels() bool {
	gre0 := "/" + tunnel.GREDev + "/"
	return r.GRE != nil || len(r.FOU) > 0 ||
		slices.ContainsFunc(r.Desired.Bindings, func(b BindingRecord) bool { return b.Tunnel != "" }) ||
		slices.ContainsFunc(r.Addresses, func(a AddrRecord) bool { return a.Dev == tunnel.GREDev }) ||
		slices.ContainsFunc(r.Sysctls, func(s sysctl.Record) bool { return strings.Contains(s.Key, gre0) })
}

// Record is what lvs-rs remembers on a real server: the desired state it
// applied last, and every kernel object it created or changed, so that stop
// undoes exactly that. It is stored as JSON (see doc.go).
type Record struct {
	Version int  `json:"version"`
	Desired Spec `json:"desired"`
	// Sysctls are the parameters lvs-rs wrote (or is about to write), with
	// the value found first.
	Sysctls []sysctl.Record `json:"sysctls,omitempty"`
	// Addresses are the VIPs lvs-rs bound or is about to bind (adopted
	// ones are not listed); one that is present is lvs-rs's.
	Addresses []AddrRecord `json:"addresses,omitempty"`
	// Tunnel is set while a tun binding through tunl0 (ipip, gue) is
	// applied: how tunl0 was before.
	Tunnel *TunnelRecord `json:"tunnel,omitempty"`
	// GRE is set while a gre binding is applied: how gre0 was before.
	GRE *TunnelRecord `json:"gre,omitempty"`
	// FOU are the GUE receive ports lvs-rs added (or is about to add);
	// one that is present and GUE is lvs-rs's. Adopted ones are not
	// listed.
	FOU []FOURecord `json:"fou,omitempty"`
	// Route is set while lvs-rs owns a default route: the IPv4 one when
	// it owns routes of both families, else the one it owns, of either
	// family (as in records of versions 1 to 4). Use route and setRoute.
	Route *RouteRecord `json:"route,omitempty"`
	// Route6 is lvs-rs's IPv6 default route while Route holds its IPv4
	// one (version 5); nil otherwise.
	Route6 *RouteRecord `json:"route6,omitempty"`
}

// route returns the record of lvs-rs's default route of a family (IPv6
// when v6), nil when none.
func (r *Record) route(v6 bool) *RouteRecord {
	for _, rr := range []*RouteRecord{r.Route, r.Route6} {
		if rr != nil && rr.v6() == v6 {
			return rr
		}
	}
	return nil
}

// setRoute makes rr the record of the default route of a family (IPv6
// when v6), nil for none, keeping the other family's: Route holds the
// IPv4 one and Route6 the IPv6 one when there are both, Route the only
// one otherwise.
func (r *Record) setRoute(v6 bool, rr *RouteRecord) {
	v4r, v6r := r.route(false), r.route(true)
	if v6 {
		v6r = rr
	} else {
		v4r = rr
	}
	r.Route, r.Route6 = v4r, v6r
	if v4r == nil {
		r.Route, r.Route6 = v6r, nil
	}
}

// Spec is the applied Desired in the record. Its gateways are written as
// the routes are: Gateway holds the only one, or the IPv4 one while
// Gateway6 holds the IPv6 one.
type Spec struct {
	Bindings []BindingRecord `json:"bindings"`
	Gateway  netip.Addr      `json:"gateway,omitzero"`
	Gateway6 netip.Addr      `json:"gateway6,omitzero"`
}

// BindingRecord is one config.Binding in the record.
type BindingRecord struct {
	VIP  netip.Addr  `json:"vip"`
	Mode config.Mode `json:"mode"`
	// Tunnel is a tun binding's tunnel type, gue or gre; empty for ipip
	// (and in records of versions 1 to 3).
	Tunnel config.TunnelType `json:"tunnel,omitempty"`
	// Port is a gue binding's UDP port.
	Port uint16 `json:"port,omitempty"`
}

// FOURecord is a GUE receive port (IPv4, every address) lvs-rs added.
type FOURecord struct {
	Port uint16 `json:"port"`
}

// AddrRecord is an address lvs-rs bound.
type AddrRecord struct {
	Dev       string       `json:"dev"`
	Prefix    netip.Prefix `json:"prefix"`
	Label     string       `json:"label,omitempty"`
	HostScope bool         `json:"host_scope,omitempty"`
}

// TunnelRecord tells how a fallback device (tunl0, gre0) was before
// lvs-rs used it.
type TunnelRecord struct {
	Dev string `json:"dev"`
	// WasUp: the device was already up, so stop leaves it up.
	WasUp bool `json:"was_up"`
	// Created: lvs-rs created the device itself (no fallback device in
	// this namespace), so stop deletes it.
	Created bool `json:"created,omitempty"`
}

// RouteRecord is the default route lvs-rs set (or is about to set) and
// the one it replaced, whole.
type RouteRecord struct {
	// Created is lvs-rs's route; nil once deleted (Replaced still pending).
	Created *Route `json:"created,omitempty"`
	// Was is lvs-rs's route that Created is about to replace in the same
	// slot (the gateway changed). It is set only in the record saved
	// before that replace: until the kernel is read back holding Created,
	// the slot may hold either, and both are lvs-rs's, so the replaced
	// route is never lost and lvs-rs's own route is never taken for it.
	Was *Route `json:"was,omitempty"`
	// Replaced is the default route that held the same metric before, put
	// back when lvs-rs's route goes.
	Replaced *Route `json:"replaced,omitempty"`
}

// v6 reports whether rr is about an IPv6 default route.
func (rr *RouteRecord) v6() bool {
	s := rr.slot()
	return s != nil && s.Dst.Addr().Is6()
}

// slot returns a route of the slot rr is about (Created, or Replaced once
// Created is deleted); nil for nil or an empty rr.
func (rr *RouteRecord) slot() *Route {
	switch {
	case rr == nil:
		return nil
	case rr.Created != nil:
		return rr.Created
	}
	return rr.Replaced
}

// own returns the entry of rr that r, a route in the kernel, is when it
// is lvs-rs's: Created, or Was while a gateway change is under way; nil
// when r is not lvs-rs's.
func (rr *RouteRecord) own(r Route) *Route {
	switch {
	case rr == nil:
		return nil
	case rr.Created != nil && sameGateway(r, *rr.Created):
		return rr.Created
	case rr.Was != nil && sameGateway(r, *rr.Was):
		return rr.Was
	}
	return nil
}

func specOf(d Desired) Spec {
	s := Spec{Bindings: []BindingRecord{}}
	switch len(d.Gateways) {
	case 1:
		s.Gateway = d.Gateways[0]
	case 2:
		s.Gateway, s.Gateway6 = d.Gateways[0], d.Gateways[1]
	}
	for _, b := range d.Bindings {
		s.Bindings = append(s.Bindings, BindingRecord{VIP: b.VIP, Mode: b.Mode, Tunnel: b.Tunnel, Port: b.TunnelPort})
	}
	return s
}

// desired returns the recorded Desired.
func (s Spec) desired() Desired {
	d := Desired{}
	for _, g := range []netip.Addr{s.Gateway, s.Gateway6} {
		if g.IsValid() {
			d.Gateways = append(d.Gateways, g)
		}
	}
	for _, b := range s.Bindings {
		d.Bindings = append(d.Bindings, config.Binding{VIP: b.VIP, Mode: b.Mode, Tunnel: b.Tunnel, TunnelPort: b.Port})
	}
	return d
}

func addrRecord(a vip.Addr) AddrRecord {
	return AddrRecord{Dev: a.Dev, Prefix: a.Prefix, Label: a.Label, HostScope: a.HostScope}
}

// Addr returns the record as a vip.Addr.
func (r AddrRecord) Addr() vip.Addr {
	return vip.Addr{Dev: r.Dev, Prefix: r.Prefix, Label: r.Label, HostScope: r.HostScope}
}

// clone returns a deep copy of r.
func (r Record) clone() Record {
	c := r
	c.Desired.Bindings = slices.Clone(r.Desired.Bindings)
	c.Sysctls = slices.Clone(r.Sysctls)
	c.Addresses = slices.Clone(r.Addresses)
	if r.Tunnel != nil {
		t := *r.Tunnel
		c.Tunnel = &t
	}
	if r.GRE != nil {
		t := *r.GRE
		c.GRE = &t
	}
	c.FOU = slices.Clone(r.FOU)
	c.Route, c.Route6 = r.Route.clone(), r.Route6.clone()
	return c
}

// clone returns a deep copy of rr, nil for nil.
func (rr *RouteRecord) clone() *RouteRecord {
	if rr == nil {
		return nil
	}
	return &RouteRecord{Created: rr.Created.clone(), Was: rr.Was.clone(), Replaced: rr.Replaced.clone()}
}

// clone returns a deep copy of r, nil for nil.
func (r *Route) clone() *Route {
	if r == nil {
		return nil
	}
	c := *r
	c.NextHops = slices.Clone(r.NextHops)
	return &c
}

// encoded returns r's JSON, as the state record holds it; nil if it cannot
// be encoded (then it equals nothing, and a save reports the error).
func encoded(r Record) []byte {
	b, err := json.Marshal(r)
	if err != nil {
		return nil
	}
	return b
}

// empty reports whether r owns nothing in the kernel.
func (r Record) empty() bool {
	return len(r.Sysctls) == 0 && len(r.Addresses) == 0 && r.Tunnel == nil && r.GRE == nil && len(r.FOU) == 0 && r.Route == nil && r.Route6 == nil
}
