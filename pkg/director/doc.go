// Package director is lvs-rs's director role: it binds the VIPs on the
// director interface, sets net/ipv4/ip_forward when a real server uses
// nat, and programs the kernel's IPVS table with the configured virtual
// services and real servers, converging in place.
//
// # Decide, then do
//
// Start reads the kernel once (observe: one dump of the IPVS services, the
// destinations of lvs-rs's own services, the addresses on the interface,
// ip_forward), asks the pure planner Plan for the changes, and applies
// them with an executor. Plan orders them: sysctl writes, VIP binds,
// service and real-server additions, edits, then real-server and service
// deletions, VIP unbinds and sysctl restorations. Edits never delete: a
// changed scheduler, persistence timeout or netmask is an UpdateService,
// a changed weight or forwarding method an UpdateDestination, so
// established connections and counters survive. A changed service key
// (protocol, VIP, port, fwmark) or real-server key (address, port) is an
// addition of the new one followed by a deletion of the old.
//
// IPVS calls go through the Kernel interface (implemented by *ipvs.Client);
// consecutive IPVS changes are handed to Kernel.Apply as one batch, which
// the client pipelines (many requests per sendmsg; see pkg/ipvs). The
// availability of IPVS is checked before any change: a
// kernel without it (after one "modprobe ip_vs" attempt on start) fails
// with ErrNoIPVS and nothing, not even a VIP, is changed.
//
// # Ownership
//
// The state record (role "director") lists what lvs-rs created: VIPs,
// sysctl values (with the value found before), services, and within each
// service the real servers that are lvs-rs's. The rules:
//
//   - A service lvs-rs did not create is never edited, deleted or reported.
//     If the config names one that already exists (same protocol, VIP and
//     port, or same fwmark), start refuses with ErrForeignService before
//     any change (exit 1): editing it would silently take over another
//     tool's rule (kube-proxy, keepalived, a hand-made ipvsadm line), and
//     deleting it would drop its connections. The operator deletes it by
//     hand (ipvsadm -D) or drops it from the config; status lists it as
//     drift.
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
//     /32 or /128, scope global.
//   - ip_forward is set to 1 when Config.Director.IPForward and restored
//     when no longer wanted or on stop, unless someone changed it since
//     (then it is left and a warning says so). lvs-rs never sets IPv6
//     forwarding: net/ipv6/conf/all/forwarding=1 also stops router
//     advertisements from configuring every interface, which is the
//     operator's call; IPv6 nat services need it set by the operator.
//
// Start records its intentions before the first change (so a crash midway
// leaves nothing unrecorded; removing what does not exist is success) and
// records the outcome after the last. A failure stops start at that
// change; the error names the object and keeps the errno
// (errors.Is(err, unix.EEXIST) works). Stop continues past failures and
// keeps in the record whatever it could not remove.
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
//	sysctls[]        ip_forward, when wanted or changed by lvs-rs:
//	  key            string  "net/ipv4/ip_forward"
//	  value          string  now
//	  want           string  "1" when the config wants forwarding
//	  prior, wrote   string  the value before lvs-rs set it, and what it wrote
//	services[]       lvs-rs's services (configured ones in config order, then
//	                 lvs-rs's no longer configured); never a foreign one:
//	  family         string  "inet" or "inet6"
//	  protocol       string  "tcp", "udp" or "sctp" (absent for fwmark)
//	  address, port          the VIP and port (absent for fwmark)
//	  fwmark         number  the firewall mark (absent otherwise)
//	  scheduler      string  rr, wrr, ...
//	  flags          string  other service flags ("ops", "sh-port", ...)
//	  persistence    number  timeout in seconds, 0 = off
//	  persistence_netmask number prefix length, when persistent
//	  present        bool    in the kernel now
//	  stats          object  counters, below
//	  real_servers[] the configured real servers, then lvs-rs's others:
//	    address, port        the real server
//	    forward      string  "route" (dr), "tunnel" (tun) or "masq" (nat)
//	    weight       number
//	    present      bool
//	    active_conns, inactive_conns, persistent_conns  number
//	    stats        object
//	drift[]          string  one line per difference; empty when converged
//
// stats (64-bit counters since creation and the estimator's rates per
// second): conns, inpkts, outpkts, inbytes, outbytes, cps, inpps, outpps,
// inbps, outbps.
package director
