package config

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
)

// wave3BadCases are configurations that were accepted, or refused with a
// wrong message or position, with the exact messages.
func wave3BadCases() []struct {
	name string
	doc  string
	want []string
} {
	const svc = "virtual_servers:\n  - vip: 10.0.0.1\n"
	return []struct {
		name string
		doc  string
		want []string
	}{
		// Zero-padded integers: yaml.v3 reads 0443 as octal 291.
		{"zero-padded port and weight", svc + "    port: 0443\n    real_servers:\n      - address: 10.0.0.2\n        weight: 010\n", []string{
			`f.yaml:3:11: virtual_servers[0].port: 0443 has a leading zero, which YAML reads as octal (291); write 443, or 0o443 if octal was meant`,
			`f.yaml:6:17: virtual_servers[0].real_servers[0].weight: 010 has a leading zero, which YAML reads as octal (8); write 10, or 0o10 if octal was meant`,
		}},
		{"zero-padded, not octal", svc + "    port: 0080\n", []string{
			`f.yaml:3:11: virtual_servers[0].port: 0080 has a leading zero; write 80`,
		}},
		{"zero-padded, same in octal", svc + "    port: 07\n    real_servers: [{address: 10.0.0.2, weight: 00}]\n", []string{
			`f.yaml:3:11: virtual_servers[0].port: 07 has a leading zero; write 7`,
			`f.yaml:4:48: virtual_servers[0].real_servers[0].weight: 00 has a leading zero; write 0`,
		}},
		{"zero-padded with underscores and signs", svc + "    fwmark: 0_10\n    real_servers: [{address: 10.0.0.2, weight: -010, upper_threshold: +0_17}]\n", []string{
			`f.yaml:3:13: virtual_servers[0].fwmark: 0_10 has a leading zero, which YAML reads as octal (8); write 10, or 0o10 if octal was meant`,
			`f.yaml:4:48: virtual_servers[0].real_servers[0].weight: -010 has a leading zero, which YAML reads as octal (-8); write -10, or -0o10 if octal was meant`,
			`f.yaml:4:71: virtual_servers[0].real_servers[0].upper_threshold: +0_17 has a leading zero, which YAML reads as octal (15); write +17, or +0o17 if octal was meant`,
		}},
		{"zero-padded prefix length", svc + "    port: 80\n    persistence: 60\n    persistence_netmask: 024\n", []string{
			`f.yaml:5:26: virtual_servers[0].persistence_netmask: 024 has a leading zero, which YAML reads as octal (20); write 24, or 0o24 if octal was meant`,
		}},

		// The fwmarks of the probes of via: vip checks.
		{"fwmark of the probes", svc + "    fwmark: 0x4c560001\n  - vip: 10.0.0.1\n    fwmark: 1280770047\n", []string{
			`f.yaml:3:13: virtual_servers[0].fwmark: 0x4c560001 is reserved: marks 0x4c560000..0x4c56ffff (1280704512..1280770047) are the probes of the checks through the VIP (check.via: vip); use another mark`,
			`f.yaml:5:13: virtual_servers[1].fwmark: 1280770047 is reserved: marks 0x4c560000..0x4c56ffff (1280704512..1280770047) are the probes of the checks through the VIP (check.via: vip); use another mark`,
		}},

		// via: vip and nat real servers.
		{"via vip, service nat", svc + "    port: 80\n    mode: nat\n    check: {type: tcp, via: vip}\n    real_servers:\n      - address: 10.0.0.2\n      - address: 10.0.0.3\n", []string{
			`f.yaml:5:29: virtual_servers[0].check.via: vip is for dr and tun real servers (a nat real server's check already goes through the director); the service's mode is nat`,
		}},
		{"via vip, one real server nat", svc + "    port: 80\n    check: {type: http, via: vip}\n    real_servers:\n      - address: 10.0.0.2\n      - address: 10.0.0.3\n        mode: nat\n", []string{
			`f.yaml:4:30: virtual_servers[0].check.via: vip is for dr and tun real servers (a nat real server's check already goes through the director); real server 10.0.0.3 is nat at line 8`,
		}},
		{"via vip on a real server, service nat", svc + "    port: 80\n    mode: nat\n    check: {type: tcp}\n    real_servers:\n      - address: 10.0.0.2\n        check: {via: vip}\n      - address: 10.0.0.3\n        mode: dr\n        check: {via: vip}\n", []string{
			`f.yaml:8:22: virtual_servers[0].real_servers[0].check.via: vip is for dr and tun real servers (a nat real server's check already goes through the director); the service's mode is nat`,
		}},
		{"via vip, exec on nat", svc + "    port: 80\n    mode: nat\n    check: {type: exec, command: [/bin/true], via: vip}\n    real_servers:\n      - address: 10.0.0.2\n", []string{
			`f.yaml:5:52: virtual_servers[0].check.via: vip is only for tcp, http, https and dns checks; this check is exec`,
		}},

		// A port-0 (every port) service's check needs a port.
		{"tcp check on every port", svc + "    port: 0\n    persistence: 60\n    check: {type: tcp}\n    real_servers:\n      - address: 10.0.0.2\n", []string{
			`f.yaml:5:12: virtual_servers[0].check.port: missing (the service is on every port, port 0, so a real server has no port of its own to check)`,
		}},

		// An out-of-range persistence is not "no persistence".
		{"persistence out of range with a netmask", svc + "    port: 80\n    persistence: 999999999\n    persistence_netmask: 24\n", []string{
			`f.yaml:4:18: virtual_servers[0].persistence: 999999999 is outside 0..2678400 seconds (31 days, the ipvsadm limit)`,
		}},

		// Line breaks editors do not show.
		{"line separator in a comment", "# the services\u2028virtual_servers: [{vip: 10.0.0.1, port: 80}]\n", []string{
			`f.yaml:1:15: invalid YAML: U+2028 (line separator) is not allowed: YAML reads it as a line break, which most editors do not show`,
		}},
		{"paragraph separator in a value", "director:\n  interface: \"eth0\u2029x\"\n", []string{
			`f.yaml:2:19: invalid YAML: U+2029 (paragraph separator) is not allowed: YAML reads it as a line break, which most editors do not show`,
		}},
		{"next line in a comment", "director: {} # é\u0085virtual_servers: []\n", []string{
			`f.yaml:1:17: invalid YAML: U+0085 (next line) is not allowed: YAML reads it as a line break, which most editors do not show`,
		}},
	}
}

func TestParseBadWave3(t *testing.T) {
	for _, tc := range wave3BadCases() {
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

// TestLineBreakUTF16: U+2028 is refused in a UTF-16 file too.
func TestLineBreakUTF16(t *testing.T) {
	units := utf16.Encode([]rune("\uFEFFdirector: {}\n# c\u2028virtual_servers: []\n"))
	data := make([]byte, 0, 2*len(units))
	for _, u := range units {
		data = append(data, byte(u), byte(u>>8)) // little endian
	}
	_, err := Parse("f.yaml", data)
	want := []string{`f.yaml:2:4: invalid YAML: U+2028 (line separator) is not allowed: YAML reads it as a line break, which most editors do not show`}
	if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestWave3Accepted: what the new rules must not refuse.
func TestWave3Accepted(t *testing.T) {
	for _, doc := range []string{
		// 0, and integers in hex, octal (0o) and with underscores
		"virtual_servers: [{vip: 10.0.0.1, port: 0o120, persistence: 0x3c, persistence_netmask: 0x18, real_servers: [{address: 10.0.0.2, weight: 0, upper_threshold: 1_000}]}]",
		"virtual_servers: [{vip: 10.0.0.1, fwmark: 0x10}, {vip: 10.0.0.1, port: 0, persistence: 1_0}]",
		// the fwmarks on each side of the probes' range
		"virtual_servers: [{vip: 10.0.0.1, fwmark: 0x4c55ffff}, {vip: 10.0.0.1, fwmark: 0x4c570000}]",
		// via: vip on dr and tun real servers of a service whose mode is nat
		"virtual_servers: [{vip: 10.0.0.1, port: 80, mode: nat, check: {type: tcp}, real_servers: [{address: 10.0.0.2, mode: dr, check: {via: vip}}, {address: 10.0.0.3, mode: tun, check: {via: vip}}, {address: 10.0.0.4}]}]",
		// a port-0 service's check with a port, and a nat real server's own port
		"virtual_servers: [{vip: 10.0.0.1, port: 0, persistence: 60, check: {type: tcp, port: 443}, real_servers: [{address: 10.0.0.2}]}]",
		"virtual_servers: [{vip: 10.0.0.1, port: 0, persistence: 60, mode: nat, check: {type: tcp}, real_servers: [{address: 10.0.0.2, port: 8080}]}]",
		// other characters beyond ASCII
		"director: {interface: eth0} # \u00a0é\u2027\u202a\n",
	} {
		c, err := Parse("f.yaml", []byte(doc))
		if err != nil {
			t.Errorf("Parse(%q): %v", doc, err)
			continue
		}
		if err := checkConfig(c); err != nil {
			t.Errorf("Parse(%q) gave an invalid config: %v", doc, err)
		}
	}
	c, err := Parse("f.yaml", []byte("virtual_servers: [{vip: 10.0.0.1, port: 0o120, real_servers: [{address: 10.0.0.2, weight: 0x10}]}, {vip: 10.0.0.1, fwmark: 0x4c570000}]"))
	if err != nil {
		t.Fatal(err)
	}
	if vs := c.VirtualServers; vs[0].Port != 80 || vs[0].RealServers[0].Weight != 16 || vs[1].FWMark != 0x4c570000 {
		t.Errorf("port %d, weight %d, fwmark %#x", vs[0].Port, vs[0].RealServers[0].Weight, vs[1].FWMark)
	}
}

// syntaxLines builds a service of 300 real servers, with line bad (from
// 1) replaced by text.
func syntaxLines(bad int, text string) string {
	lines := []string{"virtual_servers:", "  - vip: 10.0.0.1", "    port: 80", "    real_servers:"}
	for i := 0; len(lines) < 304; i++ {
		lines = append(lines, fmt.Sprintf("      - address: 10.0.%d.%d", i/250, i%250+1))
	}
	lines[bad-1] = text
	return strings.Join(lines, "\n") + "\n"
}

// TestSyntaxErrorLine: a YAML syntax error is located at the offending
// line, not at the start of the block around it.
func TestSyntaxErrorLine(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"bad indentation deep in a list", syntaxLines(286, "     - address: 10.0.9.9"),
			`f.yaml:286:6: invalid YAML: did not find expected key`},
		// the fast path declines the file: yaml.v3 alone
		{"bad indentation, not ASCII", syntaxLines(286, "     - address: 10.0.9.9") + "# é\n",
			`f.yaml:286:6: invalid YAML: did not find expected key`},
		{"bad indentation after an anchor", strings.Replace(syntaxLines(286, "     - address: 10.0.9.9"), "port: 80", "port: &p 80", 1),
			`f.yaml:286:6: invalid YAML: did not find expected key`},
		{"a sequence under a mapping", "x: 1\na:\n  b: 1\n  c: 2\n  d: 1\n  - e\n",
			`f.yaml:6:3: invalid YAML: did not find expected key`},
		{"a mapping under a sequence", "x: 1\na:\n  - b: 1\n    c: 2\n  d: 3\n",
			`f.yaml:5:3: invalid YAML: did not find expected '-' indicator`},
		{"bad flow in a nested block", "x: 1\na:\n  b: {c: 1, d: 2]\n",
			`f.yaml:3:17: invalid YAML: did not find expected ',' or '}'`},
		{"in a second document", "director: {}\n---\nq: 1\na:\n  b: 1\n  c:\n    - 2\n   - d\n",
			`f.yaml:8:4: invalid YAML: did not find expected key`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tc.doc))
			if diff := cmp.Diff([]string{tc.want}, problemLines(t, err)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestServiceCheckProblemOnce: a field of the service's check that is
// wrong for each of its real servers is reported once, not once per real
// server (which would fill the list of problems and hide the others).
func TestServiceCheckProblemOnce(t *testing.T) {
	for _, tc := range []struct{ head, want string }{
		{"  - vip: 10.0.0.1\n    port: 80\n    mode: nat\n    check: {type: tcp, via: vip}\n",
			`f.yaml:5:29: virtual_servers[0].check.via: vip is for dr and tun real servers (a nat real server's check already goes through the director); the service's mode is nat`},
		{"  - vip: 10.0.0.1\n    fwmark: 7\n    check: {type: tcp}\n",
			`f.yaml:4:12: virtual_servers[0].check.port: missing (a real server of a fwmark service has no port of its own to check)`},
	} {
		var b strings.Builder
		b.WriteString("virtual_servers:\n" + tc.head + "    real_servers:\n")
		for i := range 1500 {
			fmt.Fprintf(&b, "      - address: 10.0.%d.%d\n", i/250, i%250+1)
		}
		line := strings.Count(b.String(), "\n") + 2
		b.WriteString("  - vip: 10.0.0.2\n    port: 0080\n")
		_, err := Parse("f.yaml", []byte(b.String()))
		want := []string{tc.want, fmt.Sprintf("f.yaml:%d:11: virtual_servers[1].port: 0080 has a leading zero; write 80", line)}
		if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	}
}
