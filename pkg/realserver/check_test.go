package realserver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadChecksRecord: a record of an unknown version, or one naming
// what the real-server role never creates, is refused with one line
// naming the file and what to do; a good record of versions 1 to 4 loads.
func TestLoadChecksRecord(t *testing.T) {
	for _, c := range []struct {
		name, json string
		want       string // "" = loads
	}{
		{"version 2", `{"version": 2, "desired": {"bindings": []}}`, ""},
		{"version 1 with an old route", `{"version": 1, "desired": {"bindings": []}, "route": {"replaced": {"dst": "0.0.0.0/0", "gateway": "10.0.0.1", "dev": "eth0", "metric": 0}}}`, ""},
		{"no version", `{"desired": {"bindings": []}}`, "version 0 is not one this lvs-rs reads"},
		{"future version", `{"version": 6}`, "version 6 is not one this lvs-rs reads"},
		{"version 5: a route per family", `{"version": 5, "desired": {"bindings": [], "gateway": "10.0.0.1", "gateway6": "2001:db8::1"}, "route": {"created": {"dst": "0.0.0.0/0", "gateway": "10.0.0.1", "metric": 0}}, "route6": {"created": {"dst": "::/0", "gateway": "2001:db8::1", "metric": 1}, "was": {"dst": "::/0", "gateway": "2001:db8::2", "metric": 1}}}`, ""},
		{"route6 alone", `{"version": 5, "route6": {"created": {"dst": "::/0", "gateway": "2001:db8::1", "metric": 1}}}`, "route6: set only for an IPv6 route next to an IPv4 one in route"},
		{"route6 next to an IPv6 route", `{"version": 5, "route": {"created": {"dst": "::/0", "gateway": "2001:db8::2", "metric": 1}}, "route6": {"created": {"dst": "::/0", "gateway": "2001:db8::1", "metric": 1}}}`, "route6: set only for an IPv6 route next to an IPv4 one in route"},
		{"route6 holding an IPv4 route", `{"version": 5, "route": {"created": {"dst": "0.0.0.0/0", "gateway": "10.0.0.1", "metric": 0}}, "route6": {"created": {"dst": "0.0.0.0/0", "gateway": "10.0.0.2", "metric": 5}}}`, "route6: set only for an IPv6 route next to an IPv4 one in route"},
		{"route6.was alone", `{"version": 5, "route": {"created": {"dst": "0.0.0.0/0", "gateway": "10.0.0.1", "metric": 0}}, "route6": {"replaced": {"dst": "::/0", "gateway": "2001:db8::1", "metric": 1}, "was": {"dst": "::/0", "gateway": "2001:db8::2", "metric": 1}}}`, "route6.was: default (inet6) via 2001:db8::2 metric 1 is not in the slot of route6.created"},
		{"version 4: gue and gre", `{"version": 4, "desired": {"bindings": [{"vip": "10.0.0.100", "mode": "tun", "tunnel": "gue", "port": 6080}, {"vip": "10.0.0.101", "mode": "tun", "tunnel": "gre"}]}, "addresses": [{"dev": "gre0", "prefix": "10.0.0.101/32"}], "sysctls": [{"key": "net/ipv4/conf/gre0/rp_filter", "prior": "1", "wrote": "0"}], "gre": {"dev": "gre0", "was_up": false}, "fou": [{"port": 6080}]}`, ""},
		{"gre device", `{"version": 4, "gre": {"dev": "tunl0", "was_up": false}}`, `gre: device "tunl0" is not gre0`},
		{"fou port 0", `{"version": 4, "fou": [{"port": 0}]}`, `fou[0]: port 0 is 0 or listed twice`},
		{"fou port twice", `{"version": 4, "fou": [{"port": 6080}, {"port": 6080}]}`, `fou[1]: port 6080 is 0 or listed twice`},
		{"sysctl outside the policy", `{"version": 2, "sysctls": [{"key": "net/ipv4/../../../../etc/shadow", "prior": "", "wrote": "1"}]}`, `sysctls[0]: "net/ipv4/../../../../etc/shadow" is not a parameter`},
		{"address on another device", `{"version": 2, "addresses": [{"dev": "eth0", "prefix": "10.0.0.1/32"}]}`, `addresses[0]: device "eth0" is not lo, tunl0 or gre0`},
		{"address prefix", `{"version": 2, "addresses": [{"dev": "lo", "prefix": "10.0.0.0/8"}]}`, `not a single-address prefix`},
		{"tunnel device", `{"version": 2, "tunnel": {"dev": "eth0", "was_up": false}}`, `tunnel: device "eth0" is not tunl0`},
		{"route not default", `{"version": 2, "route": {"created": {"dst": "10.0.0.0/8", "metric": 0}}}`, `route.created: "10.0.0.0/8" is not a default route`},
		{"gateway change under way", `{"version": 3, "route": {"created": {"dst": "0.0.0.0/0", "gateway": "10.0.0.2", "metric": 0}, "was": {"dst": "0.0.0.0/0", "gateway": "10.0.0.1", "metric": 0}}}`, ""},
		{"route.was alone", `{"version": 2, "route": {"was": {"dst": "0.0.0.0/0", "gateway": "10.0.0.1", "metric": 0}}}`, `route.was: default via 10.0.0.1 metric 0 is not in the slot of route.created`},
		{"not JSON", `{"version": 2,`, "realserver.json"},
		{"wrong type", `{"version": "two"}`, "realserver.json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, Role+".json")
			if err := os.WriteFile(path, []byte(c.json), 0o600); err != nil {
				t.Fatal(err)
			}
			_, ok, err := Options{StateDir: dir}.load()
			if c.want == "" {
				if err != nil || !ok {
					t.Fatalf("load = %v, %v", ok, err)
				}
				return
			}
			if err == nil {
				t.Fatal("load accepted the record")
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) || !strings.Contains(msg, path) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line naming %s and %q", msg, path, c.want)
			}
			if !strings.Contains(msg, "delete the file") && !strings.Contains(msg, "remove it") {
				t.Errorf("error %q does not say what to do", msg)
			}
		})
	}
}
