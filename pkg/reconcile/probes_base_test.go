package reconcile

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/director"
)

// TestAddProbesKeepsBase: every pass adds the probes and accept_local to
// a copy of the setup's base desired state; the base keeps its sysctls.
// The copy shared the base's sysctl array, and accept_local was inserted
// into it: ip_forward (the last key) fell out of the base, and the pass
// after the first restored ip_forward=0 under a nat service.
func TestAddProbesKeepsBase(t *testing.T) {
	cfg, err := config.Parse("c.yaml", []byte(`director:
  interface: eth0
virtual_servers:
  - vip: 10.0.0.100
    port: 80
    mode: dr
    check: {type: tcp, via: vip}
    real_servers:
      - {address: 10.0.0.11}
  - vip: 10.0.0.200
    port: 443
    mode: nat
    real_servers:
      - {address: 10.0.0.11, port: 8443}
`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSetup(cfg)
	if err != nil {
		t.Fatal(err)
	}
	was := slices.Clone(s.Base.Sysctls)
	for pass := range 2 {
		d := s.Base
		s.AddProbes(&d)
		if diff := cmp.Diff(was, s.Base.Sysctls); diff != "" {
			t.Fatalf("pass %d: AddProbes changed the base's sysctls (-before +after):\n%s", pass, diff)
		}
		want := append(slices.Clone(was), director.SysctlWant{Key: "net/ipv4/conf/eth0/accept_local", Value: "1"})
		slices.SortFunc(want, func(a, b director.SysctlWant) int { return strings.Compare(a.Key, b.Key) })
		if diff := cmp.Diff(want, d.Sysctls); diff != "" {
			t.Fatalf("pass %d: the pass's sysctls (-want +got):\n%s", pass, diff)
		}
	}
}
