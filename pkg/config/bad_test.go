package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// badCases are configurations with problems, and the exact messages.
// svcHead is the start most of them share:
//
//	1 virtual_servers:
//	2   - vip: 10.0.0.1      (value at column 10)
//	3     port: 80           (value at column 11)
const svcHead = "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n"

// rsHead adds one real server:
//
//	4     real_servers:
//	5       - address: 10.0.0.2   (value at column 18)
const rsHead = svcHead + "    real_servers:\n      - address: 10.0.0.2\n"

func badCases() []struct {
	name string
	doc  string
	want []string
} {
	return []struct {
		name string
		doc  string
		want []string
	}{
		// Unknown keys, at every level.
		{"unknown top key", "virtual_server:\n", []string{
			`f.yaml:1:1: virtual_server: unknown key; did you mean "virtual_servers"?`}},
		{"unknown director key", "director:\n  iface: eth0\n", []string{
			`f.yaml:2:3: director.iface: unknown key; valid keys are interface, ip_forward, reconcile_interval, metrics, send_redirects, ipvs_sysctls, timeouts, sync, announce`}},
		{"unknown realserver key", "realserver:\n  gw: 10.0.0.1\n", []string{
			`f.yaml:2:3: realserver.gw: unknown key; valid keys are gateway`}},
		{"unknown service key", svcHead + "    sheduler: rr\n", []string{
			`f.yaml:4:5: virtual_servers[0].sheduler: unknown key; did you mean "scheduler"?`}},
		{"unknown real server key", rsHead + "        wieght: 3\n", []string{
			`f.yaml:6:9: virtual_servers[0].real_servers[0].wieght: unknown key; did you mean "weight"?`}},
		{"unknown key needing quotes", "director:\n  \"my key\": 1\n", []string{
			`f.yaml:2:3: director."my key": unknown key; valid keys are interface, ip_forward, reconcile_interval, metrics, send_redirects, ipvs_sysctls, timeouts, sync, announce`}},
		{"x- keys only at the top", "director:\n  x-note: hi\n", []string{
			`f.yaml:2:3: director.x-note: unknown key; valid keys are interface, ip_forward, reconcile_interval, metrics, send_redirects, ipvs_sysctls, timeouts, sync, announce`}},

		// Wrong types.
		{"port not a number", "virtual_servers:\n  - vip: 10.0.0.1\n    port: abc\n", []string{
			`f.yaml:3:11: virtual_servers[0].port: must be an integer, got "abc"`}},
		{"port a mapping", "virtual_servers:\n  - vip: 10.0.0.1\n    port: {a: 1}\n", []string{
			`f.yaml:3:11: virtual_servers[0].port: must be an integer, got a mapping`}},
		{"port quoted", "virtual_servers:\n  - vip: 10.0.0.1\n    port: \"80\"\n", []string{
			`f.yaml:3:11: virtual_servers[0].port: must be an integer, got "80"`}},
		{"port empty", "virtual_servers:\n  - vip: 10.0.0.1\n    port:\n", []string{
			`f.yaml:3:10: virtual_servers[0].port: must be an integer, got an empty value`}},
		{"port a float", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80.5\n", []string{
			`f.yaml:3:11: virtual_servers[0].port: must be an integer, got 80.5`}},
		{"vip a list", "virtual_servers:\n  - vip: [10.0.0.1]\n    port: 80\n", []string{
			`f.yaml:2:10: virtual_servers[0].vip: must be an IP address, got a list`}},
		{"weight a float", rsHead + "        weight: 1.5\n", []string{
			`f.yaml:6:17: virtual_servers[0].real_servers[0].weight: must be an integer, got 1.5`}},
		{"ip_forward yes", "director:\n  ip_forward: yes\n", []string{
			`f.yaml:2:15: director.ip_forward: must be true or false, got "yes"`}},
		{"director a list", "director: [eth0]\n", []string{
			`f.yaml:1:11: director: must be a mapping with the keys interface, ip_forward, reconcile_interval, metrics, send_redirects, ipvs_sysctls, timeouts, sync, announce, got a list`}},
		{"virtual_servers a mapping", "virtual_servers:\n  vip: 10.0.0.1\n", []string{
			`f.yaml:2:3: virtual_servers: must be a list of virtual servers, got a mapping`}},
		{"virtual server a scalar", "virtual_servers:\n  - 10.0.0.1\n", []string{
			`f.yaml:2:5: virtual_servers[0]: must be a mapping with the keys vip, port, protocol, fwmark, scheduler, scheduler_flags, persistence, persistence_netmask, mode, check, on_failure, drain_timeout, slow_start, sorry_server, mark, real_servers, got "10.0.0.1"`}},
		{"real_servers a scalar", svcHead + "    real_servers: 10.0.0.2\n", []string{
			`f.yaml:4:19: virtual_servers[0].real_servers: must be a list of real servers, got "10.0.0.2"`}},
		{"real server empty", svcHead + "    real_servers:\n      -\n", []string{
			`f.yaml:5:8: virtual_servers[0].real_servers[0]: must be a mapping with the keys address, port, weight, mode, check, upper_threshold, lower_threshold, tunnel, got an empty value`}},
		{"document a list", "- director\n", []string{
			`f.yaml:1:1: must be a mapping with the keys director, realserver, virtual_servers, got a list`}},
		{"document a scalar", "hello\n", []string{
			`f.yaml:1:1: must be a mapping with the keys director, realserver, virtual_servers, got "hello"`}},
		{"key not a string", "director:\n  [a]: 1\n", []string{
			`f.yaml:2:3: director: a key must be a string, got a list`}},

		// Addresses.
		{"vip not an address", "virtual_servers:\n  - vip: 10.0.0.300\n    port: 80\n", []string{
			`f.yaml:2:10: virtual_servers[0].vip: "10.0.0.300" is not an IP address`}},
		{"vip with prefix", "virtual_servers:\n  - vip: 10.0.0.1/32\n    port: 80\n", []string{
			`f.yaml:2:10: virtual_servers[0].vip: "10.0.0.1/32" is not an IP address (write the address alone, without a prefix length)`}},
		{"vip with zone", "virtual_servers:\n  - vip: fe80::1%eth0\n    port: 80\n", []string{
			`f.yaml:2:10: virtual_servers[0].vip: "fe80::1%eth0" has a zone (%eth0); IPVS addresses cannot have one`}},
		{"vip IPv4-mapped", "virtual_servers:\n  - vip: ::ffff:10.0.0.1\n    port: 80\n", []string{
			`f.yaml:2:10: virtual_servers[0].vip: ::ffff:10.0.0.1 is an IPv4-mapped IPv6 address; write 10.0.0.1`}},
		{"vip unspecified", "virtual_servers:\n  - vip: 0.0.0.0\n    port: 80\n", []string{
			`f.yaml:2:10: virtual_servers[0].vip: 0.0.0.0 is the unspecified address`}},
		{"vip multicast", "virtual_servers:\n  - vip: 224.0.0.1\n    port: 80\n", []string{
			`f.yaml:2:10: virtual_servers[0].vip: 224.0.0.1 is a multicast address`}},
		{"vip loopback", "virtual_servers:\n  - vip: 127.0.0.1\n    port: 80\n", []string{
			`f.yaml:2:10: virtual_servers[0].vip: 127.0.0.1 is a loopback address; a VIP must be reachable by clients`}},
		{"vip loopback, not only 127.0.0.1", "virtual_servers:\n  - vip: 127.1.2.3\n    port: 80\n", []string{
			`f.yaml:2:10: virtual_servers[0].vip: 127.1.2.3 is a loopback address; a VIP must be reachable by clients`}},
		{"vip IPv6 loopback", "virtual_servers:\n  - vip: '::1'\n    port: 80\n", []string{
			`f.yaml:2:10: virtual_servers[0].vip: ::1 is a loopback address; a VIP must be reachable by clients`}},
		{"vip IPv6 unspecified", "virtual_servers:\n  - vip: '::'\n    port: 80\n", []string{
			`f.yaml:2:10: virtual_servers[0].vip: :: is the unspecified address`}},
		{"vip IPv6 multicast", "virtual_servers:\n  - vip: ff02::1\n    port: 80\n", []string{
			`f.yaml:2:10: virtual_servers[0].vip: ff02::1 is a multicast address`}},
		{"tun with an IPv6 vip", "virtual_servers:\n  - vip: 2001:db8::1\n    port: 80\n    mode: tun\n", []string{
			`f.yaml:4:11: virtual_servers[0].mode: tun forwards in IPv4-in-IPv4 (ipip) tunnels; an IPv6 service cannot use it (use dr or nat)`}},
		{"tun real server of an IPv6 vip", "virtual_servers:\n  - vip: 2001:db8::1\n    port: 80\n    real_servers:\n      - {address: 2001:db8::2, mode: tun}\n", []string{
			`f.yaml:5:38: virtual_servers[0].real_servers[0].mode: tun forwards in IPv4-in-IPv4 (ipip) tunnels; an IPv6 service cannot use it (use dr or nat)`}},
		{"persistence_netmask without persistence", svcHead + "    persistence_netmask: 24\n", []string{
			`f.yaml:4:26: virtual_servers[0].persistence_netmask: has no effect without persistence; set persistence or remove it`}},
		{"persistence_netmask with persistence 0", svcHead + "    persistence: 0\n    persistence_netmask: 255.255.255.0\n", []string{
			`f.yaml:5:26: virtual_servers[0].persistence_netmask: has no effect without persistence; set persistence or remove it`}},
		{"persistence_netmask of a fwmark service without persistence", "virtual_servers:\n  - {vip: 10.0.0.1, fwmark: 3, persistence_netmask: 16}\n", []string{
			`f.yaml:2:53: virtual_servers[0].persistence_netmask: has no effect without persistence; set persistence or remove it`}},
		{"vip broadcast", "virtual_servers:\n  - vip: 255.255.255.255\n    port: 80\n", []string{
			`f.yaml:2:10: virtual_servers[0].vip: 255.255.255.255 is the broadcast address`}},
		{"real server with port", svcHead + "    real_servers:\n      - address: 10.0.0.2:80\n", []string{
			`f.yaml:5:18: virtual_servers[0].real_servers[0].address: "10.0.0.2:80" is not an IP address (write the address alone; the port has its own key)`}},
		{"real server IPv4-mapped", svcHead + "    real_servers:\n      - address: ::ffff:10.0.0.2\n", []string{
			`f.yaml:5:18: virtual_servers[0].real_servers[0].address: ::ffff:10.0.0.2 is an IPv4-mapped IPv6 address; write 10.0.0.2`}},
		{"gateway not an address", "realserver:\n  gateway: router\n", []string{
			`f.yaml:2:12: realserver.gateway: "router" is not an IP address`}},

		// Ranges.
		{"port too big", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 70000\n", []string{
			`f.yaml:3:11: virtual_servers[0].port: 70000 is outside 0..65535`}},
		{"port negative", "virtual_servers:\n  - vip: 10.0.0.1\n    port: -1\n", []string{
			`f.yaml:3:11: virtual_servers[0].port: -1 is outside 0..65535`}},
		{"port beyond int64", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 18446744073709551615\n", []string{
			`f.yaml:3:11: virtual_servers[0].port: 18446744073709551615 is outside 0..65535`}},
		{"weight too big", rsHead + "        weight: 70000\n", []string{
			`f.yaml:6:17: virtual_servers[0].real_servers[0].weight: 70000 is outside 0..65535`}},
		{"weight negative", rsHead + "        weight: -1\n", []string{
			`f.yaml:6:17: virtual_servers[0].real_servers[0].weight: -1 is outside 0..65535`}},
		{"nat port too big", rsHead + "        mode: nat\n        port: 65536\n", []string{
			`f.yaml:7:15: virtual_servers[0].real_servers[0].port: 65536 is outside 0..65535`}},

		// Names.
		{"unknown scheduler", svcHead + "    scheduler: fast\n", []string{
			`f.yaml:4:16: virtual_servers[0].scheduler: unknown scheduler "fast"; valid schedulers are rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, mh, fo, ovf`}},
		{"unknown mode", svcHead + "    mode: direct\n", []string{
			`f.yaml:4:11: virtual_servers[0].mode: unknown mode "direct"; valid modes are dr, tun, nat`}},
		{"unknown real server mode", rsHead + "        mode: gate\n", []string{
			`f.yaml:6:15: virtual_servers[0].real_servers[0].mode: unknown mode "gate"; valid modes are dr, tun, nat`}},
		{"unknown protocol", svcHead + "    protocol: icmp\n", []string{
			`f.yaml:4:15: virtual_servers[0].protocol: unknown protocol "icmp"; valid protocols are tcp, udp, sctp`}},
		{"protocol upper case", svcHead + "    protocol: TCP\n", []string{
			`f.yaml:4:15: virtual_servers[0].protocol: unknown protocol "TCP"; valid protocols are tcp, udp, sctp`}},

		// Ports of dr and tun real servers.
		{"dr real server port", rsHead + "        port: 8080\n", []string{
			`f.yaml:6:15: virtual_servers[0].real_servers[0].port: 8080 differs from the service's port 80; dr forwards to the VIP's own port, only mode nat can map ports`}},
		{"tun real server port", svcHead + "    mode: tun\n    real_servers:\n      - address: 10.0.0.2\n        port: 81\n", []string{
			`f.yaml:7:15: virtual_servers[0].real_servers[0].port: 81 differs from the service's port 80; tun forwards to the VIP's own port, only mode nat can map ports`}},
		{"dr real server of a fwmark service with a port", "virtual_servers:\n  - vip: 10.0.0.1\n    fwmark: 3\n    real_servers:\n      - address: 10.0.0.2\n        port: 80\n", []string{
			`f.yaml:6:15: virtual_servers[0].real_servers[0].port: a dr real server of a fwmark service takes no port (packets keep the port they were sent to); only mode nat can map ports`}},

		// Port 0.
		{"port 0 without persistence", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 0\n", []string{
			`f.yaml:3:11: virtual_servers[0].port: 0 (every port) needs persistence; set persistence or give the service's port`}},
		{"port 0 with persistence 0", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 0\n    persistence: 0\n", []string{
			`f.yaml:3:11: virtual_servers[0].port: 0 (every port) needs persistence; set persistence or give the service's port`}},

		// Families.
		{"IPv6 real server, IPv4 vip", svcHead + "    real_servers:\n      - address: 2001:db8::2\n", []string{
			`f.yaml:5:18: virtual_servers[0].real_servers[0].address: 2001:db8::2 is IPv6 but the vip 10.0.0.1 is IPv4; a service's real servers must be of its family`}},
		{"IPv4 real server, IPv6 vip", "virtual_servers:\n  - vip: 2001:db8::1\n    port: 80\n    real_servers:\n      - address: 10.0.0.2\n", []string{
			`f.yaml:5:18: virtual_servers[0].real_servers[0].address: 10.0.0.2 is IPv4 but the vip 2001:db8::1 is IPv6; a service's real servers must be of its family`}},

		// Duplicate services.
		{"duplicate service", svcHead + "  - vip: 10.0.0.1\n    port: 80\n    protocol: tcp\n", []string{
			`f.yaml:4:5: virtual_servers[1]: tcp 10.0.0.1:80 is already defined by virtual_servers[0] at line 2`}},
		{"duplicate IPv6 service", "virtual_servers:\n  - {vip: '2001:db8::1', port: 80}\n  - {vip: '2001:db8::1', port: 80}\n", []string{
			`f.yaml:3:5: virtual_servers[1]: tcp [2001:db8::1]:80 is already defined by virtual_servers[0] at line 2`}},
		{"duplicate fwmark, other vip", "virtual_servers:\n  - {vip: 10.0.0.1, fwmark: 5}\n  - {vip: 10.0.0.2, fwmark: 5}\n", []string{
			`f.yaml:3:5: virtual_servers[1]: fwmark 5 (inet) is already defined by virtual_servers[0] at line 2`}},

		// Firewall marks.
		{"fwmark 0", "virtual_servers:\n  - vip: 10.0.0.1\n    fwmark: 0\n", []string{
			`f.yaml:3:13: virtual_servers[0].fwmark: 0 is outside 1..4294967295`}},
		{"fwmark too big", "virtual_servers:\n  - vip: 10.0.0.1\n    fwmark: 4294967296\n", []string{
			`f.yaml:3:13: virtual_servers[0].fwmark: 4294967296 is outside 1..4294967295`}},
		{"fwmark with port", svcHead + "    fwmark: 1\n", []string{
			`f.yaml:3:11: virtual_servers[0].port: not used by a fwmark service (the firewall mark selects the packets); remove it`}},
		{"fwmark with protocol", "virtual_servers:\n  - vip: 10.0.0.1\n    fwmark: 1\n    protocol: udp\n", []string{
			`f.yaml:4:15: virtual_servers[0].protocol: not used by a fwmark service (the firewall mark selects the packets); remove it`}},

		// Persistence.
		{"persistence negative", svcHead + "    persistence: -1\n", []string{
			`f.yaml:4:18: virtual_servers[0].persistence: -1 is outside 0..2678400 seconds (31 days, the ipvsadm limit)`}},
		{"persistence too long", svcHead + "    persistence: 2678401\n", []string{
			`f.yaml:4:18: virtual_servers[0].persistence: 2678401 is outside 0..2678400 seconds (31 days, the ipvsadm limit)`}},
		{"netmask not contiguous", svcHead + "    persistence: 60\n    persistence_netmask: 255.0.255.0\n", []string{
			`f.yaml:5:26: virtual_servers[0].persistence_netmask: 255.0.255.0 is not a contiguous netmask`}},
		{"netmask prefix too long for IPv4", svcHead + "    persistence: 60\n    persistence_netmask: 33\n", []string{
			`f.yaml:5:26: virtual_servers[0].persistence_netmask: 33 is outside 1..32 for an IPv4 service`}},
		{"netmask prefix too long for IPv6", "virtual_servers:\n  - vip: 2001:db8::1\n    port: 80\n    persistence: 60\n    persistence_netmask: 129\n", []string{
			`f.yaml:5:26: virtual_servers[0].persistence_netmask: 129 is outside 1..128 for an IPv6 service`}},
		{"netmask negative", svcHead + "    persistence: 60\n    persistence_netmask: -1\n", []string{
			`f.yaml:5:26: virtual_servers[0].persistence_netmask: -1 is outside 1..32 for an IPv4 service`}},
		{"dotted netmask for IPv6", "virtual_servers:\n  - vip: 2001:db8::1\n    port: 80\n    persistence: 60\n    persistence_netmask: 255.255.255.0\n", []string{
			`f.yaml:5:26: virtual_servers[0].persistence_netmask: "255.255.255.0": an IPv6 service takes a prefix length 1..128, not a dotted mask`}},
		{"netmask not a mask", svcHead + "    persistence: 60\n    persistence_netmask: /24\n", []string{
			`f.yaml:5:26: virtual_servers[0].persistence_netmask: "/24" is not a netmask; write a dotted IPv4 mask such as 255.255.255.0 or a prefix length such as 24`}},
		{"netmask a list", svcHead + "    persistence: 60\n    persistence_netmask: [24]\n", []string{
			`f.yaml:5:26: virtual_servers[0].persistence_netmask: must be a prefix length or a dotted netmask, got a list`}},

		// Interface names.
		{"interface too long", "director:\n  interface: enp0s31f6-longer\n", []string{
			`f.yaml:2:14: director.interface: "enp0s31f6-longer" is longer than 15 bytes, the Linux limit for an interface name`}},
		{"interface label", "director:\n  interface: eth0:0\n", []string{
			`f.yaml:2:14: director.interface: "eth0:0" is an address label, not an interface; write "eth0" (lvs-rs adds the eth0:N labels itself)`}},
		{"interface slash", "director:\n  interface: eth/0\n", []string{
			`f.yaml:2:14: director.interface: "eth/0" contains '/', which an interface name cannot`}},
		{"interface space", "director:\n  interface: eth 0\n", []string{
			`f.yaml:2:14: director.interface: "eth 0" contains whitespace or a control character, which an interface name cannot`}},
		{"interface dot", "director:\n  interface: .\n", []string{
			`f.yaml:2:14: director.interface: "." is not a valid interface name`}},
		{"interface empty string", "director:\n  interface: \"\"\n", []string{
			`f.yaml:2:14: director.interface: must not be empty`}},
		{"interface empty value", "director:\n  interface:\n", []string{
			`f.yaml:2:13: director.interface: must be an interface name, got an empty value`}},

		// Duplicate real servers.
		{"duplicate real server", rsHead + "      - address: 10.0.0.2\n        weight: 2\n", []string{
			`f.yaml:6:18: virtual_servers[0].real_servers[1].address: duplicate real server 10.0.0.2:80 (first at line 5)`}},
		{"duplicate nat real server", svcHead + "    mode: nat\n    real_servers:\n      - {address: 10.0.0.2, port: 8080}\n      - {address: 10.0.0.2, port: 8080}\n", []string{
			`f.yaml:7:19: virtual_servers[0].real_servers[1].address: duplicate real server 10.0.0.2:8080 (first at line 6)`}},
		{"duplicate nat real server, port 0 and the service's", svcHead + "    mode: nat\n    real_servers:\n      - {address: 10.0.0.2, port: 0}\n      - {address: 10.0.0.2, port: 80}\n", []string{
			`f.yaml:7:19: virtual_servers[0].real_servers[1].address: duplicate real server 10.0.0.2:80 (first at line 6)`}},
		{"duplicate real server, dr and nat", rsHead + "      - address: 10.0.0.2\n        mode: nat\n", []string{
			`f.yaml:6:18: virtual_servers[0].real_servers[1].address: duplicate real server 10.0.0.2:80 (first at line 5)`}},

		// One mistake, one message: checks that depend on a wrong value are skipped.
		{"bad service port, real server port", "virtual_servers:\n  - vip: 10.0.0.1\n    port: abc\n    real_servers:\n      - address: 10.0.0.2\n        port: 8080\n", []string{
			`f.yaml:3:11: virtual_servers[0].port: must be an integer, got "abc"`}},
		{"bad service mode, real server port", svcHead + "    mode: gate\n    real_servers:\n      - address: 10.0.0.2\n        port: 8080\n", []string{
			`f.yaml:4:11: virtual_servers[0].mode: unknown mode "gate"; valid modes are dr, tun, nat`}},
		{"bad vip, real server family", "virtual_servers:\n  - vip: x\n    port: 80\n    real_servers:\n      - address: 2001:db8::2\n", []string{
			`f.yaml:2:10: virtual_servers[0].vip: "x" is not an IP address`}},
		{"bad persistence, port 0", "virtual_servers:\n  - vip: 10.0.0.1\n    port: 0\n    persistence: forever\n", []string{
			`f.yaml:4:18: virtual_servers[0].persistence: must be an integer, got "forever"`}},
		{"bad fwmark, no port", "virtual_servers:\n  - vip: 10.0.0.1\n    fwmark: ten\n", []string{
			`f.yaml:3:13: virtual_servers[0].fwmark: must be an integer, got "ten"`}},

		// Missing values.
		{"vip missing", "virtual_servers:\n  - port: 80\n", []string{
			`f.yaml:2:5: virtual_servers[0].vip: missing (every virtual server needs one)`}},
		{"port missing", "virtual_servers:\n  - vip: 10.0.0.1\n", []string{
			`f.yaml:2:5: virtual_servers[0].port: missing (required unless fwmark is set; 0 together with persistence means every port)`}},
		{"address missing", svcHead + "    real_servers:\n      - weight: 2\n", []string{
			`f.yaml:5:9: virtual_servers[0].real_servers[0].address: missing (every real server needs one)`}},
		{"virtual server empty", "virtual_servers:\n  -\n", []string{
			`f.yaml:2:4: virtual_servers[0]: must be a mapping with the keys vip, port, protocol, fwmark, scheduler, scheduler_flags, persistence, persistence_netmask, mode, check, on_failure, drain_timeout, slow_start, sorry_server, mark, real_servers, got an empty value`}},

		// Duplicate keys.
		{"duplicate service key", svcHead + "    port: 81\n", []string{
			`f.yaml:4:5: virtual_servers[0].port: duplicate key (first at line 3)`}},
		{"duplicate top key", "director: {}\ndirector: {}\n", []string{
			`f.yaml:2:1: director: duplicate key (first at line 1)`}},
		{"duplicate flow key", "virtual_servers: [{vip: 10.0.0.1, port: 80, vip: 10.0.0.2}]\n", []string{
			`f.yaml:1:45: virtual_servers[0].vip: duplicate key (first at line 1)`}},

		// Merge keys.
		{"merge into itself", "virtual_servers:\n  - &a\n    <<: *a\n    vip: 10.0.0.1\n    port: 80\n", []string{
			`f.yaml:3:9: virtual_servers[0].<<: merges a mapping into itself`}},
		{"merge a scalar", svcHead + "    <<: 5\n", []string{
			`f.yaml:4:9: virtual_servers[0].<<: can only merge a mapping or a list of mappings, got 5`}},
		{"merge a list with a scalar", svcHead + "    <<: [{mode: nat}, 5]\n", []string{
			`f.yaml:4:23: virtual_servers[0].<<: can only merge mappings, got 5`}},
		{"merged unknown key", "x-d: &d {sched: rr}\n" + svcHead + "    <<: *d\n", []string{
			`f.yaml:1:10: virtual_servers[0].sched: unknown key; valid keys are vip, port, protocol, fwmark, scheduler, scheduler_flags, persistence, persistence_netmask, mode, check, on_failure, drain_timeout, slow_start, sorry_server, mark, real_servers`}},

		// YAML syntax.
		{"syntax: bad indentation", "director:\n  interface: eth0\n ip_forward: true\n", []string{
			`f.yaml:3:2: invalid YAML: did not find expected key`}},
		{"syntax: unterminated flow", "virtual_servers: [\n", []string{
			`f.yaml:2:1: invalid YAML: did not find expected node content`}},
		{"syntax: tab", "director:\n\tinterface: eth0\n", []string{
			`f.yaml:2:1: invalid YAML: found character that cannot start any token`}},
		{"syntax: first line", "director: interface: eth0\n", []string{
			`f.yaml:1:1: invalid YAML: mapping values are not allowed in this context`}},
		{"syntax: unknown anchor", "director: {}\nvirtual_servers: *nope\n", []string{
			`f.yaml:2:18: invalid YAML: unknown anchor 'nope' referenced`}},
		{"syntax: second document", "director: {}\n---\nvirtual_servers: []\n", []string{
			`f.yaml:2:1: a second YAML document; the file must hold exactly one configuration`}},
		{"syntax: control character", "director:\n  interface: eth\x000\n", []string{
			`f.yaml:2:17: invalid YAML: control character U+0000 is not allowed`}},
		{"syntax: not UTF-8", "director:\n  interface: \xff\n", []string{
			`f.yaml:2:14: invalid YAML: the file is not valid UTF-8`}},
	}
}

func TestParseBad(t *testing.T) {
	for _, tc := range badCases() {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("f.yaml", []byte(tc.doc))
			if err == nil {
				t.Fatalf("Parse accepted:\n%s\nas %+v", tc.doc, c)
			}
			if c != nil {
				t.Errorf("Parse returned a Config with an error")
			}
			if diff := cmp.Diff(tc.want, problemLines(t, err)); diff != "" {
				t.Errorf("doc:\n%s\n(-want +got):\n%s", tc.doc, diff)
			}
		})
	}
}
