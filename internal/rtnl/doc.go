// Package rtnl opens the rtnetlink handles lvs-rs talks to the kernel
// through (addresses, links, routes), set up the same way everywhere:
//
//   - every request is bounded by a socket timeout (Timeout), so no call
//     waits forever on a kernel that does not answer;
//   - the kernel checks dump requests strictly (NETLINK_GET_STRICT_CHK,
//     Linux 4.20) and so filters them itself: a listing of one routing
//     table (the director's announce routes) reads that table, not every
//     route of the host. A director whose BGP daemon installs a full
//     table in the main table would otherwise read all of it on every
//     pass. A kernel without the option answers unfiltered dumps, which
//     the netlink library filters as before.
//
// LinkGone tells the errors that mean a link does not exist from the
// others, for the packages that look links up.
package rtnl
