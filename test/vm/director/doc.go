// Package director tests the director role (pkg/director and pkg/ipvs) on
// a real kernel, inside the VM test bed (internal/vmtest): config to IPVS
// state read back through netlink and /proc/net/ip_vs for every feature,
// idempotence (zero writes on a second start), edits in place proven by
// surviving counters, ownership (a hand-made service survives start,
// status and stop), and traffic through the VIP to the real servers in the
// dr, tun and nat presets of internal/topo, with the real servers prepared
// by plain calls (not the product's real-server role). wave2_test.go reads
// the host-wide settings (sysctls, IPVS timeouts, sync daemons) and the
// scale-out service fields back through moby/ipvs and /proc/sys, and
// proves on a one-armed nat director that send_redirects=0 on both
// conf/all and the interface stops the ICMP redirects the real servers
// otherwise receive (counted in each namespace's /proc/net/snmp).
// reuse_test.go makes a client reuse one source port for back-to-back
// connections to a dr VIP: with the kernel's default conn_reuse_mode they
// all go, unscheduled and uncounted, to the first one's real server; with
// conn_reuse_mode: 2 under director.ipvs_sysctls each is scheduled and
// counted.
//
// Run as root: CGO_ENABLED=0 go test ./test/vm/director/ [-run TestName] -v
package director
