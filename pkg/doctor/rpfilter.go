package doctor

import (
	"context"
	"fmt"

	"github.com/lvs-rs/lvs-rs/pkg/tunnel"
)

// NameRPFilter is the tun real server's reverse-path filter check. The
// kernel applies max(conf/all, conf/DEV): decapsulated packets arrive on
// tunl0 with the client's address as source, which routes out another
// device, so strict mode (1) on tunl0 drops every one of them, even when
// conf/tunl0/rp_filter is 0. Loose mode (2) passes them only while a
// route (the default route) covers the client.
const NameRPFilter = "rp-filter"

const rpFix = "lvs-rs start --role realserver sets conf/all/rp_filter=0 and conf/tunl0/rp_filter=0 (or: sysctl -w net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.tunl0.rp_filter=0)"

func checkRPFilter(_ context.Context, h Host, _ Target) []Result {
	e, err := h.effectiveConf(tunnel.Dev, "rp_filter")
	if err != nil {
		return []Result{problem(NameRPFilter, fmt.Sprintf("cannot read rp_filter: %v", err), "run doctor on the host itself")}
	}
	rs, rerr := h.routes()
	var dr *route
	if rerr == nil {
		dr = deviceDefault(rs)
	}
	switch e.eff {
	case 0:
		r := ok(NameRPFilter)
		r.Note = outerNote(h, dr)
		return []Result{r}
	case 2:
		if dr != nil {
			r := ok(NameRPFilter)
			r.Note = "loose mode " + e.String() + ": passes only while the default route covers the clients; " + outerNote(h, dr)
			return []Result{r}
		}
		return []Result{problem(NameRPFilter,
			fmt.Sprintf("effective rp_filter on %s is loose %s and there is no default route: decapsulated packets from clients are dropped", tunnel.Dev, e), rpFix)}
	}
	return []Result{problem(NameRPFilter,
		fmt.Sprintf("effective rp_filter on %s is %s (the kernel uses the larger of all and the device): decapsulated packets from clients are dropped", tunnel.Dev, e), rpFix)}
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
