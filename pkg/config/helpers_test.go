package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// cmpDiff compares resolved values, netip.Addr included.
func cmpDiff(want, got any) string {
	return cmp.Diff(want, got, cmpopts.EquateComparable(netip.Addr{}, netip.AddrPort{}))
}

// specExample is the annotated configuration of the product contract, verbatim.
const specExample = `director:
  interface: eth0              # VIPs are bound here, label eth0:N, /32 (IPv4) or /128 (IPv6)
  # ip_forward: true           # default: true when any real server uses nat
realserver:
  # gateway: 10.0.0.1          # nat: default route via the director
virtual_servers:
  - vip: 10.0.0.100
    port: 80                   # 0 together with persistence = every port (persistent client connections)
    protocol: tcp              # tcp | udp | sctp
    # fwmark: 10               # instead of vip:port, a firewall-mark service (the VIP is still bound)
    scheduler: wrr             # rr wrr lc wlc lblc lblcr dh sh sed nq mh fo ovf
    # persistence: 360         # seconds; absent or 0 = off
    # persistence_netmask: 255.255.255.0
    mode: dr                   # dr | tun | nat — default for its real servers
    real_servers:
      - address: 10.0.0.11
        weight: 5              # 0 = quiesced (no new connections); default 1
      - address: 10.0.0.12
        port: 8080             # nat only; dr and tun forward to the VIP's own port
        mode: nat              # per real server override
`

// ip parses an address or fails the test.
func ip(t testing.TB, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// problemLines returns the lines of err, which must be Errors.
func problemLines(t testing.TB, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error is %T, not Errors: %v", err, err)
	}
	return strings.Split(err.Error(), "\n")
}

// checkConfig re-validates a resolved Config independently of the
// validator: what every Config handed out must satisfy.
func checkConfig(c *Config) error {
	if c.Director.Interface != "" {
		if p := checkInterface(c.Director.Interface); p != "" {
			return fmt.Errorf("interface %q: %s", c.Director.Interface, p)
		}
	}
	// A link-local IPv6 gateway has a zone, which no other address has.
	for i, g := range c.RealServer.Gateways {
		if !g.IsValid() || (g.Zone() != "") != (g.Is6() && g.IsLinkLocalUnicast()) || g.Is4In6() || g.IsUnspecified() || g.IsLoopback() {
			return fmt.Errorf("gateway %s", g)
		}
		if i > 0 && familyOf(c.RealServer.Gateways[i-1]) >= familyOf(g) {
			return fmt.Errorf("gateways %v: more than one of a family, or IPv6 first", c.RealServer.Gateways)
		}
	}
	keys := map[ServiceKey]bool{}
	for i, vs := range c.VirtualServers {
		if err := checkService(vs); err != nil {
			return fmt.Errorf("virtual_servers[%d]: %w", i, err)
		}
		if keys[vs.Key()] {
			return fmt.Errorf("virtual_servers[%d]: duplicate key %s", i, vs.Key())
		}
		keys[vs.Key()] = true
		if err := checkService2(vs); err != nil {
			return fmt.Errorf("virtual_servers[%d]: %w", i, err)
		}
	}
	return checkDirector2(c.Director)
}

// checkService re-validates one resolved virtual server.
func checkService(vs VirtualServer) error {
	bad := func(a netip.Addr) bool {
		return !a.IsValid() || a.Zone() != "" || a.Is4In6() || a.IsUnspecified() || a.IsMulticast()
	}
	switch {
	case bad(vs.VIP):
		return fmt.Errorf("bad vip %s", vs.VIP)
	case !vs.Protocol.Valid():
		return fmt.Errorf("bad protocol %q", vs.Protocol)
	case !ValidScheduler(vs.Scheduler):
		return fmt.Errorf("bad scheduler %q", vs.Scheduler)
	case !vs.Mode.Valid():
		return fmt.Errorf("bad mode %q", vs.Mode)
	case vs.FWMark == 0 && vs.Port == 0 && vs.Persistence == 0:
		return fmt.Errorf("port 0 without persistence")
	case vs.FWMark != 0 && vs.Port != 0:
		return fmt.Errorf("fwmark with port")
	case vs.Persistence > MaxPersistence:
		return fmt.Errorf("persistence %d", vs.Persistence)
	case vs.PersistenceNetmask < 1 || vs.PersistenceNetmask > vs.VIP.BitLen():
		return fmt.Errorf("netmask /%d", vs.PersistenceNetmask)
	}
	seen := map[netip.AddrPort]bool{}
	for j, rs := range vs.RealServers {
		switch {
		case bad(rs.Address) || rs.Address.Is4() != vs.VIP.Is4():
			return fmt.Errorf("real_servers[%d]: bad address %s for vip %s", j, rs.Address, vs.VIP)
		case !rs.Mode.Valid():
			return fmt.Errorf("real_servers[%d]: bad mode %q", j, rs.Mode)
		case rs.Weight < 0 || rs.Weight > 65535:
			return fmt.Errorf("real_servers[%d]: weight %d", j, rs.Weight)
		case rs.Mode != ModeNAT && rs.Port != vs.Port:
			return fmt.Errorf("real_servers[%d]: %s port %d on service port %d", j, rs.Mode, rs.Port, vs.Port)
		case seen[netip.AddrPortFrom(rs.Address, rs.Port)]:
			return fmt.Errorf("real_servers[%d]: duplicate", j)
		}
		seen[netip.AddrPortFrom(rs.Address, rs.Port)] = true
	}
	return nil
}

// withDefaults fills the defaults of the long-running director's fields
// that want leaves zero, so that tests about other fields stay short.
func withDefaults(want *Config) *Config {
	if want.Director.ReconcileInterval == 0 {
		want.Director.ReconcileInterval = DefaultReconcileInterval
	}
	for i := range want.VirtualServers {
		vs := &want.VirtualServers[i]
		if vs.OnFailure == "" {
			vs.OnFailure = OnFailureQuiesce
		}
		if vs.DrainTimeout == 0 {
			vs.DrainTimeout = DefaultDrainTimeout
		}
		for j := range vs.RealServers {
			if rs := &vs.RealServers[j]; rs.Mode == ModeTUN && rs.Tunnel.Type == "" {
				rs.Tunnel.Type = TunnelIPIP
			}
		}
	}
	return want
}
