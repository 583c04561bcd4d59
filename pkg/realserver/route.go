package realserver

import (
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Route is a default route in the main table, recorded whole: everything
// the kernel reports for it that lvs-rs can set again, so that a route
// lvs-rs replaced comes back identical (multipath next hops and their
// weights, metric, table, protocol, scope, type, source, flags, metrics).
// Compare routes with Equal.
type Route struct {
	Dst netip.Prefix `json:"dst"` // 0.0.0.0/0 or ::/0
	// Table is the routing table; 0 in an older record means main (254).
	Table int `json:"table,omitempty"`
	// Type is rtm_type; 0 in an older record means unicast.
	Type     int        `json:"type,omitempty"`
	Protocol int        `json:"protocol,omitempty"` // rtm_protocol (3 boot, 4 static, ...)
	Scope    int        `json:"scope,omitempty"`    // rtm_scope (0 universe, 253 link)
	Tos      int        `json:"tos,omitempty"`
	Metric   int        `json:"metric"`
	Src      netip.Addr `json:"src,omitzero"`
	Realm    int        `json:"realm,omitempty"`
	// Gateway, Dev and OnLink describe a single next hop; a multipath
	// route has NextHops instead.
	Gateway  netip.Addr   `json:"gateway,omitzero"`
	Dev      string       `json:"dev,omitempty"`
	OnLink   bool         `json:"onlink,omitempty"`
	NextHops []NextHop    `json:"nexthops,omitempty"`
	Metrics  RouteMetrics `json:"metrics,omitzero"`
	// Opaque names what the kernel reported that lvs-rs cannot set again
	// (an encapsulation, a via of another family); such a route is never
	// replaced. It is not recorded.
	Opaque string `json:"-"`
}

// NextHop is one path of a multipath route.
type NextHop struct {
	Gateway netip.Addr `json:"gateway,omitzero"`
	Dev     string     `json:"dev,omitempty"`
	// Weight is the path's weight as ip-route shows it (rtnh_hops + 1).
	Weight int  `json:"weight"`
	OnLink bool `json:"onlink,omitempty"`
}

// RouteMetrics are the route's RTA_METRICS, zero when unset.
type RouteMetrics struct {
	MTU              int    `json:"mtu,omitempty"`
	MTULock          bool   `json:"mtu_lock,omitempty"`
	Window           int    `json:"window,omitempty"`
	RTT              int    `json:"rtt,omitempty"`
	RTTVar           int    `json:"rttvar,omitempty"`
	Ssthresh         int    `json:"ssthresh,omitempty"`
	Cwnd             int    `json:"cwnd,omitempty"`
	AdvMSS           int    `json:"advmss,omitempty"`
	Reordering       int    `json:"reordering,omitempty"`
	Hoplimit         int    `json:"hoplimit,omitempty"`
	InitCwnd         int    `json:"initcwnd,omitempty"`
	Features         int    `json:"features,omitempty"`
	RTOMin           int    `json:"rto_min,omitempty"`
	RTOMinLock       bool   `json:"rto_min_lock,omitempty"`
	InitRwnd         int    `json:"initrwnd,omitempty"`
	QuickACK         int    `json:"quickack,omitempty"`
	Congctl          string `json:"congctl,omitempty"`
	FastOpenNoCookie int    `json:"fastopen_no_cookie,omitempty"`
}

// canon fills what an older record leaves implicit: the main table and
// the unicast type.
func (r Route) canon() Route {
	if r.Table == 0 {
		r.Table = unix.RT_TABLE_MAIN
	}
	if r.Type == 0 {
		r.Type = unix.RTN_UNICAST
	}
	if len(r.NextHops) == 0 {
		r.NextHops = nil
	}
	r.Opaque = ""
	return r
}

// Equal reports whether r and o are the same route in every recorded
// field (go-cmp uses it too).
func (r Route) Equal(o Route) bool {
	return reflect.DeepEqual(r.canon(), o.canon())
}

// String renders the route the way ip-route shows it.
func (r Route) String() string {
	var b strings.Builder
	c := r.canon()
	if c.Type != unix.RTN_UNICAST {
		b.WriteString(typeName(c.Type) + " ")
	}
	b.WriteString("default")
	if r.Dst.Addr().Is6() {
		b.WriteString(" (inet6)")
	}
	hop(&b, r.Gateway, r.Dev, r.OnLink)
	if c.Table != unix.RT_TABLE_MAIN {
		fmt.Fprintf(&b, " table %d", c.Table)
	}
	if r.Src.IsValid() {
		b.WriteString(" src " + r.Src.String())
	}
	fmt.Fprintf(&b, " metric %d", r.Metric)
	for _, h := range r.NextHops {
		b.WriteString(" nexthop")
		hop(&b, h.Gateway, h.Dev, h.OnLink)
		fmt.Fprintf(&b, " weight %d", h.Weight)
	}
	return b.String()
}

func hop(b *strings.Builder, gw netip.Addr, dev string, onlink bool) {
	if gw.IsValid() {
		b.WriteString(" via " + gw.String())
	}
	if dev != "" {
		b.WriteString(" dev " + dev)
	}
	if onlink {
		b.WriteString(" onlink")
	}
}

func typeName(t int) string {
	switch t {
	case unix.RTN_BLACKHOLE:
		return "blackhole"
	case unix.RTN_UNREACHABLE:
		return "unreachable"
	case unix.RTN_PROHIBIT:
		return "prohibit"
	case unix.RTN_THROW:
		return "throw"
	}
	return fmt.Sprintf("type-%d", t)
}

// devices returns every device the route names.
func (r Route) devices() []string {
	var out []string
	if r.Dev != "" {
		out = append(out, r.Dev)
	}
	for _, h := range r.NextHops {
		if h.Dev != "" && !slices.Contains(out, h.Dev) {
			out = append(out, h.Dev)
		}
	}
	return out
}

// gatewayMetric is the metric of lvs-rs's default route: 0 for IPv4,
// the kernel's own for a route added without one; 1 for IPv6, the lowest
// the kernel takes (it turns 0 into 1024). An IPv6 host's default routes
// are at 1024: learned from router advertisements (ra_defrtr_metric) or
// added by hand or by its network manager. lvs-rs's route goes in front of
// them rather than in their place: one learned from a router
// advertisement cannot be put back as it was (the kernel's expiry and
// router preference, and its ownership of the route, are lost), and
// would come back beside lvs-rs's at the next advertisement anyway.
func gatewayMetric(gw netip.Addr) int {
	if gw.Is6() {
		return 1
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

// gatewayRoute is the default route lvs-rs wants for gw: at
// gatewayMetric, proto static, with no device (the kernel resolves the
// gateway) unless gw has a zone: a link-local gateway, fe80::1%eth0, is
// reached through the interface its zone names.
func gatewayRoute(gw netip.Addr) Route {
	return Route{Dst: defaultDst(gw), Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST,
		Gateway: gw.WithZone(""), Dev: gw.Zone(), Metric: gatewayMetric(gw), Protocol: unix.RTPROT_STATIC}
}

// sameSlot reports whether a and b compete for one kernel slot: the same
// destination, table, TOS and metric. A route replace overwrites the
// route in its slot.
func sameSlot(a, b Route) bool {
	x, y := a.canon(), b.canon()
	return x.Dst == y.Dst && x.Table == y.Table && x.Tos == y.Tos && x.Metric == y.Metric
}

// sameGateway reports whether a and b send traffic the same way through
// one gateway: same slot, same single next hop's gateway, same type, and
// the same device when both name one. This is how lvs-rs recognises its
// own route, whose device the kernel chose (or a link-local gateway's
// zone named).
func sameGateway(a, b Route) bool {
	return sameSlot(a, b) && a.canon().Type == b.canon().Type && len(a.NextHops) == 0 && len(b.NextHops) == 0 && a.Gateway == b.Gateway &&
		(a.Dev == "" || b.Dev == "" || a.Dev == b.Dev)
}

// competing returns the default routes of routes that may carry traffic
// in place of lvs-rs's route own (routes[i]): of its family and table, at
// its metric or a lower one, other than own. For IPv4 only those listed
// before own count: the kernel uses the first route of a slot, and one
// appended behind lvs-rs's is only a fallback. For IPv6 any counts: the
// kernel chooses among the routes of one metric by the router's
// reachability and preference, and a route learned from a router
// advertisement is never merged with lvs-rs's.
func competing(routes []Route, i int) []Route {
	own := routes[i].canon()
	var out []Route
	for j, r := range routes {
		c := r.canon()
		if j == i || c.Dst != own.Dst || c.Table != own.Table || c.Tos != own.Tos || c.Metric > own.Metric {
			continue
		}
		if own.Dst.Addr().Is4() && c.Metric == own.Metric && j > i {
			continue
		}
		out = append(out, r)
	}
	return out
}
