// Package doctor is the VM suite of "lvs-rs doctor" and "lvs-rs status
// --connections". Every node is set up with the lvs-rs binary from one
// cluster file, then broken by hand in exactly one way; each check is
// shown to pass on the correct host and to fire, naming the fault, on the
// broken one:
//
//   - arp-flux: a DR real server whose arp_ignore is put back to 0 answers
//     ARP for the VIP; doctor on the director names that server's MAC and
//     not the other's;
//   - arp-sysctls, on that real server itself;
//   - rp-filter: a TUN real server with all/rp_filter=1;
//   - sysctl.d: a file setting arp_ignore=0 in a temporary root
//     (LVS_RS_DOCTOR_ROOT, with proc and sys linked to the real ones);
//   - modules: ipip missing, through a temporary root whose proc/modules
//     and sys/module leave it out (the VM has it loaded);
//   - nat-gateway: a nat real server whose default route is replaced;
//   - ipvs-sysctls: the stock expire_nodest_conn=0 on the director;
//   - conn-reuse-mode: the stock conn_reuse_mode=1 on a DR director, and
//     conn_reuse_mode=0 (the message names the running kernel);
//   - modules on the director: ip_vs hidden the same way;
//   - tunnel-mtu: tunl0's MTU raised to its device's.
//
// status --connections lists the connections real clients hold open
// through a DR VIP, and not those of a service lvs-rs did not create.
//
// Run: CGO_ENABLED=0 go test ./test/vm/doctor/ [-run TestName] -v (as root).
package doctor
