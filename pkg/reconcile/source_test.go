package reconcile

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/health"
)

// TestReloadSourcesFromReloadedConfig: the source address of the checks
// through the VIP comes from the configuration being set up, at a reload
// the new one (its director.interface, its VIPs), not the one the loop
// started with, nor the one still running while the new one is checked.
func TestReloadSourcesFromReloadedConfig(t *testing.T) {
	text := func(iface, vip string) string {
		return fmt.Sprintf(`director:
  interface: %s
virtual_servers:
  - vip: %s
    port: 80
    mode: tun
    check: {type: tcp, via: vip}
    real_servers:
      - {address: 10.0.0.11}
`, iface, vip)
	}
	// The addresses of the director's interfaces, first to last.
	addrs := map[string][]netip.Addr{
		"eth0": {netip.MustParseAddr("192.0.2.1")},
		"eth1": {netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.2")},
	}
	// As run's: the first address of director.interface that is no VIP.
	source := func(cfg *config.Config, v6 bool) (netip.Addr, error) {
		for _, a := range addrs[cfg.Director.Interface] {
			if !slices.ContainsFunc(cfg.VirtualServers, func(vs config.VirtualServer) bool { return vs.VIP == a }) {
				return a, nil
			}
		}
		return netip.Addr{}, fmt.Errorf("%s has no address besides the VIPs", cfg.Director.Interface)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "lvs-rs.yaml")
	writeConfig(t, file, text("eth0", "10.0.0.100"))
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	lp, err := New(Options{Config: cfg, File: file, StateDir: filepath.Join(dir, "state"), Source: source,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	// Run is not running: the test is the loop's goroutine.
	sourceOf := func() string {
		for _, tg := range lp.setup.Targets {
			if tg.Spec.Via == health.ThroughVIP {
				return tg.Source.String()
			}
		}
		return "none"
	}
	if got := sourceOf(); got != "192.0.2.1" {
		t.Fatalf("source at start: %s, want 192.0.2.1", got)
	}
	for _, c := range []struct{ iface, vip, want string }{
		{"eth1", "10.0.0.100", "198.51.100.1"},   // director.interface changed
		{"eth1", "198.51.100.1", "198.51.100.2"}, // a VIP on it now
	} {
		writeConfig(t, file, text(c.iface, c.vip))
		lp.doReload()
		if !lp.cfgStatus.Accepted {
			t.Fatalf("reload to interface %s, VIP %s rejected: %s", c.iface, c.vip, lp.cfgStatus.Rejection)
		}
		if got := sourceOf(); got != c.want {
			t.Fatalf("source after a reload to interface %s, VIP %s: %s, want %s", c.iface, c.vip, got, c.want)
		}
	}
}
