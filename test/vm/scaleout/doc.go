// Package scaleout tests, in the VM (internal/vmtest), the kernel building
// blocks of running several directors: the IPVS connection sync daemon and
// timeouts (pkg/ipvs), scheduler flags, thresholds and tunnel types read
// back through netlink, nftables firewall marks with traffic
// (pkg/nftmark), and the route signal to BIRD 2 (pkg/announce): a route
// put in table 100 on two directors is exported over BGP to a router
// running BIRD, which installs an ECMP route and drops the nexthop of a
// director that withdraws, including a director running `lvs-rs run`
// whose health checks find no real server up; and the same signal to FRR
// (Debian 12's frr, zebra and bgpd loaded with the README's configuration
// through vtysh): IPv4 and IPv6 VIPs of two directors' `lvs-rs run` reach
// the BIRD router as ECMP routes, and leave it on failed checks and stop.
package scaleout
