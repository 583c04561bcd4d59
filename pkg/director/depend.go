package director

import (
	"errors"
	"net/netip"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/nftmark"
)

// holds decides, during one run of the executor, which changes wait for
// another that failed or was held back: a failure on one object must not
// stop the changes of every other (a health transition's weight edit, the
// withdrawal of another VIP's route), but it must keep what it was to
// replace. A change is held back when
//
//   - it adds a real server to a service whose addition failed, or
//     quiesces one whose addition at its last weight failed (see
//     appendAdd);
//   - it adds the announce route of a VIP on which an addition failed (a
//     bind, a service or real server of the VIP, nftables marks for it),
//     so that a VIP is announced only once it can be served; in the first
//     phase, where a route moving to another protocol is deleted right
//     before it is added again, that deletion waits the same way;
//   - it deletes a route whose addition to another table failed (the
//     announcement stays where it was);
//   - it takes something away (a real server, a service, a VIP, the marks)
//     from a service or VIP on which an addition failed (a changed port,
//     protocol or real server is an addition of the new one and a deletion
//     of the old), or from a VIP whose route's withdrawal failed (nothing
//     is taken from a VIP while it is still announced).
//
// Nothing else waits: edits, settings and the withdrawal of a route that
// is no longer wanted run whatever failed before them. A fwmark service's
// VIPs are those its mark rules name (wanted or found).
type holds struct {
	desired, observed []nftmark.Rule
	// firstPhase is set while the executor runs the additions and edits.
	firstPhase bool
	keys       map[holdKey]bool        // nil until a change fails
	marks      map[uint32][]netip.Addr // fwmark -> VIPs, built when first needed
}

// holdKind is why changes wait.
type holdKind uint8

const (
	holdService  holdKind = iota // the service's addition failed: its real servers wait
	holdAdded                    // an addition to the service failed: deletions in it wait
	holdVIP                      // an addition on the VIP failed: its route's addition and its removals wait
	holdWithdraw                 // the VIP's route could not be withdrawn: its removals wait
	holdRoute                    // the route's addition failed: its deletion from another table waits
	holdDest                     // the real server's addition failed: its quiescing edit waits
)

type holdKey struct {
	kind holdKind
	svc  ipvs.ServiceKey
	addr netip.Addr
	port uint16 // holdDest: the real server's port (addr its address)
}

// newHolds returns the tracker of a run converging to the marks desired
// from observed; nil (teardown: nothing waits) when keepGoing.
func newHolds(keepGoing bool, desired, observed []nftmark.Rule) *holds {
	if keepGoing {
		return nil
	}
	return &holds{desired: desired, observed: observed}
}

// held reports whether c waits for a change that failed or was held back.
func (h *holds) held(c *Change) bool {
	if h == nil || h.keys == nil { // nothing failed: the usual pass asks no more
		return false
	}
	switch c.Kind {
	case AddDestination:
		return h.keys[holdKey{kind: holdService, svc: c.Service.Key()}]
	case EditDestination:
		if !c.Quiesces() {
			return false
		}
		k := c.Destination.Key()
		return h.keys[holdKey{kind: holdService, svc: c.Service.Key()}] ||
			h.keys[holdKey{kind: holdDest, svc: c.Service.Key(), addr: k.Address, port: k.Port}]
	case AddRoute:
		return h.keys[holdKey{kind: holdVIP, addr: c.Prefix().Addr().Unmap()}]
	case DeleteRoute:
		p := c.Prefix().Addr().Unmap()
		return h.keys[holdKey{kind: holdRoute, addr: p}] || h.firstPhase && h.keys[holdKey{kind: holdVIP, addr: p}]
	case DeleteDestination, DeleteService, ReleaseService:
		if h.keys[holdKey{kind: holdAdded, svc: c.Service.Key()}] {
			return true
		}
	case Unbind, RemoveMarks:
	default:
		return false
	}
	held := false
	h.vips(c, func(v netip.Addr) {
		held = held || h.keys[holdKey{kind: holdVIP, addr: v}] || h.keys[holdKey{kind: holdWithdraw, addr: v}]
	})
	return held
}

// note records the result of c: a failure (or c held back) makes the
// changes that depend on it wait. ipvs.ErrNotAttempted counts as held back
// once final (the executor tries a change the kernel did not attempt
// again before noting it).
func (h *holds) note(c *Change, err error) {
	if h == nil || err == nil {
		return
	}
	if h.keys == nil {
		h.keys = map[holdKey]bool{}
	}
	switch c.Kind {
	case AddService, AddDestination:
		if c.Kind == AddService {
			h.keys[holdKey{kind: holdService, svc: c.Service.Key()}] = true
		} else {
			k := c.Destination.Key()
			h.keys[holdKey{kind: holdDest, svc: c.Service.Key(), addr: k.Address, port: k.Port}] = true
		}
		h.keys[holdKey{kind: holdAdded, svc: c.Service.Key()}] = true
		h.vips(c, func(v netip.Addr) { h.keys[holdKey{kind: holdVIP, addr: v}] = true })
	case Bind, BuildMarks:
		h.vips(c, func(v netip.Addr) { h.keys[holdKey{kind: holdVIP, addr: v}] = true })
	case AddRoute:
		h.keys[holdKey{kind: holdRoute, addr: c.Prefix().Addr().Unmap()}] = true
	case DeleteRoute:
		h.keys[holdKey{kind: holdWithdraw, addr: c.Prefix().Addr().Unmap()}] = true
	}
}

// vips calls each with the VIPs c concerns.
func (h *holds) vips(c *Change, each func(netip.Addr)) {
	switch c.Kind {
	case Bind, Unbind:
		each(hostAddr(c.Addr()))
	case BuildMarks:
		for _, r := range c.Marks() {
			each(r.VIP.Unmap())
		}
	case RemoveMarks:
		for _, r := range h.observed {
			each(r.VIP.Unmap())
		}
	default: // a service or real server
		k := c.Service.Key()
		if k.FWMark == 0 {
			each(k.Address.Unmap())
			return
		}
		if h.marks == nil {
			h.marks = markVIPs(h.desired, h.observed)
		}
		for _, v := range h.marks[k.FWMark] {
			each(v)
		}
	}
}

// markVIPs maps each fwmark of rules to the VIPs its rules name.
func markVIPs(rules ...[]nftmark.Rule) map[uint32][]netip.Addr {
	m := map[uint32][]netip.Addr{}
	for _, rs := range rules {
		for _, r := range rs {
			m[r.Mark] = append(m[r.Mark], r.VIP.Unmap())
		}
	}
	return m
}

// settled reports whether err is a change's final result: anything but
// ipvs.ErrNotAttempted, which the executor may still try again.
func settled(err error) bool { return !errors.Is(err, ipvs.ErrNotAttempted) }
