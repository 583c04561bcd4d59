// Package arp owns the kernel parameters that keep an LVS real server
// quiet about its VIPs: which ARP and reverse-path-filter sysctls each
// forwarding mode needs, on which devices, with which values (Policy), and
// the plan that sets them and later restores them (Plan, Apply).
//
// Policy follows the README's table of what start does:
//
//	dr:  conf/lo and conf/all: arp_ignore=1, arp_announce=2
//	tun: conf/tunl0 and conf/all: arp_ignore=1, arp_announce=2, rp_filter=0
//	nat: nothing
//
// The kernel applies max(conf/all, conf/DEV) for arp_ignore, arp_announce
// and rp_filter, which is why conf/all is needed and no per-device value
// can undo it. These parameters are IPv4-only; IPv6 needs no equivalent,
// because Linux answers a neighbour solicitation only for an address on the
// interface it arrived on, so a /128 on lo is never advertised on the wire.
//
// Restoration is owned: a parameter lvs-rs wrote is recorded with the value
// it found first (sysctl.Record); Plan restores that value only while the
// parameter still holds what lvs-rs wrote, and otherwise leaves it and
// warns. A parameter that already held the wanted value, or a stricter
// one (arp_ignore 2 or 8, or 3 when every VIP is scope host; see Enough),
// is never written and never recorded, so stop never touches it. Keys
// are built from path segments, so device names with dots (eth0.100)
// work.
package arp
