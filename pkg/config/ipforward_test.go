package config

import "testing"

// TestIPForwardDefault: ip_forward (an IPv4 parameter) defaults to on only
// when an IPv4 service has a nat real server.
func TestIPForwardDefault(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      bool
	}{
		{"IPv6-only nat", "virtual_servers:\n  - {vip: '2001:db8::1', port: 80, mode: nat, real_servers: [{address: '2001:db8::2'}]}\n", false},
		{"IPv4 nat", "virtual_servers:\n  - {vip: 10.0.0.1, port: 80, mode: nat, real_servers: [{address: 10.0.0.2}]}\n", true},
		{"IPv4 nat real server under a dr service", "virtual_servers:\n  - {vip: 10.0.0.1, port: 80, real_servers: [{address: 10.0.0.2, mode: nat}]}\n", true},
		{"IPv6 nat and IPv4 dr", "virtual_servers:\n  - {vip: '2001:db8::1', port: 80, mode: nat, real_servers: [{address: '2001:db8::2'}]}\n  - {vip: 10.0.0.1, port: 80, real_servers: [{address: 10.0.0.2}]}\n", false},
		{"IPv6 nat, explicit true", "director: {ip_forward: true}\nvirtual_servers:\n  - {vip: '2001:db8::1', port: 80, mode: nat, real_servers: [{address: '2001:db8::2'}]}\n", true},
		{"IPv4 nat, explicit false", "director: {ip_forward: false}\nvirtual_servers:\n  - {vip: 10.0.0.1, port: 80, mode: nat, real_servers: [{address: 10.0.0.2}]}\n", false},
	} {
		cfg, err := Parse("f.yaml", []byte(tc.doc))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if cfg.Director.IPForward != tc.want {
			t.Errorf("%s: IPForward = %v, want %v", tc.name, cfg.Director.IPForward, tc.want)
		}
	}
}
