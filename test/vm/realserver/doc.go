// Package realserver is the VM suite of the real-server role. It runs on
// Debian's stock kernel (internal/vmtest), where ipip and IPVS exist, and
// proves what the host namespace tests cannot:
//
//   - tun: start loads ipip, brings tunl0 up, binds the VIP on it and sets
//     the tunl0 and all sysctls; a second start changes nothing; stop binds
//     nothing, sets tunl0 down again when it was down, leaves it up when it
//     was up, and restores every sysctl;
//   - a host switched from dr to tun moves its VIP and its sysctls;
//   - one real TCP request through a director the test programs itself
//     with plain IPVS calls (moby/ipvs), for dr and for tun, reaches real
//     servers configured by realserver.Start; in dr the client resolves
//     the VIP to the director's MAC, never a real server's; in tun (real
//     servers behind a router) the router never learns the VIP from a
//     real server;
//   - gue and gre (TestGUERequest, TestGRERequest): a director started by
//     lvs-rs from a cluster file whose real servers are reached through a
//     gue tunnel (UDP 6080) or a gre one forwards real requests to two
//     real servers started from the same file's bindings: the GUE receive
//     port and tunl0, or gre0 with the VIP; a GUE port added by hand
//     before is adopted; stop puts each real server back (ports, devices,
//     addresses, every parameter) and the VIP stops answering.
//
// Run: CGO_ENABLED=0 go test ./test/vm/realserver/ [-run TestName] -v (as root).
package realserver
