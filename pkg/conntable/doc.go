// Package conntable reads the kernel's IPVS connection table, which the
// kernel exposes only as text: /proc/net/ip_vs_conn (IPv4 entries as hex,
// IPv6 entries in colon form), and /proc/net/ip_vs_conn6 on kernels that
// have it. It is read-only: it parses, selects the connections of a set of
// virtual services, and renders them the way "ipvsadm -Lnc" does.
package conntable
