// Package doctor owns lvs-rs's read-only host checks ("lvs-rs doctor"):
// small, named checks that each find one way a host commonly breaks an LVS
// cluster (a second host answering ARP or neighbour solicitations for a
// VIP, rp_filter dropping decapsulated packets, a missing module, a
// too-large tunnel MTU, a sysctl.d file that undoes lvs-rs's settings at
// the next boot, a nat real server routing around the director,
// conn_reuse_mode traps, an IPv6 nat director that does not forward IPv6,
// an IPv6 VIP the kernel takes as the director's own source address) and
// report either ok or a problem with how to fix it.
//
// Checks never change the host. They read files below the roots of a Host
// (ProcRoot, SysRoot, EtcRoot), so unit tests run them against a temporary
// tree; routes (the main table's, over rtnetlink: /proc/net/ipv6_route
// mixes every table) and MTUs are asked of the kernel in the caller's
// network namespace unless the Host supplies them, and the only network
// access is the flux checks': arp-flux sends ARP requests through the
// ARPDialer of its Host, ndp-flux neighbour solicitations through its
// NDPDialer. Both share one probe and one judgement (flux.go) behind a
// small asker interface, so unit tests judge fake answers. DialNDP sends
// each solicitation as an Ethernet frame on a packet socket that receives
// nothing, so the director's own stack, which holds the VIPs, neither
// answers it nor keeps a neighbour entry for the solicited-node group,
// and reads the advertisements on a raw ICMPv6 socket bound to the
// interface's link-local address; neither adds an address.
package doctor
