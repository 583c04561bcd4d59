// Package smoke proves that the VM test bed is a real kernel with what the
// product needs: the IPVS generic-netlink family resolves (module
// autoload), a virtual service with real servers can be created and dumped
// in a namespace, ipip brings up tunl0, and real TCP traffic through a VIP
// reaches every real server in the DR, TUN and NAT presets of
// internal/topo. The director and real servers are programmed with plain
// netlink and IPVS calls here, not with lvs-rs.
//
// Run: CGO_ENABLED=0 go test ./test/vm/smoke/ [-run TestName] -v (as root).
package smoke
