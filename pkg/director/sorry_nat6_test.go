package director

import (
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/config"
)

// TestSorryServerNAT6Forwards: an IPv6 nat service's sorry server is
// forwarded to as a nat real server is, so IPv6 forwarding is wanted even
// when every real server of the service is dr.
func TestSorryServerNAT6Forwards(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte(`
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
`))
	if err != nil {
		t.Fatal(err)
	}
	d := DesiredFrom(cfg)
	if _, ok := d.wanted(forwarding6); !ok {
		t.Errorf("IPv6 nat sorry server: no net/ipv6/conf/all/forwarding wanted")
	}
}
