package reconcile

import (
	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// readBack sets each row's KernelWeight from kernel, the IPVS table as
// the pass left it (director.Result.Kernel), so that status and the
// metrics report what the kernel holds, not what the pass planned: a
// change the kernel refused or the pass held back leaves the weight it
// had. kernel has the services read, every one when read is nil. A row
// of another service keeps its weight from prev, the last pass's rows:
// as it is when kept (scoped: OverlayScoped copied prev's rows of the
// services outside read), else looked up by member. With kernel nil (the
// pass could not tell) every row takes prev's.
func (o *Outcome) readBack(kernel map[ipvs.ServiceKey]director.ObservedService, read map[ipvs.ServiceKey]bool, scoped bool, prev []Row) {
	var before map[Member]uint32 // prev's, by member, once needed
	var idx destWeights
	for i := range o.Rows {
		r := &o.Rows[i]
		switch {
		case kernel != nil && (read == nil || read[r.Service]):
			r.KernelWeight = idx.weight(kernel, r.Member)
		case scoped && kernel != nil:
			// prev's row, copied by OverlayScoped: KernelWeight is set.
		default:
			if before == nil {
				before = make(map[Member]uint32, len(prev))
				for _, p := range prev {
					before[p.Member] = p.KernelWeight
				}
			}
			r.KernelWeight = before[r.Member]
		}
	}
}

// destWeights finds real servers' weights in a read-back table, indexing
// a long list of real servers once.
type destWeights struct {
	svc  ipvs.ServiceKey
	list []ipvs.Destination
	m    map[ipvs.DestinationKey]uint32 // list's, when long
}

// weight is m's weight in kernel; 0 when absent.
func (x *destWeights) weight(kernel map[ipvs.ServiceKey]director.ObservedService, m Member) uint32 {
	if x.list == nil || x.svc != m.Service {
		x.svc, x.list, x.m = m.Service, kernel[m.Service].Destinations, nil
		if x.list == nil {
			x.list = []ipvs.Destination{} // looked up: none
		}
		if len(x.list) > 16 {
			x.m = make(map[ipvs.DestinationKey]uint32, len(x.list))
			for _, d := range x.list {
				x.m[d.Key()] = d.Weight
			}
		}
	}
	if x.m != nil {
		return x.m[m.Destination]
	}
	for _, d := range x.list {
		if d.Key() == m.Destination {
			return d.Weight
		}
	}
	return 0
}
