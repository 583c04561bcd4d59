package director

import (
	"strings"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/config"
)

// TestSorryServerNAT6Forwards: an IPv6 nat service's sorry server is
// forwarded to as a nat real server is, so IPv6 forwarding is wanted even
// when every real server of the service is dr; without the sorry server
// it is not.
func TestSorryServerNAT6Forwards(t *testing.T) {
	const yaml = `
director:
  interface: eth0
virtual_servers:
  - vip: 2001:db8::100
    port: 80
    protocol: tcp
    mode: nat
    scheduler: wrr
    sorry_server: 2001:db8::50
    real_servers:
      - address: 2001:db8::11
        mode: dr
`
	for _, tc := range []struct {
		name string
		yaml string
		want bool
	}{
		{"with the sorry server", yaml, true},
		{"without it", strings.Replace(yaml, "    sorry_server: 2001:db8::50\n", "", 1), false},
	} {
		cfg, err := config.Parse("t.yaml", []byte(tc.yaml))
		if err != nil {
			t.Fatal(err)
		}
		v, ok := DesiredFrom(cfg).wanted(forwarding6)
		if got := ok && v == "1"; got != tc.want {
			t.Errorf("IPv6 nat service, real servers dr, %s: net/ipv6/conf/all/forwarding wanted %q (%v), want 1: %v", tc.name, v, ok, tc.want)
		}
	}
}
