// Package config owns the lvs-rs configuration: the YAML file shared by
// every node of a cluster, its validation with FILE:LINE:COLUMN messages,
// and the resolved, comparable form that the planners consume.
//
// Nothing in this package touches the kernel. A Config returned by Load or
// Parse is fully resolved: every default is filled in, every real server
// carries its own forwarding mode, weight and port.
//
// # Entry points
//
// Load and Parse read the file; RealServerFromFlags and DirectorFromFlags
// build a Config from the command line when there is no file, with the
// same defaults and checks (their messages name the flag instead of a
// position). Config.RealServerVIPs tells a real server which VIPs to bind;
// Config.CheckDirector tells a director whether the file is enough for it.
//
// # Problems
//
// Every problem is reported, not only the first, as Errors sorted by
// position; each renders as "FILE:LINE:COLUMN: field: problem", the field
// being a path such as virtual_servers[0].real_servers[1].weight. A file
// that cannot be read gives a plain wrapped error instead (errors.Is with
// fs.ErrNotExist works). A YAML syntax error is located at the line
// yaml.v3 names, column 1, except for its parser stage's errors (a bad
// indentation, an unclosed flow), which yaml.v3 puts at the start of the
// enclosing block: those are located at the offending line (the first
// line at whose end yaml.v3 gives the same error) and its first character,
// or where the fast path stopped on it; so are a tab in the indentation
// (at the tab) and a bad escape on a later line of a quoted scalar,
// which yaml.v3 puts at the line where the scalar before them starts.
// Control characters, invalid UTF-8 and the line breaks editors do not
// show (U+0085, U+2028, U+2029, which YAML reads as line breaks) are
// found before parsing, with their exact position.
//
// # Rules where the product contract is silent
//
//   - Types are strict: an integer field takes a YAML integer (80, 0x50,
//     0o120, 1_000), not "80" or 80.0; ip_forward takes true or false, not
//     yes. An integer with a leading zero (0443, 010, 0080) is refused:
//     yaml.v3 reads 0443 as octal 291.
//     Names (protocol, scheduler, mode) are lower case, as ipvsadm's.
//   - An empty file (only whitespace and comments, or a lone null) is
//     refused at 1:1: a file caught between being truncated and
//     rewritten (a reload may read it so) must not unbind every VIP.
//     Empty or absent director, realserver, virtual_servers or
//     real_servers sections are valid: "nothing configured", so no
//     services is written virtual_servers: []. A service with no real
//     servers is valid (IPVS accepts it; it serves nothing).
//   - Only one YAML document per file; trailing empty documents are fine.
//   - Anchors, aliases and merge keys (<<) work. Top-level keys starting
//     with "x-" are ignored, to hold anchors. A file may describe at most
//     100000 virtual and real servers in all and a bounded amount of
//     merging, counted after expanding aliases, and at most 1000 problems
//     are listed: a small file can otherwise expand to millions.
//   - Addresses are plain IPv4 or IPv6 addresses. Refused, with a hint:
//     a zone (fe80::1%eth0; IPVS has no zones), but on a link-local IPv6
//     realserver.gateway, which must name its interface so and keeps it
//     (RealServer.Gateways[i].Zone()), an IPv4-mapped IPv6
//     address (::ffff:10.0.0.1 is refused, not normalized, because its
//     family is ambiguous: write 10.0.0.1), the unspecified address,
//     multicast, 255.255.255.255, a prefix length or a port. A VIP must not
//     be a loopback address either (127.0.0.0/8, ::1), nor a real server
//     or sorry server an IPv6 link-local one (fe80::/10): the kernel
//     refuses it with EINVAL, after start has bound the VIP. Nor may any
//     of them be in 0.0.0.0/8, which the kernel never routes to and
//     refuses for a real server with EINVAL.
//   - vip is required, also for fwmark services (the VIP is still bound).
//     port is required unless fwmark is set; with fwmark, port and
//     protocol must be absent (the kernel ignores them). A fwmark service
//     resolves to Port 0 and Protocol tcp; compare services with Key. The
//     fwmarks ProbeMarkBase..ProbeMarkBase+ProbeMarks-1 (0x4c560000..
//     0x4c56ffff) are refused: they are the probes of via: vip checks.
//   - Two services with the same key are refused; for fwmark services the
//     key is (family, mark), whatever their VIPs. The message points at
//     the second and names the line of the first.
//   - persistence is 0..2678400 seconds (31 days, ipvsadm's limit).
//     persistence_netmask is a prefix length (1..32 or 1..128: the
//     kernel refuses an IPv6 /0, the director applies no IPv4 /0) or,
//     for IPv4, a contiguous dotted mask; it defaults to 32 or 128 and
//     is an error without persistence (where it would do nothing).
//   - A real server's port: for nat it maps the port (0 means the
//     service's port); for dr and tun it must equal the service's port
//     (under a fwmark service, be absent or 0). A real server may appear
//     once per service, identified by address and resolved port, so one
//     address with two nat ports is two real servers. Real servers of one
//     service may mix modes.
//   - director.interface follows the kernel's rules for a device name:
//     1 to 15 bytes, not "." or "..", no '/', ':' (eth0:0 is an address
//     label, which lvs-rs creates itself) or whitespace. Dots (eth0.100)
//     are fine. It is optional in the file, because real servers share it;
//     CheckDirector requires it whenever there is a virtual server.
//   - director.ip_forward, when absent, is true iff a real server of an
//     IPv4 service uses nat (ip_forward is IPv4's; an IPv6-only nat config
//     leaves it alone); an explicit false is kept (the operator manages
//     forwarding).
//   - mode tun (IPv4-in-IPv4) is refused for an IPv6 service, on the
//     service and on any of its real servers.
//   - A host listed as a real server of one VIP both in dr and in tun mode
//     is an error of RealServerVIPs (the VIP would go on lo and tunl0);
//     nat next to dr or tun is not.
//   - realserver.gateway is one address or a list of at most one IPv4 and
//     one IPv6 address (gateway: [10.0.0.1, 2001:db8::1]); two of one
//     family, or an empty list, are refused at the second (at the list).
//     RealServer.Gateways holds them, the IPv4 one first. Each must be of
//     the family of a nat VIP of the file when it has any; a real server
//     routes through the gateway of each family it serves nat VIPs of
//     and leaves the other unused. --gateway (RealServerFromFlags,
//     ParseGateways) may be given twice or as a comma list, by the same
//     rules; GatewayProblem checks each against one host's bindings.
//   - A sorry server's host counts as a
//     real server of its service in the service's mode (the director adds
//     it so), in RealServerVIPs and for ip_forward's default.
//
// # The long-running director and the kernel features beyond the basics
//
//   - Durations are Go's syntax (2s, 500ms, 1h30m) and need a unit;
//     timeouts (IPVS's tcp, tcp_fin, udp) must be whole seconds.
//   - director: reconcile_interval 1s..24h (10s); metrics ADDRESS:PORT
//     (absent: off); send_redirects, when absent, is turned off
//     (Director.DisableRedirects) iff ip_forward's default would be on;
//     ipvs_sysctls take the names of sysctl.IPVSParams, each in the
//     kernel's range; sync needs interface and state, and defaults to the
//     kernel's group 224.0.0.81, port 8848, TTL 1; announce needs a table
//     other than 0 and 253..255, protocol 5..255 (250, unassigned; 3
//     boot and 4 static are other programs').
//   - check: type is required (tcp, http, https, dns, exec, agent); port
//     defaults to the real server's (required for agent, and for a real
//     server without a port: of a fwmark service, or of a port-0 one
//     unless nat maps it); interval 100ms..1h (2s), timeout less than
//     interval (1s), rise and fall 1..100 (2 and 3), via direct (vip only
//     for tcp, http, https and dns checks of dr and tun real servers);
//     http and https default to path / and expect_status 200-399; dns needs query;
//     exec needs command, an absolute program path, with only the
//     {address} and {port} placeholders. A field of another type is an
//     error. A real server's check overrides the service's field by field
//     (VirtualServer.CheckFor): a different type keeps port, via,
//     interval, timeout, rise and fall and drops the rest; every rule
//     applies to the merged check, reported where the field was written.
//   - on_failure quiesce (default) or remove; drain_timeout 0..720h (5m);
//     slow_start 0..1h (0); sorry_server of the VIP's family, not one of
//     its real servers; mark only for fwmark services, each (protocol,
//     port) once and not the key of another service or another service's
//     mark on the same VIP; scheduler_flags mh-* only with mh, sh-* only
//     with sh, ops only for udp and fwmark services.
//   - A check (the service's or a real server's own) with on_failure
//     quiesce (the default) is refused under dh, sh without sh-fallback
//     and mh without mh-fallback: those keep hashing new connections to a
//     real server of weight 0, which the kernel then drops, so quiescing
//     would take nothing out of rotation. The problem is at on_failure
//     when written, else at the check; the fix is the fallback flag or
//     on_failure remove.
//   - upper_threshold and lower_threshold 0..4294967295, lower at most
//     upper and only with it; tunnel only on tun real servers: ipip
//     (default), gue (port required) or gre, with at most one flag, csum
//     (gue, gre) or remcsum (gue).
package config
