// Package ipvs is lvs-rs's client for the kernel's IP Virtual Server over
// generic netlink (family "IPVS", include/uapi/linux/ip_vs.h).
//
// It exists instead of github.com/moby/ipvs for four reasons: 64-bit
// counters (IPVS_SVC_ATTR_STATS64, IPVS_DEST_ATTR_STATS64), tunnel
// attributes of destinations, sockets opened in a chosen network namespace
// (Config.NetNS), and kernel errors that keep their errno, so callers test
// them with errors.Is(err, unix.ENOENT).
//
// # Types
//
// Identity and configuration are kept apart from counters: Service and
// Destination are comparable values holding only what a caller sets, so a
// desired value can be compared with == against one read back from the
// kernel; ServiceExtended and DestinationExtended add the counters the
// kernel reports. ServiceKey and DestinationKey are the kernel's lookup
// keys. Addresses are net/netip values.
//
// Some fields follow the kernel's conventions:
//   - Service.Netmask is the persistence netmask as a prefix length. The
//     kernel holds an IPv4 netmask as a mask (sent as a u32 in network byte
//     order) and an IPv6 one as a prefix length; the package converts. Set it
//     to 32 (IPv4) or 128 (IPv6) for "no mask": it is sent as is, and the
//     kernel refuses an IPv6 prefix length of 0.
//   - Service.Flags never holds FlagHashed when read back: that bit is the
//     kernel's bookkeeping, not configuration.
//   - A firewall-mark service (FWMark != 0) has no protocol, address or port.
//   - Destination.Family zero means "the service's family" when sending;
//     values read back always carry it.
//
// # Request path
//
// Every change is an Op, and every write goes through Client.Apply, which
// takes a slice of Ops and returns one error per Op. The methods
// NewService, UpdateService, ... are one-Op wrappers. Today Apply makes one
// round trip per Op and stops at the first failure (the rest are reported
// as ErrNotAttempted); a pipelined implementation (many requests per
// sendmsg, acknowledgements matched by sequence number) can replace Apply's
// body without changing any caller.
//
// # Errors
//
// Kernel refusals are returned as *Error, naming the operation and the
// object and wrapping the errno: "ipvs: add service tcp 10.0.0.100:80:
// scheduler "xyz" (module ip_vs_xyz): no such file or directory". When the
// "IPVS" family cannot be resolved (module ip_vs not loaded, or a kernel
// built without IPVS), Dial returns an error wrapping ErrNoIPVS.
package ipvs
