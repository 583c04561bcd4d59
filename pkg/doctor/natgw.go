package doctor

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/lvs-rs/lvs-rs/pkg/realserver"
)

// NameNATGateway is the nat real server's routing check: replies must
// leave through the director, which un-NATs them, so the default route
// that wins (lowest metric in the main table) must go via the director's
// address (realserver.gateway), in each family whose gateway the real
// server routes through.
const NameNATGateway = "nat-gateway"

func checkNATGateway(_ context.Context, h Host, t Target) []Result {
	gws := realserver.Desired{Bindings: t.Bindings, Gateways: t.Gateways}.RoutedGateways()
	if len(gws) == 0 {
		r := ok(NameNATGateway)
		r.Note = "not checked: the config sets no realserver.gateway (the director's address) of the family of this host's nat VIPs"
		return []Result{r}
	}
	rs, err := h.routes()
	if err != nil {
		return []Result{problem(NameNATGateway, fmt.Sprintf("cannot read the routing table: %v", err), "run doctor on the host itself")}
	}
	var out []Result
	for _, gw := range gws {
		out = append(out, natGatewayResult(rs, gw))
	}
	return out
}

// natGatewayResult checks that the default route of gw's family that
// wins goes via gw.
func natGatewayResult(rs []route, gw netip.Addr) Result {
	fix := fmt.Sprintf("lvs-rs start --role realserver makes %s the default route; remove the other default route or give it a higher metric", gw)
	best := defaultRoute(rs, gw.Is6())
	switch {
	case best == nil:
		return problem(NameNATGateway, fmt.Sprintf("no default route: replies to clients never reach the director %s", gw), fix)
	case best.Kind != "":
		return problem(NameNATGateway,
			fmt.Sprintf("the default route that wins is a route of type %s (metric %d), not via the director %s: replies to clients are dropped", best.Kind, best.Metric, gw), fix)
	case best.Gateway != gw.WithZone("") || gw.Zone() != "" && best.Dev != gw.Zone():
		// A link-local gateway (fe80::1%eth0) is the director only
		// through the interface its zone names.
		via := "directly on " + best.Dev
		if best.Gateway.IsValid() {
			via = fmt.Sprintf("via %s dev %s", best.Gateway, best.Dev)
		}
		return problem(NameNATGateway,
			fmt.Sprintf("the default route that wins goes %s (metric %d), not via the director %s: replies bypass the director and clients drop them", via, best.Metric, gw), fix)
	}
	r := ok(NameNATGateway)
	r.Note = fmt.Sprintf("the default route goes via the director %s", gw) // one line per family: say which
	return r
}
