package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// wave2BadCases are configurations with a problem in a field of the
// long-running director or of the kernel features beyond the first
// release, with the exact messages.
func wave2BadCases() []struct {
	name string
	doc  string
	want []string
} {
	return []struct {
		name string
		doc  string
		want []string
	}{
		{"reconcile_interval without unit", "director:\n  reconcile_interval: 10\n", []string{
			`f.yaml:2:23: director.reconcile_interval: "10" is not a duration; a number needs a unit, such as 10s`,
		}},
		{"reconcile_interval too short", "director:\n  reconcile_interval: 500ms\n", []string{
			`f.yaml:2:23: director.reconcile_interval: 500ms is outside 1s..24h`,
		}},
		{"reconcile_interval not a duration", "director:\n  reconcile_interval: fast\n", []string{
			`f.yaml:2:23: director.reconcile_interval: "fast" is not a duration; write a number with a unit, such as 2s, 500ms or 5m`,
		}},
		{"reconcile_interval too long", "director:\n  reconcile_interval: 25h\n", []string{
			`f.yaml:2:23: director.reconcile_interval: 25h is outside 1s..24h`,
		}},
		{"metrics without address", "director:\n  metrics: 9597\n", []string{
			`f.yaml:2:12: director.metrics: "9597" is not an ADDRESS:PORT such as 127.0.0.1:9597 or [::1]:9597`,
		}},
		{"metrics with a host name", "director:\n  metrics: localhost:9597\n", []string{
			`f.yaml:2:12: director.metrics: "localhost:9597" is not an ADDRESS:PORT such as 127.0.0.1:9597 or [::1]:9597`,
		}},
		{"metrics port 0", "director:\n  metrics: 127.0.0.1:0\n", []string{
			`f.yaml:2:12: director.metrics: "127.0.0.1:0": the port must be 1..65535`,
		}},
		{"metrics with a zone", "director:\n  metrics: \"[fe80::1%eth0]:9597\"\n", []string{
			`f.yaml:2:12: director.metrics: "[fe80::1%eth0]:9597": the address must be a plain unicast address (0.0.0.0 or [::] for every address)`,
		}},
		{"send_redirects not a bool", "director:\n  send_redirects: no\n", []string{
			`f.yaml:2:19: director.send_redirects: must be true or false, got "no"`,
		}},
		{"ipvs_sysctls unknown name", "director:\n  ipvs_sysctls: {expire_nodest_con: 1}\n", []string{
			`f.yaml:2:18: director.ipvs_sysctls.expire_nodest_con: unknown key; did you mean "expire_nodest_conn"?`,
		}},
		{"ipvs_sysctls out of range", "director:\n  ipvs_sysctls: {conn_reuse_mode: 3, sloppy_tcp: -1, secure_tcp: 4, expire_nodest_conn: \"1\"}\n", []string{
			`f.yaml:2:35: director.ipvs_sysctls.conn_reuse_mode: 3 is outside 0..2`,
			`f.yaml:2:50: director.ipvs_sysctls.sloppy_tcp: -1 is outside 0..1`,
			`f.yaml:2:66: director.ipvs_sysctls.secure_tcp: 4 is outside 0..3`,
			`f.yaml:2:89: director.ipvs_sysctls.expire_nodest_conn: must be an integer, got "1"`,
		}},
		{"ipvs_sysctls a list", "director:\n  ipvs_sysctls: [expire_nodest_conn]\n", []string{
			`f.yaml:2:17: director.ipvs_sysctls: must be a mapping with the keys backup_only, cache_bypass, conn_reuse_mode, conntrack, drop_entry, drop_packet, expire_nodest_conn, expire_quiescent_template, ignore_tunneled, nat_icmp_send, pmtu_disc, run_estimation, schedule_icmp, secure_tcp, sloppy_sctp, sloppy_tcp, snat_reroute, sync_persist_mode, sync_retries, sync_version, got a list`,
		}},
		{"timeouts bad values", "director:\n  timeouts: {tcp: 900, tcp_fin: 1.5s, udp: 0s, icmp: 10s}\n", []string{
			`f.yaml:2:19: director.timeouts.tcp: "900" is not a duration; a number needs a unit, such as 900s`,
			`f.yaml:2:33: director.timeouts.tcp_fin: 1.5s is not a whole number of seconds (the kernel counts in seconds)`,
			`f.yaml:2:44: director.timeouts.udp: 0s is outside 1s..576h`,
			`f.yaml:2:48: director.timeouts.icmp: unknown key; did you mean "tcp"?`,
		}},
		{"timeouts too long", "director:\n  timeouts: {tcp: 577h}\n", []string{
			`f.yaml:2:19: director.timeouts.tcp: 577h is outside 1s..576h`,
		}},
		{"sync empty", "director:\n  sync: {}\n", []string{
			`f.yaml:2:9: director.sync.interface: missing (the sync daemon sends and receives on it)`,
			`f.yaml:2:9: director.sync.state: missing (master, backup or both)`,
		}},
		{"sync bad state and interface", "director:\n  sync: {state: primary, interface: \"eth1:0\"}\n", []string{
			`f.yaml:2:17: director.sync.state: unknown sync state "primary"; valid sync states are master, backup, both`,
			`f.yaml:2:37: director.sync.interface: "eth1:0" is an address label, not an interface; write "eth1" (lvs-rs adds the eth1:N labels itself)`,
		}},
		{"sync out of range", "director:\n  sync: {interface: eth1, state: both, syncid: 256, maxlen: 0, group: 10.0.0.1, port: 0, ttl: 0}\n", []string{
			`f.yaml:2:48: director.sync.syncid: 256 is outside 0..255`,
			`f.yaml:2:61: director.sync.maxlen: 0 is outside 1..65507 bytes`,
			`f.yaml:2:71: director.sync.group: "10.0.0.1" is not a multicast address (such as 224.0.0.81 or ff02::81)`,
			`f.yaml:2:87: director.sync.port: 0 is outside 1..65535`,
			`f.yaml:2:95: director.sync.ttl: 0 is outside 1..255`,
		}},
		{"sync mapped group", "director:\n  sync: {interface: eth1, state: backup, group: \"::ffff:224.0.0.81\"}\n", []string{
			`f.yaml:2:49: director.sync.group: "::ffff:224.0.0.81" is not a multicast address (such as 224.0.0.81 or ff02::81)`,
		}},
		{"sync a scalar", "director:\n  sync: eth1\n", []string{
			`f.yaml:2:9: director.sync: must be a mapping with the keys interface, state, syncid, maxlen, group, port, ttl, got "eth1"`,
		}},
		{"announce empty", "director:\n  announce: {}\n", []string{
			`f.yaml:2:13: director.announce.table: missing (the routing table the BGP daemon learns the VIP routes from)`,
		}},
		{"announce protocol boot", "director:\n  announce: {table: 100, protocol: 3}\n", []string{
			"f.yaml:2:36: director.announce.protocol: 3 is boot, the protocol `ip route add` gives every route by default; lvs-rs knows its routes by their protocol and deletes them by it, so pick one no other program uses (default 250)",
		}},
		{"announce protocol static", "director:\n  announce: {table: 100, protocol: 4}\n", []string{
			"f.yaml:2:36: director.announce.protocol: 4 is static, the protocol of routes that systemd-networkd, NetworkManager and `ip route add proto static` add; lvs-rs knows its routes by their protocol and deletes them by it, so pick one no other program uses (default 250)",
		}},
		{"announce reserved table", "director:\n  announce: {table: 254}\n", []string{
			`f.yaml:2:21: director.announce.table: 254 is a reserved table (253 default, 254 main, 255 local); pick a table of its own`,
		}},
		{"announce zero", "director:\n  announce: {table: 0, protocol: 2}\n", []string{
			`f.yaml:2:21: director.announce.table: 0 is outside 1..4294967295`,
			`f.yaml:2:34: director.announce.protocol: 2 is outside 5..255 (0..2 are the kernel's own; 3, boot, and 4, static, are what other programs give their routes)`,
		}},
		{"announce too big", "director:\n  announce: {table: 4294967296, protocol: 256}\n", []string{
			`f.yaml:2:21: director.announce.table: 4294967296 is outside 1..4294967295`,
			`f.yaml:2:43: director.announce.protocol: 256 is outside 5..255 (0..2 are the kernel's own; 3, boot, and 4, static, are what other programs give their routes)`,
		}},
		{"check without type", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    check: {port: 80}\n", []string{
			`f.yaml:4:12: virtual_servers[0].check.type: missing (one of tcp, http, https, dns, exec, agent)`,
		}},
		{"check fields out of range", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    check: {type: icmp, port: 0, via: nat, interval: 50ms, timeout: 2h, rise: 0, fall: 101}\n", []string{
			`f.yaml:4:19: virtual_servers[0].check.type: unknown check type "icmp"; valid check types are tcp, http, https, dns, exec, agent`,
			`f.yaml:4:31: virtual_servers[0].check.port: 0 is outside 1..65535`,
			`f.yaml:4:39: virtual_servers[0].check.via: unknown check path "nat"; valid check paths are direct, vip`,
			`f.yaml:4:54: virtual_servers[0].check.interval: 50ms is outside 100ms..1h`,
			`f.yaml:4:69: virtual_servers[0].check.timeout: 2h is outside 10ms..1h`,
			`f.yaml:4:79: virtual_servers[0].check.rise: 0 is outside 1..100`,
			`f.yaml:4:88: virtual_servers[0].check.fall: 101 is outside 1..100`,
		}},
		{"check default timeout not below interval", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    check: {type: tcp, interval: 1s}\n", []string{
			`f.yaml:4:34: virtual_servers[0].check.interval: timeout 1s must be less than interval 1s (the default timeout); set a longer interval or a shorter timeout`,
		}},
		{"check timeout not below interval", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    check: {type: tcp, interval: 1s, timeout: 1s}\n", []string{
			`f.yaml:4:47: virtual_servers[0].check.timeout: timeout 1s must be less than interval 1s`,
		}},
		{"check fields of other types", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    check: {type: tcp, path: /x, host: h, expect_status: \"200\", expect_body: ok, query: q, command: [/bin/true]}\n", []string{
			`f.yaml:4:30: virtual_servers[0].check.path: only for http and https checks; this check is tcp`,
			`f.yaml:4:40: virtual_servers[0].check.host: only for http and https checks; this check is tcp`,
			`f.yaml:4:58: virtual_servers[0].check.expect_status: only for http and https checks; this check is tcp`,
			`f.yaml:4:78: virtual_servers[0].check.expect_body: only for http and https checks; this check is tcp`,
			`f.yaml:4:89: virtual_servers[0].check.query: only for dns checks; this check is tcp`,
			`f.yaml:4:101: virtual_servers[0].check.command: only for exec checks; this check is tcp`,
		}},
		{"check http fields", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    check: {type: http, path: healthz, host: \"a b\", expect_status: \"200-\", expect_body: \"\"}\n", []string{
			`f.yaml:4:31: virtual_servers[0].check.path: "healthz" must start with '/'`,
			`f.yaml:4:46: virtual_servers[0].check.host: "a b" contains whitespace`,
			`f.yaml:4:68: virtual_servers[0].check.expect_status: "200-" is not a list of status codes and ranges such as "200-399" or "200,204"`,
			`f.yaml:4:89: virtual_servers[0].check.expect_body: must not be empty`,
		}},
		{"check status below 100", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    check: {type: http, expect_status: \"99-200\"}\n", []string{
			`f.yaml:4:40: virtual_servers[0].check.expect_status: "99-200": status codes are 100..599`,
		}},
		{"check status range empty", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    check: {type: http, expect_status: \"300-200\"}\n", []string{
			`f.yaml:4:40: virtual_servers[0].check.expect_status: "300-200": the range is empty (write LOW-HIGH)`,
		}},
		{"check dns without query", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    check: {type: dns}\n", []string{
			`f.yaml:4:12: virtual_servers[0].check.query: missing (a dns check needs the name to ask for)`,
		}},
		{"check exec without command", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    check: {type: exec}\n", []string{
			`f.yaml:4:12: virtual_servers[0].check.command: missing (an exec check needs the program to run)`,
		}},
		{"check exec empty command", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    check: {type: exec, command: []}\n", []string{
			`f.yaml:4:34: virtual_servers[0].check.command: must name at least the program to run`,
		}},
		{"check exec bad command", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    check: {type: exec, command: [check, \"{addr}\", \"{port\"]}\n", []string{
			`f.yaml:4:35: virtual_servers[0].check.command[0]: "check": the program must be an absolute path (no $PATH lookup)`,
			`f.yaml:4:42: virtual_servers[0].check.command[1]: unknown placeholder "{addr}"; the placeholders are {address} and {port}`,
			`f.yaml:4:52: virtual_servers[0].check.command[2]: unknown placeholder "{port"; the placeholders are {address} and {port}`,
		}},
		{"check exec via vip", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    check: {type: exec, command: [/bin/c], via: vip}\n", []string{
			`f.yaml:4:49: virtual_servers[0].check.via: vip is only for tcp, http, https and dns checks; this check is exec`,
		}},
		{"check exec command a string", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    check: {type: exec, command: /bin/check}\n", []string{
			`f.yaml:4:34: virtual_servers[0].check.command: must be a list of arguments, got "/bin/check"`,
		}},
		{"check exec command item a list", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    check: {type: exec, command: [/bin/check, [a]]}\n", []string{
			`f.yaml:4:47: virtual_servers[0].check.command[1]: must be a string, got a list`,
		}},
		{"check agent without port", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    check: {type: agent}\n", []string{
			`f.yaml:4:12: virtual_servers[0].check.port: missing (an agent check needs the port its agent listens on)`,
		}},
		{"check of a fwmark service without port", "virtual_servers:\n  - vip: 10.0.0.1\n    fwmark: 1\n    check: {type: tcp}\n    real_servers: [{address: 10.0.0.2}, {address: 10.0.0.3}]\n", []string{
			`f.yaml:4:12: virtual_servers[0].check.port: missing (a real server of a fwmark service has no port of its own to check)`,
		}},
		{"check a list", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    check: [tcp]\n", []string{
			`f.yaml:4:12: virtual_servers[0].check: must be a mapping with the keys type, port, via, interval, timeout, rise, fall, path, host, expect_status, expect_body, query, command, got a list`,
		}},
		{"check unknown key", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    check: {type: tcp, colour: red}\n", []string{
			`f.yaml:4:24: virtual_servers[0].check.colour: unknown key; valid keys are type, port, via, interval, timeout, rise, fall, path, host, expect_status, expect_body, query, command`,
		}},
		{"override without service check", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    real_servers:\n      - {address: 10.0.0.2, check: {path: /x}}\n", []string{
			`f.yaml:5:36: virtual_servers[0].real_servers[0].check.type: missing (the service has no check to override; one of tcp, http, https, dns, exec, agent)`,
		}},
		{"overrides checked merged", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    check: {type: http, path: /a, interval: 3s, timeout: 2s}\n    real_servers:\n      - {address: 10.0.0.2, check: {interval: 1s}}\n      - {address: 10.0.0.3, check: {type: tcp, path: /b}}\n      - {address: 10.0.0.4, check: {type: dns}}\n", []string{
			`f.yaml:6:47: virtual_servers[0].real_servers[0].check.interval: timeout 2s must be less than interval 1s`,
			`f.yaml:7:54: virtual_servers[0].real_servers[1].check.path: only for http and https checks; this check is tcp`,
			`f.yaml:8:36: virtual_servers[0].real_servers[2].check.query: missing (a dns check needs the name to ask for)`,
		}},
		{"override of a bad service check", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    check: {type: http, interval: 3, timeout: x}\n    real_servers:\n      - {address: 10.0.0.2, check: {interval: 1s}}\n", []string{
			`f.yaml:4:35: virtual_servers[0].check.interval: "3" is not a duration; a number needs a unit, such as 3s`,
			`f.yaml:4:47: virtual_servers[0].check.timeout: "x" is not a duration; write a number with a unit, such as 2s, 500ms or 5m`,
		}},
		{"override to agent without port", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    check: {type: tcp}\n    real_servers:\n      - {address: 10.0.0.2, check: {type: agent}}\n", []string{
			`f.yaml:6:36: virtual_servers[0].real_servers[0].check.port: missing (an agent check needs the port its agent listens on)`,
		}},
		{"override with a bad field", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    check: {type: tcp}\n    real_servers:\n      - {address: 10.0.0.2, check: {rise: 0}}\n", []string{
			`f.yaml:6:43: virtual_servers[0].real_servers[0].check.rise: 0 is outside 1..100`,
		}},
		{"service timings", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    on_failure: drop\n    drain_timeout: 721h\n    slow_start: 2h\n", []string{
			`f.yaml:4:17: virtual_servers[0].on_failure: unknown failure action "drop"; valid failure actions are quiesce, remove`,
			`f.yaml:5:20: virtual_servers[0].drain_timeout: 721h is outside 0s..720h`,
			`f.yaml:6:17: virtual_servers[0].slow_start: 2h is outside 0s..1h`,
		}},
		{"service timings negative or unitless", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    drain_timeout: -1s\n    slow_start: 1\n", []string{
			`f.yaml:4:20: virtual_servers[0].drain_timeout: -1s is outside 0s..720h`,
			`f.yaml:5:17: virtual_servers[0].slow_start: "1" is not a duration; a number needs a unit, such as 1s`,
		}},
		{"sorry_server of the other family", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    sorry_server: 2001:db8::1\n", []string{
			`f.yaml:4:19: virtual_servers[0].sorry_server: 2001:db8::1 is IPv6 but the vip 10.0.0.1 is IPv4; the sorry server must be of the service's family`,
		}},
		{"sorry_server is a real server", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    sorry_server: 10.0.0.2\n    real_servers: [{address: 10.0.0.2}]\n", []string{
			`f.yaml:4:19: virtual_servers[0].sorry_server: 10.0.0.2 is also a real server of this service; the sorry server stands in when none is up`,
		}},
		{"sorry_server with a prefix", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    sorry_server: 10.0.0.2/24\n", []string{
			`f.yaml:4:19: virtual_servers[0].sorry_server: "10.0.0.2/24" is not an IP address (write the address alone, without a prefix length)`,
		}},
		{"mark without fwmark", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    mark: [{port: 80}]\n", []string{
			`f.yaml:4:11: virtual_servers[0].mark: only for a fwmark service (it says which packets get the mark); set fwmark or remove it`,
		}},
		{"mark items", "virtual_servers:\n  - vip: 10.0.0.1\n    fwmark: 1\n    mark: [{protocol: icmp, port: 80}, {protocol: udp}, {port: 0}, {port: 443}, {protocol: tcp, port: 443}]\n", []string{
			`f.yaml:4:23: virtual_servers[0].mark[0].protocol: unknown protocol "icmp"; valid protocols are tcp, udp, sctp`,
			`f.yaml:4:40: virtual_servers[0].mark[1].port: missing (every mark needs one)`,
			`f.yaml:4:64: virtual_servers[0].mark[2].port: 0 is outside 1..65535`,
			`f.yaml:4:81: virtual_servers[0].mark[4]: duplicate mark tcp port 443 (first at line 4)`,
		}},
		{"mark a mapping", "virtual_servers:\n  - vip: 10.0.0.1\n    fwmark: 1\n    mark: {port: 80}\n", []string{
			`f.yaml:4:11: virtual_servers[0].mark: must be a list of {protocol, port}, got a mapping`,
		}},
		{"mark taken by a service", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n  - vip: 10.0.0.1\n    fwmark: 1\n    mark: [{port: 80}]\n", []string{
			`f.yaml:6:11: virtual_servers[1].mark: marks tcp 10.0.0.1:80, which virtual_servers[0] receives as a service of its own at line 2`,
		}},
		{"mark taken by another fwmark service", "virtual_servers:\n  - vip: 10.0.0.1\n    fwmark: 1\n    mark: [{port: 80}]\n  - vip: 10.0.0.1\n    fwmark: 2\n    mark: [{protocol: udp, port: 53}, {port: 80}]\n", []string{
			`f.yaml:7:11: virtual_servers[1].mark: marks tcp 10.0.0.1:80, which virtual_servers[0].mark marks too`,
		}},
		{"scheduler_flags mismatched", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    scheduler_flags: [mh-port, sh-fallback, ops, fast]\n", []string{
			`f.yaml:4:23: virtual_servers[0].scheduler_flags[0]: mh-port is a flag of the mh scheduler; this service uses wlc`,
			`f.yaml:4:32: virtual_servers[0].scheduler_flags[1]: sh-fallback is a flag of the sh scheduler; this service uses wlc`,
			`f.yaml:4:45: virtual_servers[0].scheduler_flags[2]: ops (one-packet scheduling) is only for udp and fwmark services; this one is tcp`,
			`f.yaml:4:50: virtual_servers[0].scheduler_flags[3]: unknown scheduler flag "fast"; valid scheduler flags are mh-port, mh-fallback, sh-port, sh-fallback, ops`,
		}},
		{"scheduler_flags twice", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    scheduler: mh\n    scheduler_flags: [mh-port, mh-port]\n", []string{
			`f.yaml:5:32: virtual_servers[0].scheduler_flags[1]: mh-port is listed twice`,
		}},
		{"scheduler_flags a scalar", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    scheduler_flags: mh-port\n", []string{
			`f.yaml:4:22: virtual_servers[0].scheduler_flags: must be a list of scheduler flags, got "mh-port"`,
		}},
		{"thresholds", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    real_servers:\n      - {address: 10.0.0.2, upper_threshold: -1, lower_threshold: 4294967296}\n      - {address: 10.0.0.3, lower_threshold: 5}\n      - {address: 10.0.0.4, upper_threshold: 10, lower_threshold: 11}\n", []string{
			`f.yaml:5:46: virtual_servers[0].real_servers[0].upper_threshold: -1 is outside 0..4294967295`,
			`f.yaml:5:67: virtual_servers[0].real_servers[0].lower_threshold: 4294967296 is outside 0..4294967295`,
			`f.yaml:6:46: virtual_servers[0].real_servers[1].lower_threshold: only with upper_threshold (a server leaves the overloaded state under it)`,
			`f.yaml:7:67: virtual_servers[0].real_servers[2].lower_threshold: 11 is more than upper_threshold 10`,
		}},
		{"tunnel on a dr real server", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    real_servers:\n      - {address: 10.0.0.2, tunnel: {type: gue, port: 6080}}\n", []string{
			`f.yaml:5:37: virtual_servers[0].real_servers[0].tunnel: only for tun real servers; this one is dr`,
		}},
		{"tunnel fields", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    mode: tun\n    real_servers:\n      - {address: 10.0.0.2, tunnel: {type: vxlan}}\n      - {address: 10.0.0.3, tunnel: {type: gue}}\n      - {address: 10.0.0.4, tunnel: {type: gre, port: 1}}\n      - {address: 10.0.0.5, tunnel: {port: 1, flags: [csum]}}\n      - {address: 10.0.0.6, tunnel: {type: gre, flags: [remcsum]}}\n      - {address: 10.0.0.7, tunnel: {type: gue, port: 0, flags: [csum, remcsum, crc]}}\n      - {address: 10.0.0.8, tunnel: gue}\n", []string{
			`f.yaml:6:44: virtual_servers[0].real_servers[0].tunnel.type: unknown tunnel type "vxlan"; valid tunnel types are ipip, gue, gre`,
			`f.yaml:7:37: virtual_servers[0].real_servers[1].tunnel.port: missing (a gue tunnel needs the UDP port its real server listens on)`,
			`f.yaml:8:55: virtual_servers[0].real_servers[2].tunnel.port: only for a gue tunnel; this one is gre`,
			`f.yaml:9:44: virtual_servers[0].real_servers[3].tunnel.port: only for a gue tunnel; this one is ipip`,
			`f.yaml:9:55: virtual_servers[0].real_servers[3].tunnel.flags[0]: csum is not a flag of ipip tunnels (csum: gue and gre; remcsum: gue)`,
			`f.yaml:10:57: virtual_servers[0].real_servers[4].tunnel.flags[0]: remcsum is not a flag of gre tunnels (csum: gue and gre; remcsum: gue)`,
			`f.yaml:11:55: virtual_servers[0].real_servers[5].tunnel.port: 0 is outside 1..65535`,
			`f.yaml:11:72: virtual_servers[0].real_servers[5].tunnel.flags[1]: a tunnel takes one checksum flag; csum is already set`,
			`f.yaml:11:81: virtual_servers[0].real_servers[5].tunnel.flags[2]: unknown tunnel flag "crc"; valid tunnel flags are csum, remcsum`,
			`f.yaml:12:37: virtual_servers[0].real_servers[6].tunnel: must be a mapping with the keys type, port, flags, got "gue"`,
		}},
	}
}

func TestParseBadWave2(t *testing.T) {
	for _, tc := range wave2BadCases() {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("f.yaml", []byte(tc.doc))
			if c != nil {
				t.Errorf("got a Config with problems")
			}
			if diff := cmp.Diff(tc.want, problemLines(t, err)); diff != "" {
				t.Errorf("doc:\n%s\n(-want +got):\n%s", tc.doc, diff)
			}
		})
	}
}
