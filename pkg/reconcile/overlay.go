package reconcile

import (
	"net/netip"
	"slices"
	"time"

	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// Member identifies one real server within one virtual service.
type Member struct {
	Service     ipvs.ServiceKey     `json:"service"`
	Destination ipvs.DestinationKey `json:"destination"`
}

// CheckState is what the health checks say of a real server.
type CheckState int

// The check states.
const (
	NoCheck CheckState = iota // the service has no check: weights as written
	Pending                   // checked, but no result yet
	Up
	Down
)

// Health is a checked real server's state as the loop sees it.
type Health struct {
	State CheckState
	// Dynamic is set when the check gives an absolute weight (exec exit
	// code 2..255, agent weight:N): Weight replaces the configured one.
	Dynamic bool
	Weight  uint32
	// Percent scales the configured weight (agent NN%); 0 = unset.
	Percent int
	// Recovered is set when State became Up after having been Down:
	// slow start ramps the weight from Since on.
	Recovered bool
	Since     time.Time
}

// Policy is a service's failure handling, from its configuration.
type Policy struct {
	Remove       bool          // on_failure: remove (default quiesce)
	DrainTimeout time.Duration // 0 = wait for idle forever
	SlowStart    time.Duration
	// Sorry is the sorry server, nil for none.
	Sorry *ipvs.Destination
	// VIP is the service's VIP (for a fwmark service, the one bound for
	// it): the VIP is announced while a real server of one of its
	// services is in service, and stays bound while a real server that
	// left the file drains (Leaving.VIP).
	VIP netip.Addr
}

// Leaving is a real server removed from the configuration that is still
// draining since Since, until it is idle or DrainTimeout (its service's
// drain_timeout when it left; 0: until idle) has passed. It carries its
// own timeout and its service's VIP: its service may have left the
// configuration too. The loop keeps them in the state directory
// (leaving.json).
type Leaving struct {
	Service      ipvs.Service     `json:"service"`
	Destination  ipvs.Destination `json:"destination"`
	Since        time.Time        `json:"since"`
	DrainTimeout time.Duration    `json:"drain_timeout_ns"`
	// VIP is the VIP its service had when it left (for a fwmark service,
	// the one bound for it; a fwmark service's key has no address): it
	// stays bound while the real server drains, so that the packets of
	// its established connections still reach IPVS. A record written
	// before this field has none: an address service's own address
	// stands in (see vip).
	VIP netip.Addr `json:"vip,omitzero"`
	// Forwarding are the forwarding settings the desired state it left
	// had for a nat real server (director.Desired.NATWants), kept while
	// it drains: none for another mode, or when the file left them alone
	// (director.ip_forward: false, send_redirects: true). A record
	// written before this field has none.
	Forwarding []director.SysctlWant `json:"forwarding,omitempty"`
}

// vip is the VIP to keep bound while l drains: its VIP, or for a record
// without one its service's address (none for a fwmark service).
func (l Leaving) vip() netip.Addr {
	if l.VIP.IsValid() {
		return l.VIP.Unmap()
	}
	return l.Service.Address.Unmap()
}

// forwarding is what Leaving.Forwarding keeps for d, a real server of s
// leaving had, the desired state it leaves: had's forwarding settings
// for a nat one (see director.Desired.NATWants), none for another.
func forwarding(had director.Desired, s ipvs.Service, d ipvs.Destination) []director.SysctlWant {
	if d.Forward != ipvs.Masq {
		return nil
	}
	return had.NATWants(s.Family == ipvs.Inet6)
}

// Observed is a real server as the kernel has it now.
type Observed struct {
	Weight uint32
	Conns  uint32 // ActiveConn + InActConn
}

// Inputs are everything that overrides the configuration's weights.
type Inputs struct {
	Now      time.Time
	Policies map[ipvs.ServiceKey]Policy
	Health   map[Member]Health
	Drained  map[Member]time.Time // drained by hand, since
	Leaving  map[Member]Leaving
	// Moved are the old VIPs of firewall-mark services, kept bound while
	// their service has connections (see MovedVIP).
	Moved  map[MovedKey]MovedVIP
	Kernel map[Member]Observed
}

// RowState is a real server's state as status shows it.
type RowState string

// Row states.
const (
	StateUp        RowState = "up"
	StateDown      RowState = "down"
	StateDraining  RowState = "draining" // removed from the file, waiting for idle
	StateDrained   RowState = "drained"  // drained by hand
	StateUnchecked RowState = "unchecked"
	StatePending   RowState = "pending" // first check not done yet
	StateSorry     RowState = "sorry"   // the sorry server, in service
)

// Row is one real server's outcome of Overlay.
type Row struct {
	Member
	Configured uint32   `json:"configured"`
	Effective  uint32   `json:"effective"`
	State      RowState `json:"state"`
	// InKernel: the effective desired state keeps it (false: deleted).
	InKernel bool `json:"in_kernel"`
	// KernelWeight is the weight the kernel holds after the pass, as read
	// back (0: not in the kernel); Effective, unless a change of the pass
	// failed (see Outcome.readBack). Status and the metrics report it as
	// the effective weight.
	KernelWeight uint32 `json:"kernel_weight"`
}

// Outcome is Overlay's result.
type Outcome struct {
	Desired director.Desired
	Rows    []Row
	// Next is when Overlay's answer changes by time alone (a slow-start
	// step or a drain deadline); zero for never.
	Next time.Time
	// Gone are the leaving real servers that may now be forgotten.
	Gone []Member
	// GoneVIPs are the moved VIPs (Inputs.Moved) that may now be
	// forgotten.
	GoneVIPs []MovedKey

	// from is the base services this was computed from, and reusable
	// whether OverlayScoped may start from it (see there).
	from     []director.DesiredService
	reusable bool
}

// Overlay computes the effective desired state from base (the
// configuration's) and in. It is pure.
func Overlay(base director.Desired, in Inputs) Outcome {
	out := Outcome{Desired: base, from: base.Services}
	out.Desired.Services = make([]director.DesiredService, 0, len(base.Services))
	members := 0
	for _, ds := range base.Services {
		members += len(ds.Destinations)
	}
	out.Rows = make([]Row, 0, members+len(in.Leaving))
	for _, ds := range base.Services {
		out.Desired.Services = append(out.Desired.Services, out.service(ds, in))
	}
	out.moved(base, in, out.leaving(base, in))
	for i := range out.Desired.Services {
		out.sorry(&out.Desired.Services[i], in)
	}
	out.announce(base, in)
	out.reusable = len(in.Leaving) == 0 && len(in.Moved) == 0 && out.Next.IsZero()
	return out
}

// announce narrows the announced VIPs to those with a real server in
// service (a weight above 0: up, unchecked, or not checked yet and kept
// at the kernel's weight, so a restart withdraws nothing) or the sorry
// server (in service exactly when none of those is: withdrawing the VIP
// then would send its flows nowhere rather than to it), so a director
// whose real servers all fail, with no sorry server, withdraws the VIP
// and the routers send its flows to the others. The sorry server counts
// only once no real server of its service waits for its first check: a
// director starting afresh (nothing in the kernel yet) must not draw
// flows to its sorry server before it knows its real servers are down.
func (o *Outcome) announce(base director.Desired, in Inputs) {
	if base.Announce == nil {
		return
	}
	var pending map[ipvs.ServiceKey]bool // services with a real server not checked yet
	for _, r := range o.Rows {
		if r.State == StatePending {
			if pending == nil {
				pending = map[ipvs.ServiceKey]bool{}
			}
			pending[r.Service] = true
		}
	}
	serving := map[netip.Addr]bool{}
	var (
		last   ipvs.ServiceKey // a service's rows are consecutive: its VIP is looked up once
		vip    netip.Addr
		looked bool
	)
	for _, r := range o.Rows {
		if !r.InKernel || r.Effective == 0 || r.State == StateSorry && pending[r.Service] {
			continue
		}
		if !looked || r.Service != last {
			last, vip, looked = r.Service, in.Policies[r.Service].VIP.Unmap(), true
		}
		serving[vip] = true
	}
	a := *base.Announce
	a.VIPs = nil
	for _, v := range base.Announce.VIPs {
		if serving[v.Unmap()] {
			a.VIPs = append(a.VIPs, v)
		}
	}
	o.Desired.Announce = &a
}

// service applies health and drains to one configured service. Under mh,
// a real server kept at weight 0 carries its configured weight as its
// last weight (director.DesiredService.LastWeights): added while down or
// not checked yet, it is added at that weight and quiesced right after,
// so that the kernel's mh table counts it as every director's does,
// whether or not it saw it up.
func (o *Outcome) service(ds director.DesiredService, in Inputs) director.DesiredService {
	k := ds.Service.Key()
	pol := in.Policies[k]
	mh := ds.Service.Scheduler == "mh"
	res := director.DesiredService{Service: ds.Service, Destinations: make([]ipvs.Destination, 0, len(ds.Destinations))}
	for _, d := range ds.Destinations {
		m := Member{k, d.Key()}
		row := Row{Member: m, Configured: d.Weight}
		w, keep := o.weigh(m, d.Weight, pol, in, &row)
		row.Effective, row.InKernel = w, keep
		if !keep {
			row.Effective = 0
		}
		o.Rows = append(o.Rows, row)
		if keep {
			if mh && w == 0 && d.Weight > 0 {
				res.LastWeights = append(res.LastWeights, director.LastWeight{Address: d.Address, Port: d.Port, Weight: d.Weight})
			}
			d.Weight = w
			res.Destinations = append(res.Destinations, d)
		}
	}
	return res
}

// weigh decides one configured real server's weight and whether it stays.
func (o *Outcome) weigh(m Member, configured uint32, pol Policy, in Inputs, row *Row) (uint32, bool) {
	if since, drained := in.Drained[m]; drained {
		row.State = StateDrained
		return 0, o.draining(m, since, pol, in)
	}
	h, checked := in.Health[m]
	if !checked {
		h.State = NoCheck
	}
	switch h.State {
	case NoCheck:
		row.State = StateUnchecked
		return configured, true
	case Pending:
		row.State = StatePending
		if k, ok := in.Kernel[m]; ok {
			return k.Weight, true
		}
		return 0, true
	case Down:
		row.State = StateDown
		return 0, !pol.Remove
	}
	row.State = StateUp
	w := configured
	switch {
	case h.Percent > 0:
		w = uint32(uint64(configured) * uint64(h.Percent) / 100)
	case h.Dynamic:
		w = h.Weight
	}
	return o.ramp(w, h, pol, in.Now), true
}

// ramp scales w over slow start after a recovery.
func (o *Outcome) ramp(w uint32, h Health, pol Policy, now time.Time) uint32 {
	if !h.Recovered || pol.SlowStart <= 0 || w <= 1 {
		return w
	}
	elapsed := now.Sub(h.Since)
	if elapsed >= pol.SlowStart {
		return w
	}
	if elapsed < 0 {
		elapsed = 0
	}
	r := max(uint32(uint64(w)*uint64(elapsed)/uint64(pol.SlowStart)), 1)
	// Wake at the next whole step of the ramp (or in a second at most).
	step := pol.SlowStart / time.Duration(w)
	o.wake(now.Add(min(max(step, 100*time.Millisecond), time.Second)))
	return r
}

// draining reports whether a real server draining since since stays in
// the kernel (weight 0) or is deleted now.
func (o *Outcome) draining(m Member, since time.Time, pol Policy, in Inputs) bool {
	k, present := in.Kernel[m]
	if !present || k.Conns == 0 {
		return false
	}
	if pol.DrainTimeout > 0 {
		deadline := since.Add(pol.DrainTimeout)
		if !in.Now.Before(deadline) {
			return false
		}
		o.wake(deadline)
	}
	return true
}

// leaving keeps real servers removed from the file at weight 0 until they
// are idle or their own drain timeout (Leaving.DrainTimeout) passes, and
// the VIP of each one kept bound (after base's VIPs, in member order):
// unbound, the VIP would take the established connections with it, their
// packets no longer reaching IPVS. Such a VIP is not announced (see
// announce: only base's VIPs are), so no new flow is drawn to it. It is
// bound on base's interface; with none (a file without services need not
// name one), the VIPs go. A nat one keeps the settings forwarding to it
// needs that the file it left had (Leaving.Forwarding,
// director.Desired.KeepNAT): without ip_forward its replies to the
// clients of its established connections would be dropped. It
// returns the VIPs bound then (nil when it added none; see keepBound).
// o.Desired.Services holds base's services, in base's order.
func (o *Outcome) leaving(base director.Desired, in Inputs) map[netip.Addr]bool {
	if len(in.Leaving) == 0 {
		return nil
	}
	inBase := make(map[ipvs.ServiceKey]int, len(base.Services))
	configured := map[Member]bool{}
	for i, ds := range base.Services {
		k := ds.Service.Key()
		inBase[k] = i
		for _, d := range ds.Destinations {
			configured[Member{k, d.Key()}] = true
		}
	}
	members := make([]Member, 0, len(in.Leaving))
	for m := range in.Leaving {
		members = append(members, m)
	}
	slices.SortFunc(members, compareMembers)
	var bound map[netip.Addr]bool // base's VIPs and those added here, once needed
	for _, m := range members {
		l := in.Leaving[m]
		if configured[m] {
			o.Gone = append(o.Gone, m) // back in the file
			continue
		}
		// Its own timeout: its service, and with it the service's policy,
		// may be gone from the file too.
		keep := l.Service.Protocol != ipvs.UDP && o.draining(m, l.Since, Policy{DrainTimeout: l.DrainTimeout}, in)
		o.Rows = append(o.Rows, Row{Member: m, Configured: 0, State: StateDraining, InKernel: keep})
		if !keep {
			o.Gone = append(o.Gone, m)
			continue
		}
		d := l.Destination
		d.Weight = 0
		i, ok := inBase[m.Service]
		if !ok {
			i = len(o.Desired.Services)
			inBase[m.Service] = i
			o.Desired.Services = append(o.Desired.Services, director.DesiredService{Service: l.Service})
		}
		o.Desired.Services[i].Destinations = append(o.Desired.Services[i].Destinations, d)
		o.Desired.KeepNAT(l.Forwarding)
		o.keepBound(base, l.vip(), &bound)
	}
	return bound
}

// keepBound adds v to the desired VIPs unless there already (bound holds
// base's VIPs and those added, made on the first call). A file without
// services may have no director.interface: then there is nowhere to keep
// a VIP bound, and none is added.
func (o *Outcome) keepBound(base director.Desired, v netip.Addr, bound *map[netip.Addr]bool) {
	if !v.IsValid() || base.Interface == "" {
		return
	}
	if *bound == nil {
		*bound = make(map[netip.Addr]bool, len(base.VIPs)+1)
		for _, b := range base.VIPs {
			(*bound)[b.Unmap()] = true
		}
		o.Desired.VIPs = slices.Clip(o.Desired.VIPs) // base's: appended to in a copy
	}
	if !(*bound)[v] {
		(*bound)[v] = true
		o.Desired.VIPs = append(o.Desired.VIPs, v)
	}
}

// sorry adds the service's sorry server while none of its real servers
// has a weight above 0.
func (o *Outcome) sorry(ds *director.DesiredService, in Inputs) {
	pol := in.Policies[ds.Service.Key()]
	if pol.Sorry == nil {
		return
	}
	for _, d := range ds.Destinations {
		if d.Weight > 0 {
			return
		}
	}
	s := *pol.Sorry
	if s.Weight == 0 {
		s.Weight = 1
	}
	ds.Destinations = slices.DeleteFunc(ds.Destinations, func(d ipvs.Destination) bool { return d.Key() == s.Key() })
	ds.Destinations = append(ds.Destinations, s)
	o.Rows = append(o.Rows, Row{Member: Member{ds.Service.Key(), s.Key()}, Effective: s.Weight, State: StateSorry, InKernel: true})
}

// wake records an instant at which Overlay must run again.
func (o *Outcome) wake(t time.Time) {
	if o.Next.IsZero() || t.Before(o.Next) {
		o.Next = t
	}
}

func compareMembers(a, b Member) int {
	if c := a.Service.Address.Compare(b.Service.Address); c != 0 {
		return c
	}
	if a.Service.Port != b.Service.Port {
		return int(a.Service.Port) - int(b.Service.Port)
	}
	if a.Service.FWMark != b.Service.FWMark {
		if a.Service.FWMark < b.Service.FWMark {
			return -1
		}
		return 1
	}
	if a.Service.Protocol != b.Service.Protocol {
		return int(a.Service.Protocol) - int(b.Service.Protocol)
	}
	if c := a.Destination.Address.Compare(b.Destination.Address); c != 0 {
		return c
	}
	return int(a.Destination.Port) - int(b.Destination.Port)
}
