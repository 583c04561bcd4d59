package config

import (
	"net/netip"
	"testing"
)

// localTo returns an isLocal function for the given addresses.
func localTo(t *testing.T, addrs ...string) func(netip.Addr) bool {
	set := map[netip.Addr]bool{}
	for _, a := range addrs {
		set[ip(t, a)] = true
	}
	return func(a netip.Addr) bool { return set[a] }
}

func TestRealServerVIPs(t *testing.T) {
	const doc = `virtual_servers:
  - {vip: 10.0.0.100, port: 80, real_servers: [{address: 10.0.0.11}, {address: 10.0.0.12}]}
  - {vip: 10.0.0.100, port: 443, real_servers: [{address: 10.0.0.11}]}
  - {vip: 10.0.0.101, port: 80, mode: tun, real_servers: [{address: 10.0.0.11}]}
  - {vip: 10.0.0.102, port: 80, mode: nat, real_servers: [{address: 10.0.0.11}]}
  - {vip: 10.0.0.100, port: 8080, mode: nat, real_servers: [{address: 10.0.0.11}]}
  - {vip: '2001:db8::100', port: 80, real_servers: [{address: '2001:db8::11'}]}
  - {vip: 10.0.0.103, fwmark: 3, real_servers: [{address: 10.0.0.11, mode: tun}]}
  - {vip: 10.0.0.99, port: 80, real_servers: [{address: 10.0.0.12}]}
  - {vip: 10.0.0.98, port: 80, real_servers: []}
`
	c, err := Parse("f.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.RealServerVIPs(localTo(t, "10.0.0.11", "2001:db8::11", "10.0.0.98"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Binding{
		{VIP: ip(t, "10.0.0.100"), Mode: ModeDR},
		{VIP: ip(t, "10.0.0.100"), Mode: ModeNAT},
		{VIP: ip(t, "10.0.0.101"), Mode: ModeTUN, Tunnel: TunnelIPIP},
		{VIP: ip(t, "10.0.0.102"), Mode: ModeNAT},
		{VIP: ip(t, "10.0.0.103"), Mode: ModeTUN, Tunnel: TunnelIPIP},
		{VIP: ip(t, "2001:db8::100"), Mode: ModeDR},
	}
	if diff := cmpDiff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	got, err = c.RealServerVIPs(localTo(t, "10.0.0.12"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmpDiff([]Binding{{VIP: ip(t, "10.0.0.99"), Mode: ModeDR}, {VIP: ip(t, "10.0.0.100"), Mode: ModeDR}}, got); diff != "" {
		t.Errorf("10.0.0.12 (-want +got):\n%s", diff)
	}

	got, err = c.RealServerVIPs(localTo(t, "192.0.2.1"))
	if err != nil || len(got) != 0 {
		t.Errorf("a host in no service got %v, %v; want nothing", got, err)
	}
}

func TestRealServerVIPsConflict(t *testing.T) {
	const doc = `virtual_servers:
  - {vip: 10.0.0.100, port: 80, real_servers: [{address: 10.0.0.11}, {address: 10.0.0.12}]}
  - {vip: 10.0.0.100, port: 443, mode: tun, real_servers: [{address: 10.0.0.11}, {address: 10.0.0.13}]}
`
	c, err := Parse("f.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.RealServerVIPs(localTo(t, "10.0.0.11"))
	want := "f.yaml: VIP 10.0.0.100 would be bound in dr mode for virtual_servers[0] (tcp 10.0.0.100:80) and in tun mode for virtual_servers[1] (tcp 10.0.0.100:443) on this host; one host serves a VIP in one mode"
	if err == nil || err.Error() != want {
		t.Errorf("RealServerVIPs() error = %v;\nwant %s", err, want)
	}
	// The hosts that serve the VIP in one mode only are fine.
	for _, host := range []string{"10.0.0.12", "10.0.0.13"} {
		if _, err := c.RealServerVIPs(localTo(t, host)); err != nil {
			t.Errorf("host %s: %v", host, err)
		}
	}
}

func TestFWMarkKey(t *testing.T) {
	a := VirtualServer{VIP: ip(t, "10.0.0.1"), FWMark: 5, Protocol: TCP}
	b := VirtualServer{VIP: ip(t, "10.0.0.2"), FWMark: 5}
	c := VirtualServer{VIP: ip(t, "2001:db8::1"), FWMark: 5}
	if a.Key() != b.Key() {
		t.Errorf("fwmark keys differ by VIP: %v, %v", a.Key(), b.Key())
	}
	if a.Key() == c.Key() {
		t.Errorf("fwmark keys of two families are equal: %v", a.Key())
	}
	if got, want := a.Key().String(), "fwmark 5 (inet)"; got != want {
		t.Errorf("String() = %q; want %q", got, want)
	}
	if got, want := c.Key().String(), "fwmark 5 (inet6)"; got != want {
		t.Errorf("String() = %q; want %q", got, want)
	}
}

// TestRealServerVIPsCarryTunnel: a tun real server's binding carries its
// tunnel (type, gue port, flag), so that the real server sets up the end
// the director sends to; one VIP reached by two tunnels is two bindings,
// and gue next to gre on one VIP is no conflict (both are tun).
func TestRealServerVIPsCarryTunnel(t *testing.T) {
	const doc = `virtual_servers:
  - vip: 10.0.0.100
    port: 80
    mode: tun
    real_servers:
      - {address: 10.0.0.11, tunnel: {type: gue, port: 6080, flags: [remcsum]}}
      - {address: 10.0.0.12, tunnel: {type: gre, flags: [csum]}}
  - vip: 10.0.0.100
    port: 443
    mode: tun
    real_servers:
      - {address: 10.0.0.11}
      - {address: 10.0.0.12, tunnel: {type: gue, port: 6081}}
`
	c, err := Parse("f.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	v := ip(t, "10.0.0.100")
	for _, tc := range []struct {
		host string
		want []Binding
	}{
		{"10.0.0.11", []Binding{
			{VIP: v, Mode: ModeTUN, Tunnel: TunnelGUE, TunnelPort: 6080, TunnelFlag: TunnelRemCsum},
			{VIP: v, Mode: ModeTUN, Tunnel: TunnelIPIP},
		}},
		{"10.0.0.12", []Binding{
			{VIP: v, Mode: ModeTUN, Tunnel: TunnelGRE, TunnelFlag: TunnelCsum},
			{VIP: v, Mode: ModeTUN, Tunnel: TunnelGUE, TunnelPort: 6081},
		}},
	} {
		got, err := c.RealServerVIPs(localTo(t, tc.host))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmpDiff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.host, diff)
		}
	}
}

// TestRealServerVIPsSorryServer: the director adds a sorry server in its
// service's mode, so the sorry server's host binds the VIP as a real
// server of that mode does (dr on lo, tun on tunl0; nat binds nothing but
// takes the gateway), and a mode clash with its real-server role on the
// same VIP is the usual error.
func TestRealServerVIPsSorryServer(t *testing.T) {
	const doc = `virtual_servers:
  - {vip: 10.0.0.100, port: 80, mode: dr, sorry_server: 10.0.0.99, real_servers: [{address: 10.0.0.12}]}
  - {vip: 10.0.0.101, port: 80, mode: tun, sorry_server: 10.0.0.99, real_servers: [{address: 10.0.0.12, mode: dr}]}
  - {vip: 10.0.0.102, port: 80, mode: nat, sorry_server: 10.0.0.98, real_servers: [{address: 10.0.0.12}]}
  - {vip: '2001:db8::100', port: 80, sorry_server: '2001:db8::99', real_servers: []}
  - {vip: 10.0.0.100, port: 443, mode: tun, real_servers: [{address: 10.0.0.97}]}
  - {vip: 10.0.0.100, port: 8443, mode: dr, sorry_server: 10.0.0.97, real_servers: [{address: 10.0.0.12}]}
`
	c, err := Parse("f.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		host string
		want []Binding
	}{
		{"10.0.0.99", []Binding{{VIP: ip(t, "10.0.0.100"), Mode: ModeDR}, {VIP: ip(t, "10.0.0.101"), Mode: ModeTUN, Tunnel: TunnelIPIP}}},
		{"10.0.0.98", []Binding{{VIP: ip(t, "10.0.0.102"), Mode: ModeNAT}}},
		{"2001:db8::99", []Binding{{VIP: ip(t, "2001:db8::100"), Mode: ModeDR}}},
		{"10.0.0.12", []Binding{{VIP: ip(t, "10.0.0.100"), Mode: ModeDR}, {VIP: ip(t, "10.0.0.101"), Mode: ModeDR}, {VIP: ip(t, "10.0.0.102"), Mode: ModeNAT}}},
	} {
		got, err := c.RealServerVIPs(localTo(t, tc.host))
		if err != nil {
			t.Errorf("%s: %v", tc.host, err)
			continue
		}
		if diff := cmpDiff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.host, diff)
		}
	}
	_, err = c.RealServerVIPs(localTo(t, "10.0.0.97"))
	want := "f.yaml: VIP 10.0.0.100 would be bound in tun mode for virtual_servers[4] (tcp 10.0.0.100:443) and in dr mode for virtual_servers[5] (tcp 10.0.0.100:8443) on this host; one host serves a VIP in one mode"
	if err == nil || err.Error() != want {
		t.Errorf("10.0.0.97: error %v;\nwant %s", err, want)
	}
}

// TestSorryServerNATForwards: a nat service's sorry server is forwarded to
// as a nat real server is, so ip_forward and send_redirects default as
// they do for one, even in a service without real servers.
func TestSorryServerNATForwards(t *testing.T) {
	c, err := Parse("f.yaml", []byte("virtual_servers:\n  - {vip: 10.0.0.100, port: 80, mode: nat, sorry_server: 10.0.0.98}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d := c.Director; !d.IPForward || !d.DisableRedirects {
		t.Errorf("ip_forward %v, send_redirects off %v; want both true for a nat sorry server", d.IPForward, d.DisableRedirects)
	}
}

// TestRealServerVIPsLoopback: a loopback real server or sorry server is
// the director serving the VIP itself (IPVS's local node); every host has
// that address, so it makes no host a real server of the VIP. A host
// that is a real server of another VIP (or of none) must not bind this
// one, nor see a mode conflict with it.
func TestRealServerVIPsLoopback(t *testing.T) {
	const doc = `virtual_servers:
  - {vip: 10.0.0.100, port: 80, real_servers: [{address: 10.0.0.11}]}
  - {vip: 10.0.0.100, port: 443, mode: tun, real_servers: [{address: 127.0.0.1}]}
  - {vip: 10.0.0.200, port: 80, sorry_server: 127.0.0.1, real_servers: [{address: 10.0.0.12}]}
  - {vip: '2001:db8::200', port: 80, real_servers: [{address: '::1'}]}
`
	c, err := Parse("f.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.RealServerVIPs(localTo(t, "10.0.0.11", "127.0.0.1", "::1"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmpDiff([]Binding{{VIP: ip(t, "10.0.0.100"), Mode: ModeDR}}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	got, err = c.RealServerVIPs(localTo(t, "192.0.2.1", "127.0.0.1", "::1"))
	if err != nil || len(got) != 0 {
		t.Errorf("a host in no service got %v, %v; want nothing", got, err)
	}
}
