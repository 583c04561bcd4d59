package reconcile

import (
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// MovedVIP is the VIP a firewall-mark service had before the file gave
// it another. The service keeps its key (the mark) and its real servers,
// so none of them leaves the file and nothing else would keep the old
// VIP: it stays bound, neither announced nor marked (the nftables rules
// are the file's), while a real server of the service has connections
// (ActiveConn + InActConn), until DrainTimeout (the service's
// drain_timeout when it moved; 0: until idle) has passed since Since.
// The kernel counts a real server's connections, not the VIP they came
// through: those to the new VIP keep the old one bound too, up to the
// deadline. The loop keeps them in leaving.json with the real servers
// leaving the file.
type MovedVIP struct {
	Service      ipvs.ServiceKey `json:"service"`
	VIP          netip.Addr      `json:"vip"`
	Since        time.Time       `json:"since"`
	DrainTimeout time.Duration   `json:"drain_timeout_ns"`
}

// MovedKey identifies a MovedVIP: the service and its old VIP.
type MovedKey struct {
	Service ipvs.ServiceKey
	VIP     netip.Addr
}

// Key returns v's key.
func (v MovedVIP) Key() MovedKey { return MovedKey{v.Service, v.VIP.Unmap()} }

// movedVIPs are the VIPs the firewall-mark services of old that next
// still has no longer have in next, to keep from now on for their
// service's drain_timeout in old. (An address service's VIP is in its
// key: a new VIP is a new service, whose real servers leave the old one
// with its VIP, see leavers.)
func movedVIPs(old, next map[ipvs.ServiceKey]Policy, now time.Time) map[MovedKey]MovedVIP {
	out := map[MovedKey]MovedVIP{}
	for k, was := range old {
		is, stays := next[k]
		if k.FWMark == 0 || !stays || !was.VIP.IsValid() || was.VIP.Unmap() == is.VIP.Unmap() {
			continue
		}
		v := MovedVIP{Service: k, VIP: was.VIP.Unmap(), Since: now, DrainTimeout: was.DrainTimeout}
		out[v.Key()] = v
	}
	return out
}

// recordedMoved are the VIPs the firewall-mark services of recorded, the
// desired state last applied, had (the VIP of their recorded nftables
// rules) that next gives them no longer, as movedVIPs finds them at a
// reload: kept from now for their drain_timeout in next (the one they
// moved with is not recorded).
func recordedMoved(recorded director.Desired, next Setup, now time.Time) map[MovedKey]MovedVIP {
	was := map[ipvs.ServiceKey]Policy{}
	for _, r := range recorded.Marks {
		k := ipvs.ServiceKey{Family: ipvs.FamilyOf(r.VIP.Unmap()), FWMark: r.Mark}
		if _, ok := was[k]; !ok {
			was[k] = Policy{VIP: r.VIP.Unmap(), DrainTimeout: config.DefaultDrainTimeout}
		}
	}
	for k, p := range was {
		if pol, ok := next.Policies[k]; ok {
			p.DrainTimeout = pol.DrainTimeout
			was[k] = p
		}
	}
	return movedVIPs(was, next.Policies, now)
}

// addMoved adds to into the entries of add it does not have yet and
// reports whether there were any.
func addMoved(into map[MovedKey]MovedVIP, add map[MovedKey]MovedVIP) bool {
	added := false
	for k, v := range add {
		if _, ok := into[k]; !ok {
			into[k], added = v, true
		}
	}
	return added
}

// moved keeps bound the old VIPs of firewall-mark services (in.Moved)
// while the service's real servers have connections and their deadline
// has not passed, after base's and the leaving real servers' VIPs, in
// key order; one whose service has it back, or that is kept no longer,
// goes to GoneVIPs. It is not announced (see announce: only base's VIPs
// are). bound is leaving's (nil when it bound nothing).
func (o *Outcome) moved(base director.Desired, in Inputs, bound map[netip.Addr]bool) {
	if len(in.Moved) == 0 {
		return
	}
	busy := map[ipvs.ServiceKey]bool{}
	for m, k := range in.Kernel {
		if k.Conns > 0 {
			busy[m.Service] = true
		}
	}
	for _, key := range slices.SortedFunc(maps.Keys(in.Moved), compareMoved) {
		mv := in.Moved[key]
		if pol, ok := in.Policies[key.Service]; ok && pol.VIP.Unmap() == key.VIP {
			o.GoneVIPs = append(o.GoneVIPs, key) // the service has it back
			continue
		}
		keep := busy[key.Service]
		if keep && mv.DrainTimeout > 0 {
			deadline := mv.Since.Add(mv.DrainTimeout)
			keep = in.Now.Before(deadline)
			if keep {
				o.wake(deadline)
			}
		}
		if !keep {
			o.GoneVIPs = append(o.GoneVIPs, key)
			continue
		}
		o.keepBound(base, key.VIP, &bound)
	}
}

// compareMoved orders MovedKeys by service, then VIP.
func compareMoved(a, b MovedKey) int {
	if c := compareMembers(Member{Service: a.Service}, Member{Service: b.Service}); c != 0 {
		return c
	}
	return a.VIP.Compare(b.VIP)
}
