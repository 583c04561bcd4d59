// Package announce owns lvs-rs's route signal to a BGP daemon: one route per
// announced VIP (VIP/32, or VIP/128) in a kernel routing table of the
// operator's choosing, which a routing daemon on the same host picks up and
// announces to the routers (BIRD 2: `protocol kernel { learn; kernel table
// N; }`; FRR 8.4: N as the table of a VRF whose BGP instance redistributes
// its kernel routes, leaked into the default instance with `import vrf`;
// see the README's "Several directors").
//
// The routes are of type blackhole, tagged with lvs-rs's own route protocol
// number (DefaultProtocol, 250, unless the caller chooses another). They
// only signal: the table is not consulted for forwarding unless a policy
// rule points at it, and the director receives the VIP's packets through
// the address bound on one of its interfaces. Blackhole is what BIRD 2's
// kernel protocol learns (it skips `proto kernel` routes, such as the
// local route of a bound address, and needs no device for a blackhole).
//
// Ownership is the protocol number in the table: List lists only the
// routes of table N with that protocol, Plan only ever deletes those, and
// a delete names the protocol, so a route another program put in the same
// table is never touched (adding over one fails with EEXIST).
//
// The package holds the pure Plan(desired VIPs, observed) and the kernel
// primitives on a netlink handle the caller owns (Route, List, AddRoute,
// DeleteRoute; deleting a route that is already gone succeeds). The
// director is their one user in the product: it observes with List, plans
// with Plan and writes through AddRoute and DeleteRoute, each write
// wrapped in faultinject.Write (pkg/director's Network), so the kernel
// tests here exercise the code the director runs.
package announce
