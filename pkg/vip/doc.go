// Package vip owns virtual IP addresses on a device: listing them, binding
// one as a host route (/32 or /128) with an alias label, and unbinding it.
//
// All calls go through a netlink handle, so callers choose the network
// namespace by the handle they pass. Bind never takes over an address
// that is there already (EEXIST: it is someone else's, or adopted);
// Unbind removes the address by device and prefix, whatever its label,
// and treats "not there" as success.
//
// An IPv6 VIP is bound deprecated (preferred lifetime 0, valid lifetime
// forever): Linux still delivers packets to it, answers neighbour
// solicitations for it and accepts connections to it, but never chooses
// it as the source address of the host's own connections (RFC 6724 rule
// 3). Without that, rule 8 (longest matching prefix) makes a /128 VIP
// the source of everything the host sends to the VIP's /64, so a
// director's health checks to a dr real server (which holds the VIP on
// lo and answers itself) would fail. IPv4 takes the source from the
// route (the subnet route's preferred source), so a /32 VIP is not chosen
// that way. This holds for the real server's VIP on lo as well: there
// the interface's address already wins (RFC 6724 rule 5, the outgoing
// interface), and on a host whose outgoing interface has no global
// address of its own, deprecation makes another interface's address win
// over the VIP (rule 3).
package vip
