package realserver

import (
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// Route is a default route in the main table, as lvs-rs observes and
// records it. It is comparable.
type Route struct {
	Dst      netip.Prefix `json:"dst"` // 0.0.0.0/0 or ::/0
	Gateway  netip.Addr   `json:"gateway,omitzero"`
	Dev      string       `json:"dev,omitempty"`
	Metric   int          `json:"metric"`
	Protocol int          `json:"protocol,omitempty"` // rtm_protocol (3 boot, 4 static, ...)
	Src      netip.Addr   `json:"src,omitzero"`
	OnLink   bool         `json:"onlink,omitempty"`
}

// String renders the route the way ip-route shows it.
func (r Route) String() string {
	s := "default"
	if r.Dst.Addr().Is6() {
		s = "default (inet6)"
	}
	if r.Gateway.IsValid() {
		s += " via " + r.Gateway.String()
	}
	if r.Dev != "" {
		s += " dev " + r.Dev
	}
	if r.Src.IsValid() {
		s += " src " + r.Src.String()
	}
	if r.OnLink {
		s += " onlink"
	}
	return s + fmt.Sprintf(" metric %d", r.Metric)
}

// kernelMetric is the metric the kernel gives a route added with none:
// 0 for IPv4, 1024 for IPv6.
func kernelMetric(gw netip.Addr) int {
	if gw.Is6() {
		return 1024
	}
	return 0
}

// defaultDst returns 0.0.0.0/0 or ::/0 for gw's family.
func defaultDst(gw netip.Addr) netip.Prefix {
	if gw.Is6() {
		return netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
}

// gatewayRoute is the default route lvs-rs wants for gw: no device (the
// kernel resolves the gateway), the family's default metric, proto static.
func gatewayRoute(gw netip.Addr) Route {
	return Route{Dst: defaultDst(gw), Gateway: gw, Metric: kernelMetric(gw), Protocol: unix.RTPROT_STATIC}
}

// sameSlot reports whether a and b compete for one kernel slot: the same
// destination and metric in the main table.
func sameSlot(a, b Route) bool { return a.Dst == b.Dst && a.Metric == b.Metric }

// sameGateway reports whether a and b send traffic the same way: same
// slot, same gateway.
func sameGateway(a, b Route) bool { return sameSlot(a, b) && a.Gateway == b.Gateway }
