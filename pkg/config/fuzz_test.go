package config

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that its problems are proper
// one-line Errors about the file, that it is deterministic, and that a
// Config it accepts passes the independent re-validation of checkConfig;
// also that its YAML fast path builds the tree yaml.v3 would (checkFast).
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile(filepath.Join("testdata", "example.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte(specExample))
	for _, tc := range badCases() {
		f.Add([]byte(tc.doc))
	}
	for _, tc := range wave2BadCases() {
		f.Add([]byte(tc.doc))
	}
	for _, tc := range wave3BadCases() {
		f.Add([]byte(tc.doc))
	}
	for _, tc := range wave4BadCases() {
		f.Add([]byte(tc.doc))
	}
	f.Add([]byte("x-a: &a {port: 80, mode: nat}\nvirtual_servers: [{<<: *a, vip: 10.0.0.1, real_servers: [{address: 10.0.0.2, port: 0}]}]"))
	f.Add([]byte("virtual_servers: [{vip: '2001:db8::1', fwmark: 9, persistence: 1, persistence_netmask: 64}]"))
	// tabs in the indentation, of a key and of a block scalar; loopback
	// real and sorry servers
	f.Add([]byte("virtual_servers:\n- vip: 10.0.0.1\n  port: 80\n  scheduler: |\n  \trr\n\tmode: nat\n"))
	f.Add([]byte("virtual_servers: [{vip: 10.0.0.1, port: 80, sorry_server: 127.0.0.1, real_servers: [{address: 127.0.0.2, mode: tun}]}]"))

	f.Fuzz(func(t *testing.T, data []byte) {
		checkFast(t, data) // the fast path reads as yaml.v3 does
		c, err := Parse("f.yaml", data)
		c2, err2 := Parse("f.yaml", data)
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) {
			t.Fatalf("Parse is not deterministic: %v / %v", err, err2)
		}
		if err != nil {
			if c != nil {
				t.Fatal("a Config and an error")
			}
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %T is not a non-empty Errors: %v", err, err)
			}
			for _, e := range es {
				if e.File != "f.yaml" || e.Problem == "" || e.Line < 0 || strings.ContainsAny(e.Error(), "\n\r") {
					t.Fatalf("bad problem %#v", e)
				}
			}
			return
		}
		if cmpDiff(c, c2) != "" {
			t.Fatal("Parse is not deterministic")
		}
		if c.Source != "f.yaml" {
			t.Fatalf("Source = %q", c.Source)
		}
		if err := checkConfig(c); err != nil {
			t.Fatalf("accepted an invalid config: %v\n%s", err, data)
		}
		if _, err := c.RealServerVIPs(func(netip.Addr) bool { return true }); err != nil && !strings.Contains(err.Error(), "one host serves a VIP in one mode") {
			t.Fatalf("RealServerVIPs: %v", err)
		}
	})
}
