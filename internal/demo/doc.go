// Package demo is the README's first command (scripts/demo.sh): it builds
// a direct-routing LVS cluster in network namespaces (internal/topo's DR
// preset: client, director, rs1, rs2 on one L2 segment), writes one
// cluster.yaml, runs the real lvs-rs binary on every node
// (start --role realserver|director), sends a dozen HTTP requests through
// the VIP from the client, and prints a short report: what lvs-rs did on
// each node, which real server answered each request, and the director's
// `lvs-rs status` table. Then it stops lvs-rs on every node and removes
// the namespaces.
//
// Run needs root and a kernel with IPVS (ip_vs): the host's, through
// internal/demo/cmd/demo, or the VM test bed's, through test/vm/demo.
// scripts/demo.sh picks one.
//
// topo is made for tests and takes a testing.TB; Run gives it env, a
// stand-in that turns a fatal error into an error returned by Run and
// runs the cleanups (namespace removal) when Run returns.
package demo
