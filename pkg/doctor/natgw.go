package doctor

import (
	"context"
	"fmt"
)

// NameNATGateway is the nat real server's routing check: replies must
// leave through the director, which un-NATs them, so the default route
// that wins (lowest metric in the main table) must go via the director's
// address (realserver.gateway).
const NameNATGateway = "nat-gateway"

func checkNATGateway(_ context.Context, h Host, t Target) []Result {
	if !t.Gateway.IsValid() {
		r := ok(NameNATGateway)
		r.Note = "not checked: the config sets no realserver.gateway (the director's address)"
		return []Result{r}
	}
	rs, err := h.routes()
	if err != nil {
		return []Result{problem(NameNATGateway, fmt.Sprintf("cannot read the routing table: %v", err), "run doctor on the host itself")}
	}
	fix := fmt.Sprintf("lvs-rs start --role realserver makes %s the default route; remove the other default route or give it a higher metric", t.Gateway)
	best := defaultRoute(rs, t.Gateway.Is6())
	switch {
	case best == nil:
		return []Result{problem(NameNATGateway, fmt.Sprintf("no default route: replies to clients never reach the director %s", t.Gateway), fix)}
	case best.Kind != "":
		return []Result{problem(NameNATGateway,
			fmt.Sprintf("the default route that wins is a route of type %s (metric %d), not via the director %s: replies to clients are dropped", best.Kind, best.Metric, t.Gateway), fix)}
	case best.Gateway != t.Gateway.WithZone("") || t.Gateway.Zone() != "" && best.Dev != t.Gateway.Zone():
		// A link-local gateway (fe80::1%eth0) is the director only
		// through the interface its zone names.
		via := "directly on " + best.Dev
		if best.Gateway.IsValid() {
			via = fmt.Sprintf("via %s dev %s", best.Gateway, best.Dev)
		}
		return []Result{problem(NameNATGateway,
			fmt.Sprintf("the default route that wins goes %s (metric %d), not via the director %s: replies bypass the director and clients drop them", via, best.Metric, t.Gateway), fix)}
	}
	return []Result{ok(NameNATGateway)}
}
