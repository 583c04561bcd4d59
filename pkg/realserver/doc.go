// Package realserver is the real-server role of lvs-rs: it makes a host
// accept the traffic an LVS director forwards to it, and undoes exactly
// that on stop.
//
// Per forwarding mode:
//
//	dr   VIP/32 (IPv4) or /128 (IPv6, deprecated as pkg/vip binds it)
//	     on lo, label lo:N, scope host;
//	     conf/lo and conf/all: arp_ignore=1, arp_announce=2 (IPv4 VIPs only)
//	tun  ipip loaded, tunl0 up, VIP/32 on tunl0, label tunl0:N;
//	     conf/tunl0 and conf/all: arp_ignore=1, arp_announce=2, rp_filter=0
//	     gue: the same, and fou loaded with a GUE receive port on the
//	     tunnel's UDP port (ip fou add port PORT gue): the director's
//	     GUE header carries an IPIP packet, which tunl0 decapsulates
//	     gre: ip_gre loaded, gre0 up, VIP/32 on gre0, label gre0:N;
//	     conf/gre0 and conf/all: arp_ignore=1, arp_announce=2, rp_filter=0
//	nat  no VIP; the default route via each of Desired.Gateways (one per
//	     family) of a family some nat binding's VIP has
//
// # Decide, then do
//
// Observe reads what a plan looks at (the addresses on lo, tunl0 and gre0
// and any VIP's elsewhere, tunl0 and gre0, the relevant /proc/sys
// parameters, for gue the GUE receive ports over generic netlink, and for
// nat the main table's default routes) together with the state record,
// looking links up one at a time rather than listing them all; the pure
// Plan turns (Desired, Observed) into an ordered list of Change; an
// executor applies it through a small kernel interface.
// --dry-run prints the plan, status reports it as drift, and a host that
// matches gets an empty plan: no kernel write and no state write.
//
// # Ownership
//
// The record (role "realserver" in the state directory) holds the desired
// state last applied, each sysctl lvs-rs wrote with the value it found
// first, each VIP lvs-rs bound, whether tunl0 and gre0 were up before,
// each GUE receive port lvs-rs added, and the default route lvs-rs set
// in each family with the one it replaced there, recorded whole (route,
// and route6 for the IPv6 one while route holds the IPv4 one). Stop
// works from it alone. A
// VIP that was already on its device is adopted: wanted, never recorded,
// never removed; one another tool adds after start saw it absent makes
// the bind fail with EEXIST and is not recorded either. So is a GUE
// receive port (the kernel's refusal is EADDRINUSE); a recorded port is
// lvs-rs's while the kernel has it as GUE. A FOU port of another kind on
// the wanted UDP port (direct, ip fou add port PORT ipproto N) is never
// replaced: start stops there and names it. A
// recorded VIP is lvs-rs's by device and address, whatever its label: one
// re-added by hand under another label, or none, is still removed by
// stop. A sysctl that already held the wanted value, or a stricter
// arp_ignore (2 or 8, or 3 while every VIP is scope host, as a dr VIP on
// lo is and a tun VIP on tunl0 is not: the kernel applies the larger of
// conf/all and conf/DEV), is never written or recorded. A recorded sysctl
// that someone changed since lvs-rs wrote it is left as is, with a
// warning.
//
// # Recovery
//
// Every kernel write is recorded before it is made: the sysctl with the
// value read just before and the value about to be written, the VIP about
// to be bound, tunl0 or gre0 about to be created or set up, the GUE
// receive port about to be added, lvs-rs's default route of a family
// with the whole route it is about to replace. Each family's route has
// its own record, slot and gateway: when the gateway of a family changes,
// lvs-rs's route in the slot stays recorded as its own too until the
// replace is done, and the route it replaced first stays the one to put
// back; a family no longer routed (its gateway or its nat VIPs gone) has
// lvs-rs's route taken back and the route it replaced put back, the
// other family's untouched. If that save fails, the
// write is not made. Each run of binds and sysctl writes in a start is
// recorded in one save before the first of them; one that fails takes
// back its own intention and those of the writes after it. What a write removes leaves the record only once the
// write is done. Ownership is then decided by reading the kernel back: a
// recorded VIP that is present is lvs-rs's; a recorded sysctl is restored
// only while it holds what lvs-rs wrote; a slot that still holds the
// replaced route means the replace never happened. So after lvs-rs is
// killed at any point (or a write fails), the next start converges and the
// next stop puts the host back exactly as it was before the first start. A
// record of an unknown version, or one that names anything the real-server
// role never creates, is refused with one line naming the file: stop with
// the lvs-rs that wrote it, or undo by hand what the file lists and delete
// it. A record that holds routes of both families (route6) is version 5,
// so that an lvs-rs of one gateway refuses it rather than leave the IPv6
// route behind; one that holds anything of a gue or gre tunnel is
// version 4, so that an lvs-rs that knows neither refuses it rather than
// leave the GUE ports and gre0 behind; one back from a gateway change
// under way (route.was) is version 3; others are version 2, which an
// lvs-rs of one gateway wrote too (its route, of either family, in
// route) and this one reads and stops.
//
// # Decisions beyond the contract
//
//   - IPv6 dr: the /128 on lo gets no sysctl. ARP parameters are IPv4-only,
//     and Linux needs no IPv6 equivalent: ndisc answers a neighbour
//     solicitation only for an address on the interface it arrived on (the
//     lookup is strict to the device), so a VIP on lo is never advertised on
//     the wire, and IPv6 never uses an address of another interface as the
//     source of a solicitation. The host test TestDRSilentOnTheWire checks
//     both families against a neighbour on a veth.
//   - IPv6 tun needs ip6tnl; it is rejected with ErrInvalid, naming ip6tnl.
//   - One VIP in both dr and tun on one host is rejected with ErrInvalid.
//     nat next to dr or tun is accepted (nat binds nothing).
//   - nat default routes: one gateway per family. A gateway is applied
//     only when some binding is nat with a VIP of its family, or when
//     there is no binding at all (lvs-rs start --mode nat --gateway A
//     --gateway B applies both); a dual-stack nat host gets both routes,
//     an IPv6-only one of a file with both gateways the IPv6 one alone;
//     a dr/tun-only host ignores them with a warning. A host with nat VIPs
//     of a family that has no gateway (while another family has one) is
//     not refused: its routing may come from elsewhere, so start and
//     status warn, naming the VIPs, and leave that family's default route
//     as it is. lvs-rs
//     adds "default via GATEWAY" with proto static, letting the kernel
//     choose the device (a link-local gateway names it: fe80::1%eth0 is
//     "default via fe80::1 dev eth0"; an interface that does not exist is
//     refused before any change, a link-local gateway without one too).
//     The metric is 0 for IPv4, the kernel's default; 1 for IPv6, the
//     lowest, in front of the host's own default routes at 1024 rather than
//     in their place: one learned from router advertisements (proto ra)
//     cannot be put back as it was (the kernel's expiry, the router's
//     preference and its own ownership of the route would be lost, so a
//     later withdrawal would leave it), and the next advertisement would
//     add it again beside lvs-rs's. A route learned from an advertisement
//     is never replaced (start fails and names it: set ra_defrtr_metric
//     above 1); a record of an older lvs-rs that replaced one is stopped
//     without putting it back (the next advertisement does), with a
//     warning. Another default route at lvs-rs's metric (a learned one
//     with ra_defrtr_metric=1, or an IPv4 one put in front of lvs-rs's)
//     may carry the replies instead: start and status warn, naming it.
//     If another default route holds that metric, it is replaced
//     and recorded whole (every next hop of a multipath route with its
//     weight and onlink flag, metric, table, type, protocol, scope, TOS,
//     source, realm and route metrics such as mtu), and stop puts it back
//     identical, an IPv4 one in front of any route appended next to it
//     (ip route append), where it was (unless the slot was changed by
//     someone since: then both are left as is, with a warning). A route that uses a device that no
//     longer exists is not restored, and stop says which device (the
//     kernel removes such a route with its device anyway); the rest of the
//     record is undone. A default route with an encapsulation or a via,
//     which lvs-rs cannot set again, is never replaced: start fails and
//     names it. Default routes at other metrics are not touched. A
//     default route already via the gateway is adopted.
//   - tun: lvs-rs never unloads ipip, ip_gre or fou (other tunnels may
//     use them); stop sets tunl0 and gre0 down if they were down before.
//     In a namespace where loading the module creates no fallback device,
//     lvs-rs creates tunl0 (gre0) itself and stop sets it down and
//     deletes it (the kernel keeps the module's own device on delete, so
//     after a crash that left lvs-rs unsure which it was, it still ends
//     down).
//   - gre: the VIP goes on gre0, as ipip's on tunl0. Delivery needs only
//     the VIP to be a local address, so lo would do too; on gre0 its local
//     route lives as long as gre0 is up, the device that receives the
//     decapsulated packets, and rp_filter is set where they arrive
//     (gre0 and all; the kernel takes the larger). gre0 is a NOARP
//     device, but another device would answer ARP for an address of any
//     device, so all gets arp_ignore=1, arp_announce=2 as for dr and ipip
//     (3 is not enough: the VIP is not scope host). A VIP of an ipip and
//     a gue tunnel is bound once on tunl0; one of ipip (or gue) and gre
//     goes on both tunl0 and gre0.
//   - gue: the GUE receive port is IPv4 and bound to every address (the
//     director sends to the real server's address); the checksum flags
//     need nothing on the receiving end (the kernel checks csum and
//     processes remcsum on any GUE port). It needs Linux 5.3 on the
//     director only; the real server needs fou and ipip.
//   - Stop continues past failures, but if a VIP could not be unbound it
//     does not restore ARP sysctls or set tunl0 or gre0 down, so the host never
//     answers ARP for a VIP that is still bound; the record keeps them and
//     a second stop finishes the job.
//   - A start that fails halts at the failing step; the record then holds
//     what was done, so stop removes it and a new start converges.
//   - A VIP that lvs-rs bound, removed by hand and then dropped from the
//     config is forgotten without a kernel call. A VIP re-added by start
//     after someone removed it is lvs-rs's (recorded), even if it had been
//     adopted before.
//
// # Status JSON
//
// Report marshals to a stable document; field names are lowercase and
// never change meaning:
//
//	{
//	  "applied": true,             // a state record exists
//	  "source": "state",           // compared with: "config", "state" or "none"
//	  "vips": [                    // one per binding, sorted by VIP, mode, tunnel
//	    {"vip": "10.0.0.100", "mode": "dr", "device": "lo",
//	     "present": true,          // on device (always true for nat)
//	     "owner": "lvs-rs"},       // "lvs-rs", "adopted" or "" (absent, nat)
//	    {"vip": "10.0.0.101", "mode": "tun", "device": "tunl0",
//	     "tunnel": "gue port 6080", // tun only: "ipip", "gue port N", "gre"
//	     "present": true, "owner": "lvs-rs"}
//	  ],
//	  "sysctls": [                 // every parameter the modes want
//	    {"key": "net/ipv4/conf/lo/arp_ignore", "wanted": "1",
//	     "actual": "1",            // "-" when the parameter does not exist
//	     "ok": true}
//	  ],
//	  "tunnel": {"device": "tunl0", "exists": true, "up": true,
//	             "was_up": false}, // only when ipip or gue is wanted or tunl0 recorded
//	  "gre": {"device": "gre0", ...},  // the same for gre0 and gre
//	  "fou": [{"port": 6080, "present": true,
//	           "owner": "lvs-rs"}], // GUE receive ports wanted or recorded
//	  "routes": [{"gateway": "10.0.0.1", "present": true,
//	              "owner": "lvs-rs", // "lvs-rs", "adopted" or ""
//	              "replaced": "default via 10.0.0.254 dev eth0 metric 0"},
//	             {"gateway": "2001:db8::1", ...}],
//	                               // one per routed gateway, IPv4 first;
//	                               // only when a gateway route is wanted
//	  "route": {...},              // the first of routes, as before
//	  "drift": ["VIP 10.0.0.100 is missing from lo"],  // [] when none
//	  "warnings": ["..."]          // omitted when none
//	}
//
// The record's own JSON (realserver.json) is documented on Record.
package realserver
