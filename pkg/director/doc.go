// Package director is lvs-rs's director role: it binds the VIPs on the
// director interface, sets the kernel parameters the director needs
// (net/ipv4/ip_forward and send_redirects when a real server uses nat,
// net/ipv4/vs/*), the IPVS connection timeouts and the connection sync
// daemons, and programs the kernel's IPVS table with the configured
// virtual services and real servers (scheduler flags, thresholds, tunnel
// types included), converging in place.
//
// # Decide, then do
//
// Converge is one pass: it reads the kernel (observe: one dump of the IPVS
// services, the destinations of lvs-rs's own services, the addresses on
// the interface, the sysctls, timeouts and sync daemons it wants or
// changed), asks the pure planner Plan for the changes,
// records its intentions, applies the changes with an executor, reads the
// kernel back and records what lvs-rs owns. Start is Converge of
// DesiredFrom(config) after its configuration checks; Stop is the same
// pass towards nothing, continuing past failures; the long-running
// director calls Converge in a loop with health overrides applied to its
// Desired. Plan orders the changes: sysctl writes (in key order), IPVS
// timeouts (tcp, tcp_fin, udp), sync daemon starts (master, backup), VIP
// binds, service and real-server additions, edits, then real-server and
// service deletions, VIP unbinds, sync daemon stops, and timeout and
// sysctl restorations. Edits never delete: a changed scheduler, scheduler
// flag, persistence timeout or netmask is an UpdateService, a changed
// weight, forwarding method, threshold or tunnel an UpdateDestination, so
// established connections and counters survive.
//
// A new service's real servers are added in config order. The kernel puts
// each new real server at the head of the service's list and mh fills its
// lookup table walking that list, so directors started from the same file
// build the same table (add new real servers at the end of the file's
// list: one added to a running service goes to the head as well). Taking
// a real server out of rotation is weight 0 (quiesce), never a delete and
// a re-add, which would move it in the list. mh counts a real server in
// its table with its last weight above 0, which an edit to 0 keeps and an
// addition at 0 does not give: a real server of an mh service that is
// added while its desired weight is 0 with a LastWeight (the long-running
// director's, for one down or not checked yet) is added at that weight
// and edited to 0 right after, in the same batch, so that its table is
// the one of a director that saw it up. CheckKernel refuses, before
// any change, what the running kernel would silently ignore: gue and gre
// tunnels and tunnel checksum flags need Linux 5.3. A changed service key (protocol, VIP,
// port, fwmark) or real-server key (address, port) is an addition of the
// new one followed by a deletion of the old.
//
// The executor runs a plan in two phases: the writes, binds, additions and
// edits first, then the deletions, unbinds and restorations. A failure
// holds back only the changes that depend on it (see holds): the real
// servers of a service whose addition failed, the announce route of a VIP
// on which an addition failed, and what a failed addition was to replace
// (deletions in the same service or on the same VIP, the route in the
// old table); every other change is made, so one object the kernel
// refuses for good (a service whose scheduler module is missing, a sync
// daemon another tool runs, a route, the nftables table) keeps neither
// the other services' weight edits nor another VIP's withdrawal from the
// kernel. Stop holds nothing back. The kernel performs every request of a
// pipelined batch even after one fails, so the two phases never share a
// batch (a failed addition of :8080 never lets the deletion of :80 run),
// and within a phase the services' additions go in a batch of their own
// before the real servers: a real server is sent only once the kernel
// added its service, so one refused with EEXIST (another tool created it
// meanwhile) never receives lvs-rs's real servers.
//
// Every read and write goes through the Kernel interface (IPVS,
// addresses, sysctls; the host's implementation passes each write through
// faultinject.Write, and tests use an in-memory one). Consecutive IPVS
// changes are handed to Kernel.Apply as one batch, a window of 1,024 at a
// time (their Ops built in one reused window; what the kernel did not
// attempt after a failed chunk is sent again), which *ipvs.Client
// pipelines (many requests per sendmsg; see pkg/ipvs). The
// availability of IPVS is checked before any change: a kernel without it
// (after one "modprobe ip_vs" attempt on start) fails with ErrNoIPVS and
// nothing, not even a VIP, is changed.
//
// Copies: a plan is long (a start of 1,000 services of ten real servers
// is 11,000 changes) and a Change is 176 bytes. The loops over a plan take
// each change by its index and ask its Kind (Kind.writes, Kind.removes,
// Kind.ipvsOp), and the additions and the executor's IPVS operations are
// written in place (appendIPVS, executor.send): a range variable, an
// inlined method's value receiver and an appended composite literal each
// copy the whole value, which the VM test bed's emulated CPU charges for
// many times over (scripts/bench.sh vm ./pkg/director -bench
// ConvergeStart: 169 ms before, 142 after).
//
// Reading the kernel is not a snapshot, and other tools (kube-proxy,
// keepalived, an operator) may write meanwhile. A service that vanishes
// between the dump of services and the dump of its destinations is
// treated as gone; when an addition finds its object already there
// (EEXIST), a real server's service gone (ESRCH), or an acknowledgement
// lost (ipvs.ErrOutcomeUnknown), Converge reads the kernel again and plans
// again, a few times at most: a service another tool created meanwhile is
// then reported as foreign (ErrForeignService; with Options.SkipForeign,
// left out), never taken over.
//
// # Ownership
//
// The state record (role "director", format version 2, or 3 while a
// change is under way: see changingVersion) holds the Desired
// state of the last start and lists what lvs-rs created: VIPs, sysctl
// values and IPVS timeouts (each with the value found before), the sync
// daemons it started, services, and within each service the real servers
// that are lvs-rs's. The rules:
//
//   - A service lvs-rs did not create is never edited, deleted or reported.
//     If the config names one that already exists (same protocol, VIP and
//     port, or same fwmark), start refuses with ErrForeignService before
//     any change (exit 1): editing it would silently take over another
//     tool's rule (kube-proxy, keepalived, a hand-made ipvsadm line), and
//     deleting it would drop its connections. The operator deletes it by
//     hand (ipvsadm -D) or drops it from the config; status lists it as
//     drift. The long-running director (Options.SkipForeign) leaves such a
//     service out of its passes instead (Result.Foreign: it warns) and
//     converges the rest; a VIP none of whose services lvs-rs owns or
//     adds is then not announced.
//   - In a service lvs-rs created, a real server someone else added is left
//     alone and not reported, unless the config names it: then lvs-rs edits
//     it to match and it is lvs-rs's from then on (the service is
//     lvs-rs's, and the config is explicit).
//   - When an lvs-rs service is no longer configured (or on stop), lvs-rs
//     deletes it, unless it holds real servers someone else added: then it
//     deletes only its own real servers, keeps the service, warns, and
//     forgets it.
//   - A VIP already on the interface (in any form) is adopted: left as it
//     is, never unbound. A VIP lvs-rs binds gets the first free label
//     IFACE:N (none for IPv6, or when IFACE:N exceeds 15 characters), is
//     /32 or /128, scope global. An IPv6 VIP is bound deprecated
//     (preferred_lft 0, valid_lft forever, no DAD): it is served and
//     answers neighbour solicitations as any address, but is never the
//     source of the director's own traffic, which RFC 6724's longest
//     prefix rule would otherwise make it towards the VIP's /64 (a
//     direct health check to a dr real server, which holds the VIP on
//     lo, then never got its answer). An adopted VIP keeps its
//     lifetimes: lvs-rs owns a VIP by device and prefix and never
//     re-deprecates one (lvs-rs doctor's vip-source check names an
//     IPv6 VIP on the interface that is not deprecated).
//   - Each kernel parameter in Desired.Sysctls is set when it differs,
//     after recording the value found, and restored when no longer wanted
//     or on stop, unless someone changed it since (then it is left and a
//     warning says so); one whose device is gone has nothing to restore.
//     DesiredFrom asks for ip_forward=1 when Config.Director.IPForward,
//     conf/all and conf/IFACE send_redirects=0 when
//     Config.Director.DisableRedirects (a one-armed nat director must not
//     tell real servers to bypass it; the kernel sends redirects when
//     either is 1), and net/ipv4/vs/NAME for director.ipvs_sysctls; the
//     long-running director adds conf/IFACE accept_local=1 with
//     Desired.AcceptLocal for checks through an IPv4 VIP (the kernel
//     accepts a packet from a local source when conf/all or the receiving
//     device's accept_local is 1; conf/all, every interface, is left
//     alone; an earlier lvs-rs's conf/all is restored like any sysctl no
//     longer wanted; IPv6 delivers a packet from the host's own address
//     without it). Keys are checked
//     against pkg/sysctl's closed set, also when the record is loaded.
//   - IPVS timeouts (Desired.Timeouts, host-wide) follow the same rules,
//     one timeout at a time; a timeout read as 0 (IPVS not loaded) is not
//     restored.
//   - A sync daemon (Desired.Sync: at most one master and one backup) is
//     started when none of its state runs, restarted (stop, start) when
//     lvs-rs started the one running and its settings changed, and
//     stopped when no longer wanted or on stop only while it runs as
//     lvs-rs started it (otherwise left, with a warning). A daemon lvs-rs
//     did not start is never stopped: starting the wanted one then fails
//     with EEXIST, naming both.
//   - IPv6 nat: DesiredFrom asks for net/ipv6/conf/all/forwarding=1 when
//     a real server of an IPv6 service uses nat (director.ip_forward is
//     IPv4's): without it the kernel drops the real servers' replies.
//     Turning it on makes every interface a router's, which ignores
//     router advertisements where accept_ra is 1 and at once loses the
//     default routes learned from them; so before writing it the plan
//     sets accept_ra=2 (accept them while forwarding) on conf/default
//     and every interface whose accept_ra is 1 (lo excepted), recorded
//     and restored like any sysctl, and sets it again on a recorded one
//     found back at 1 while lvs-rs's forwarding is on. Forwarding already
//     1 and not lvs-rs's is the operator's router: nothing more is set.
//   - Announce routes (Desired.Announce): every route of the routing
//     table with lvs-rs's route protocol (250 unless configured) is
//     lvs-rs's, as read back from the kernel; the record names the table
//     and protocol. A route is added after the services of its VIP and
//     deleted before anything else is taken away, so a VIP is announced
//     only while it can be served. Another program's routes in that table
//     (another protocol) are never touched.
//   - Firewall marks (Desired.Marks): the nftables table inet lvs_rs is
//     lvs-rs's by its name; it is rebuilt in one transaction when it
//     differs and deleted when no mark is configured or on stop.
//   - After binding a VIP, the director sends one gratuitous ARP (an
//     unsolicited neighbour advertisement for IPv6) so that neighbours
//     holding another machine's MAC for it switch at once; a failure to
//     send is a warning, the VIP stays bound.
//
// # Recovery
//
// Before its first kernel write, every start and stop saves the state
// record with everything the plan will create (its intentions), unless
// the record already lists it. After the last write it reads the kernel
// back (the services, and the real servers of every service the pass
// wrote to; the others are as the pass read them) and saves what lvs-rs
// owns, when that differs from the record. (So a pass with nothing to do
// costs one dump of services and one of real servers per lvs-rs service,
// and writes nothing; with Options.Services naming the services whose
// real servers changed health, a pass reads and changes those only, each
// asked for by its key rather than found in a dump of every service: a
// health transition is one request for its service, one dump of its real
// servers and one UpdateDestination.) What lvs-rs owns is what it
// intended and is present, whatever the kernel's acknowledgements said
// (an acknowledgement lost to a full receive buffer does not orphan a
// service), minus what another tool created first (an addition refused
// with EEXIST). The guarantee: if lvs-rs is killed at any point, or a
// write fails, or acknowledgements are lost, nothing it created is ever
// unrecorded and nothing it did not create is ever recorded as its own,
// except an object another tool creates with the same key between a crash
// and the next run. The next start finishes the job (and exits 0 once the
// kernel matches the config), the next stop removes exactly what lvs-rs
// created and restores the sysctls it changed, and rerunning either after
// another crash is always safe: removing what does not exist is success.
// A definitive failure (EINVAL, a missing scheduler module, EEXIST from
// another tool) fails start with an error naming the object and keeping
// the errno (errors.Is(err, unix.EEXIST) works), after every change that
// does not depend on it (see the executor above); stop continues past
// failures and keeps in the record whatever it could not remove. A record lvs-rs cannot read (a newer format version, a damaged
// file) stops start, stop and status with one line naming the file: run
// stop with the lvs-rs that wrote it, or remove what the file lists by
// hand (ipvsadm -D, ip addr del, the sysctl's prior value) and delete it.
//
// # Status JSON
//
// Report marshals to:
//
//	applied          bool    a state record exists (false: nothing else is filled)
//	interface        string  the director interface
//	ipvs_version     string  the kernel's IPVS version, "1.2.1"
//	conn_table_size  number  the IPVS connection hash table size
//	vips[]           the configured VIPs, then lvs-rs's that are not configured:
//	  address        string  the VIP
//	  dev            string  the device
//	  label          string  its label when present and labelled
//	  present        bool    on the device now
//	  owned          bool    bound by lvs-rs (false: found there, left alone)
//	sysctls[]        each parameter wanted or changed by lvs-rs, in key order:
//	  key            string  "net/ipv4/ip_forward", "net/ipv4/conf/eth0/send_redirects", "net/ipv4/vs/sloppy_tcp"
//	  value          string  now ("" when its device is gone)
//	  want           string  the wanted value (absent: no longer wanted)
//	  prior, wrote   string  the value before lvs-rs set it, and what it wrote (absent: not set by lvs-rs)
//	timeouts[]       each IPVS timeout wanted or changed by lvs-rs (tcp, tcp_fin, udp):
//	  name           string  "tcp", "tcp_fin" or "udp"
//	  value          number  seconds now (0: IPVS not loaded)
//	  want           number  seconds wanted (absent: no longer wanted)
//	  prior, wrote   number  seconds before lvs-rs set it, and what it wrote (absent: not set by lvs-rs)
//	sync[]           each sync daemon wanted or started by lvs-rs (master, then backup):
//	  state          string  "master" or "backup"
//	  interface, syncid, group, port, ttl, maxlen  the running daemon's settings, else the wanted ones
//	  wanted         bool    the config asks for it
//	  running        bool    a daemon of this state runs
//	  owned          bool    lvs-rs started the one running
//	services[]       lvs-rs's services (configured ones in config order, then
//	                 lvs-rs's no longer configured); never a foreign one:
//	  family         string  "inet" or "inet6"
//	  protocol       string  "tcp", "udp" or "sctp" (absent for fwmark)
//	  address, port          the VIP and port (absent for fwmark)
//	  fwmark         number  the firewall mark (absent otherwise)
//	  scheduler      string  rr, wrr, ...
//	  flags          string  other service flags, comma-separated ("ops", "sh-port",
//	                         "mh-fallback,mh-port": named after mh for an mh service)
//	  persistence    number  timeout in seconds, 0 = off
//	  persistence_netmask number prefix length, when persistent
//	  present        bool    in the kernel now
//	  stats          object  counters, below
//	  real_servers[] the configured real servers, then lvs-rs's others:
//	    address, port        the real server
//	    forward      string  "route" (dr), "tunnel" (tun) or "masq" (nat)
//	    weight       number
//	    upper_threshold, lower_threshold  number  connection limits (absent: none)
//	    tunnel       string  tun only: "ipip", "gue port 6080 csum", "gre", ...
//	    present      bool
//	    active_conns, inactive_conns, persistent_conns  number
//	    stats        object
//	announce[]       the announce routes wanted or lvs-rs's, by table and VIP:
//	  prefix         string  "10.0.0.100/32"
//	  table, protocol number the routing table and route protocol
//	  wanted         bool    the VIP can serve (Desired.Announce.VIPs)
//	  present        bool    in the kernel now
//	marks[]          the nftables mark rules wanted or in table inet lvs_rs:
//	  rule           string  "tcp 10.0.0.100:80 mark 10"
//	  wanted, present bool
//	drift[]          string  one line per difference; empty when converged (a
//	                 sysctl, timeout or sync daemon that differs from the config, or
//	                 lvs-rs's no longer wanted, is one line each)
//
// stats (64-bit counters since creation and the estimator's rates per
// second): conns, inpkts, outpkts, inbytes, outbytes, cps, inpps, outpps,
// inbps, outbps.
package director
