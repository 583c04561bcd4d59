// Package garp tells a link's neighbours where a VIP lives now: a
// gratuitous ARP request for an IPv4 VIP (github.com/mdlayher/arp) or an
// unsolicited neighbour advertisement for an IPv6 one
// (github.com/mdlayher/ndp), sent from the interface the VIP is bound on.
// Neighbours that hold an entry for the VIP (another director's MAC, after
// the VIP moved by hand or by another tool) update it at once instead of
// after their entry goes stale.
//
// The gratuitous ARP is a broadcast ARP request whose sender and target
// protocol addresses are both the VIP and whose sender hardware address is
// the interface's (RFC 5227 §3, "ARP Announcement"). The advertisement goes
// to all-nodes (ff02::1) with the Override flag and a target link-layer
// address option, from the VIP itself (RFC 4861 §7.2.6).
//
// Sockets are opened in the calling thread's network namespace (run
// Announce inside it); each send is bounded by the context's deadline.
// Announcing several VIPs, use one Sender: it keeps one packet socket
// for all of them, since closing one waits for an RCU grace period.
// Sending a packet changes no kernel state, so it is not a counted
// kernel write (internal/faultinject).
package garp
