package doctor

import (
	"context"
	"fmt"
)

// NameRPFilter is the tun real server's reverse-path filter check, for
// each tunnel device (tunl0 for ipip and gue, gre0 for gre). The kernel
// applies max(conf/all, conf/DEV): decapsulated packets arrive on the
// tunnel device with the client's address as source, which routes out
// another device, so strict mode (1) on it drops every one of them, even
// when conf/DEV/rp_filter is 0. Loose mode (2) passes them only while a
// route (the default route) covers the client.
const NameRPFilter = "rp-filter"

// rpFix is the fix of a strict rp_filter on dev.
func rpFix(dev string) string {
	return fmt.Sprintf("lvs-rs start --role realserver sets conf/all/rp_filter=0 and conf/%s/rp_filter=0 (or: sysctl -w net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.%s.rp_filter=0)", dev, dev)
}

func checkRPFilter(_ context.Context, h Host, t Target) []Result {
	rs, rerr := h.routes()
	var dr *route
	if rerr == nil {
		dr = deviceDefault(rs)
	}
	var out []Result
	for _, d := range t.tunnelDevices() {
		out = append(out, deviceRPFilter(h, d.name, dr))
	}
	return out
}

// deviceRPFilter is the rp_filter check of the tunnel device dev, given
// the IPv4 default route (nil: none).
func deviceRPFilter(h Host, dev string, dr *route) Result {
	e, err := h.effectiveConf(dev, "rp_filter")
	if err != nil {
		return problem(NameRPFilter, fmt.Sprintf("cannot read rp_filter: %v", err), "run doctor on the host itself")
	}
	switch e.eff {
	case 0:
		r := ok(NameRPFilter)
		r.Note = outerNote(h, dr)
		return r
	case 2:
		if dr != nil {
			r := ok(NameRPFilter)
			r.Note = "loose mode " + e.String() + ": passes only while the default route covers the clients; " + outerNote(h, dr)
			return r
		}
		return problem(NameRPFilter,
			fmt.Sprintf("effective rp_filter on %s is loose %s and there is no default route: decapsulated packets from clients are dropped", dev, e), rpFix(dev))
	}
	return problem(NameRPFilter,
		fmt.Sprintf("effective rp_filter on %s is %s (the kernel uses the larger of all and the device): decapsulated packets from clients are dropped", dev, e), rpFix(dev))
}

// outerNote describes rp_filter on the device that receives the
// encapsulated packets (that of the IPv4 default route): the outer
// packet's source is the director, so strict mode passes only while the
// director is reached through that device.
func outerNote(h Host, dr *route) string {
	if dr == nil {
		return ""
	}
	e, err := h.effectiveConf(dr.Dev, "rp_filter")
	if err != nil || e.eff != 1 {
		return ""
	}
	return fmt.Sprintf("outer packets on %s: strict %s, so the director must be reached through %s", dr.Dev, e, dr.Dev)
}
