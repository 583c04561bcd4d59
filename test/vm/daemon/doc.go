// Package daemon tests the long-running director (`lvs-rs run --role
// director`, pkg/reconcile with pkg/health) on a real kernel, inside the VM
// test bed (internal/vmtest): the lvs-rs binary runs as a child process in
// the director namespace of internal/topo's DR preset, with its own state
// directory, and the tests act as an operator would (web servers stopped
// and started, the file edited and SIGHUP sent, IPVS and addresses changed
// by hand, SIGTERM and SIGKILL), asserting on the kernel's IPVS table read
// back through netlink, the control socket, the metrics endpoint and real
// traffic through the VIP.
//
// Run as root: CGO_ENABLED=0 go test ./test/vm/daemon/ [-run TestName] -v
package daemon
