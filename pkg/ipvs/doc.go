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
// NewService, UpdateService, ... are one-Op wrappers.
//
// Apply is pipelined. It encodes the Ops straight into one buffer as
// generic netlink requests, each with its own sequence number, sends them
// in chunks of one sendmsg each, and reads the answers (a read(2) each,
// into a reused buffer). Only a chunk's last request carries NLM_F_ACK:
// the kernel performs a chunk's requests in order and answers a failing
// one with a refusal carrying its sequence number whether or not it asked
// for an acknowledgement, so the last request's acknowledgement means
// that every request without a refusal succeeded, and each refusal is
// matched to its Op by sequence number. A chunk is bounded by the socket
// buffers, which Dial enlarges (SO_SNDBUFFORCE and SO_RCVBUFFORCE, 1 and
// 4 MiB, falling back to the sysctl-capped SO_SNDBUF/SO_RCVBUF without
// CAP_NET_ADMIN): its bytes stay below the send buffer, and an answer for
// every request, all queued by the kernel before sendmsg returns, would
// fit the receive buffer (2 KiB budgeted each; an answer costs ~768 bytes,
// and NETLINK_CAP_ACK keeps refusals that small). 10,000 real servers
// take three chunks. Should the receive buffer overflow anyway, the kernel
// drops answers and reports ENOBUFS: Apply reads the ones it kept without
// waiting, reports every Op of the chunk without a refusal with an error
// wrapping ErrOutcomeUnknown (the kernel may have done them: read the
// table back), and halves its chunks; after a run of chunks that came
// back whole the limit doubles again.
//
// Services, Destinations and DestinationConfigs dump with the same raw
// reads, decoding each reply in place, a destination's attributes walked
// inline. DestinationConfigs leaves the counters undecoded (less than
// half the time): a converge compares configurations only, and its
// results take 64 bytes a destination instead of 160. A
// destination dump's service attributes are encoded into a buffer the
// client reuses. IPVS has no dump of
// every destination, so reading a table of 1,000 services takes 1,001
// dumps: DestinationsOf and DestinationConfigsOf run the dumps of many
// services in one call, taking the socket and arming its deadline once.
// A dump's sendto and reads are raw, non-blocking system calls on the
// descriptor (the kernel answers a dump while sendto and each read run,
// so they rarely find nothing queued); only one that would block waits
// through the runtime's poller. Raw calls skip the runtime's bookkeeping
// around a system call, which on a slow (emulated) CPU costs more than
// the call: the scheduler takes the P away during the call and the thread
// must wait to get one back.
//
// Every chunk goes through faultinject.Write. A binary built with the
// faultinject tag (crash tests only) sends one request per chunk, so that
// "the k-th write" is the k-th request.
//
// Failures: the kernel performs every request of a chunk even after one
// fails, so each Op of the chunk has its own result; after a chunk with a
// failure Apply sends nothing more and the rest are ErrNotAttempted. The
// real servers of a service whose addition failed in the same chunk are
// reported as ErrNotAttempted too (the kernel refused them with ESRCH for
// that reason alone), as one request per round trip would have. Callers
// record each success, as pkg/director's executor does.
//
// The socket's other requests (Info, Services, Destinations, the family
// lookup) go through mdlayher/netlink as before. Sockets without a file
// descriptor (the tests' fakes) get the same batches through
// netlink.Conn.SendMessages and Receive.
//
// # Deadlines and failed calls
//
// Every call takes a context.Context: its deadline (DefaultTimeout when it
// has none) bounds the wait for the client while another call runs and is
// set on the socket for reads and writes, and cancelling it interrupts a
// blocked read. Neither ends a request the kernel is handling: generic
// netlink runs the handler inside sendmsg, so a handler that never
// returns (Linux 6.1's DEL_DAEMON right after the daemon's start) keeps
// its call and the client for good, and later calls fail at their own
// deadline with context.DeadlineExceeded instead of waiting behind it;
// so does Close (CloseWait, DefaultTimeout, or CloseContext's context),
// which then leaves the socket to be closed as that call ends. A call that fails midway (a timeout, an
// overflow) may leave replies queued; the next call drains them first, or
// reopens the socket when it cannot, so it never reads another call's
// answer ("mismatched sequence"). One Client can serve a long-running
// process.
//
// # Errors
//
// Kernel refusals are returned as *Error, naming the operation and the
// object and wrapping the errno: "ipvs: add service tcp 10.0.0.100:80:
// scheduler "xyz" (module ip_vs_xyz): no such file or directory". When the
// "IPVS" family cannot be resolved (module ip_vs not loaded, or a kernel
// built without IPVS), Dial returns an error wrapping ErrNoIPVS.
//
// The family's id is resolved by Dial. Unloading and loading ip_vs again
// gives IPVS a new one, and generic netlink refuses every request to the
// old id with ENOENT, the errno IPVS also answers for an object that is
// not there. So a call refused with ENOENT (Apply: a chunk whose every
// request was) asks the controller for the family again; when its id
// changed, the call is sent again, once, to the new id (the refused
// requests never reached IPVS). A long-running Client thus follows a
// reload of the module instead of failing every call until restarted.
package ipvs
