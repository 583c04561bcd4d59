// Package nftmark owns the nftables rules that give packets the firewall
// mark of an IPVS fwmark service: for each rule {VIP, protocol, port, mark}
// "ip daddr VIP meta l4proto PROTO th dport PORT meta mark set MARK".
//
// They live in a table of lvs-rs's own, `inet lvs_rs`, in one base chain
// `prerouting` (type filter, hook prerouting, priority mangle, -150, so the
// mark is set before IPVS looks at the packet in LOCAL_IN), and nowhere
// else: no other table is ever read or written. The kernel is reached
// through netlink (github.com/google/nftables); nothing runs nft.
//
// The flow is Observe → Plan(desired rules, observed) → Apply. Observe
// decodes the table back from the kernel: rules of exactly the shape this
// package writes are read back as Rules, anything else in the table makes
// it Foreign. Plan rebuilds the table only when it differs: one nf_tables
// transaction deletes the old table and creates the new one, so packets
// never see a half-built rule set. With no desired rules the table is
// removed whole (a table already gone is success). Each transaction is
// one kernel write wrapped in faultinject.Write.
//
// The kernel takes a transaction in one message and queues all its
// answers before the first is read, so the socket's send and receive
// buffers are sized to the number of rules (SO_SNDBUFFORCE and
// SO_RCVBUFFORCE, or the capped SO_SNDBUF and SO_RCVBUF without
// CAP_NET_ADMIN); thousands of rules build in one transaction. Should
// answers be dropped anyway (ENOBUFS, after the kernel may have
// committed), the table is read back and the build succeeds when it holds
// exactly the rules asked for.
package nftmark
