// Package e2e runs whole LVS clusters on a real kernel, inside the VM test
// bed (internal/vmtest): one test per forwarding mode (TestDR, TestTUN,
// TestNAT), each a set of network namespaces built with internal/topo.
//
// Every node is configured ONLY by the real lvs-rs binary, run inside its
// namespace as
//
//	lvs-rs start --role director|realserver --config cluster.yaml --state-dir DIR
//
// from one cluster.yaml the test writes. The test itself makes no IPVS,
// address or sysctl change that lvs-rs should make; it only observes,
// apart from two pre-existing facts it plants before anything starts: a
// foreign IPVS service in the director (a stand-in for kube-proxy) and
// non-default sysctls on the real servers (rs1 conf/all/arp_announce=1,
// rs2 conf/all/rp_filter=1), which stop must restore.
//
// Each test:
//  1. snapshots every namespace (links and their up/down state, addresses
//     with label and scope, routes of every table, the sysctls lvs-rs may
//     touch, the IPVS table read through netlink) as text;
//  2. starts every node (real servers first, then the director);
//  3. sends 40 TCP requests through the VIP from the client and checks
//     that both real servers answered in the configured wrr proportion,
//     and that the client's ARP entry for the VIP (or, when the VIP is
//     routed, the router's entry for its next hop) is the director's MAC;
//  4. runs status on every node (exit 0), then start again (exit 0,
//     "nothing to change", and an unchanged snapshot);
//  5. stops every node (director first) and compares each namespace's
//     snapshot with the one taken before start: identical, or a diff.
//
// Run as root: CGO_ENABLED=0 go test ./test/vm/e2e/ -v [-run TestDR]
package e2e
