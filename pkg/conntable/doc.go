// Package conntable reads the kernel's IPVS connection table, which the
// kernel exposes only as text: /proc/net/ip_vs_conn (IPv4 entries as hex,
// IPv6 entries in colon form), and /proc/net/ip_vs_conn6 on kernels that
// have it. It is read-only: it parses, selects the connections of a set of
// virtual services, and renders them the way "ipvsadm -Lnc" does.
//
// A busy director's table holds millions of entries, so Each reads it a
// line at a time and hands over only the selected entries, found through
// a Selector's maps (by protocol, VIP and port; by real server for a
// firewall-mark service) rather than by trying every service; an entry of
// another tool's service is dropped once its virtual address is read.
// Table and JSON print entries as they come.
package conntable
