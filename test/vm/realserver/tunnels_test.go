package realserver

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	directorrole "github.com/lvs-rs/lvs-rs/pkg/director"
	rs "github.com/lvs-rs/lvs-rs/pkg/realserver"
	"github.com/lvs-rs/lvs-rs/pkg/state"
	"github.com/lvs-rs/lvs-rs/pkg/tunnel"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
)

// tunnelCluster is the cluster file of a TUN preset whose real servers are
// reached through tunnel (a YAML flow mapping).
func tunnelCluster(t *testing.T, p *topo.Preset, tun string) *config.Config {
	t.Helper()
	doc := fmt.Sprintf(`director:
  interface: %s
virtual_servers:
  - vip: %s
    port: 80
    scheduler: rr
    mode: tun
    real_servers:
      - {address: %s, tunnel: %s}
      - {address: %s, tunnel: %s}
`, p.DirectorIface, p.VIP, p.RS1IP, tun, p.RS2IP, tun)
	cfg, err := config.Parse("cluster.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// fouPorts lists the namespace's IPv4 FOU and GUE receive ports, and
// whether fou is loaded.
func fouPorts(t *testing.T, ns *topo.NS) (ports []tunnel.FOUPort, loaded bool) {
	t.Helper()
	err := ns.Do(func() error {
		f, err := tunnel.DialFOU()
		if err != nil {
			return err
		}
		defer f.Close()
		if loaded, err = f.Loaded(); err != nil || !loaded {
			return err
		}
		ports, err = f.Ports()
		return err
	})
	if err != nil {
		t.Fatalf("%s: fou ports: %v", ns.Name(), err)
	}
	return ports, loaded
}

// addGUE adds a GUE receive port by hand (ip fou add port PORT gue),
// loading fou.
func addGUE(t *testing.T, ns *topo.NS, port uint16) {
	t.Helper()
	err := ns.Do(func() error {
		f, err := tunnel.DialFOU()
		if err != nil {
			return err
		}
		defer f.Close()
		if err := f.Load(context.Background()); err != nil {
			return err
		}
		return f.AddGUE(port)
	})
	if err != nil {
		t.Fatalf("%s: add gue port %d by hand: %v", ns.Name(), port, err)
	}
}

// tunState is what a tun real server's start may change, read from the
// kernel: every sysctl of the policy that exists, the two fallback
// devices, the addresses on them and the GUE receive ports.
type tunState struct {
	sysctls map[string]string
	links   map[string][2]bool // exists, up
	addrs   []vip.Addr
	ports   []tunnel.FOUPort
}

func readTunState(t *testing.T, h *host) tunState {
	t.Helper()
	s := tunState{sysctls: map[string]string{}, links: map[string][2]bool{}}
	for _, dev := range []string{"all", "lo", tunnel.Dev, tunnel.GREDev} {
		for _, p := range []string{"arp_ignore", "arp_announce", "rp_filter"} {
			if v, err := h.ns.ReadSysctl(key(dev, p)); err == nil {
				s.sysctls[key(dev, p)] = v
			}
		}
	}
	for _, dev := range []string{tunnel.Dev, tunnel.GREDev} {
		ex, up := h.link(dev)
		s.links[dev] = [2]bool{ex, up}
		if ex {
			s.addrs = append(s.addrs, h.addrs(dev)...)
		}
	}
	s.ports, _ = fouPorts(t, h.ns)
	return s
}

// restored compares a real server's state after stop with the one before
// start: equal, except the parameters of a device that start created (a
// module lvs-rs loaded stays loaded, its device down), which must be back
// at the values the record had as their priors (the kernel's defaults).
func restored(t *testing.T, name string, before, after tunState, priors map[string]string) {
	t.Helper()
	for k, v := range after.sysctls {
		want, ok := before.sysctls[k]
		if !ok {
			want, ok = priors[k]
		}
		if ok && v != want {
			t.Errorf("%s: after stop %s = %s, want %s", name, k, v, want)
		}
	}
	for dev, l := range after.links {
		if b := before.links[dev]; l[1] != b[1] {
			t.Errorf("%s: after stop %s up=%v, before start up=%v", name, dev, l[1], b[1])
		}
	}
	if !slices.Equal(before.addrs, after.addrs) {
		t.Errorf("%s: addresses on tunl0/gre0 after stop %v, before start %v", name, after.addrs, before.addrs)
	}
	if !slices.Equal(before.ports, after.ports) {
		t.Errorf("%s: GUE receive ports after stop %+v, before start %+v", name, after.ports, before.ports)
	}
}

// refused reports whether a connection from the client to the VIP fails
// within a few seconds (no real server takes the director's packets).
func refused(p *topo.Preset) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c, err := p.Client.DialContext(ctx, "tcp", p.VIP.String()+":80")
	if err == nil {
		c.Close()
	}
	return err != nil
}

// tunnelRequest runs real requests through a director started by lvs-rs
// from a cluster file whose real servers are reached through tun (a YAML
// flow mapping), to two real servers started by lvs-rs from the same
// file (their bindings come from config.RealServerVIPs, as start --config
// finds them). rs1 starts clean; rs2 has all/rp_filter=1 (which start
// must lift) and, for gue, the GUE receive port already (added by hand:
// adopted, so stop leaves it). check looks at each real server once
// started. Then stop on the real servers puts each back as it was, and
// the VIP no longer answers.
func tunnelRequest(t *testing.T, tun string, check func(t *testing.T, h *host, vip netip.Addr)) {
	p := topo.TUN(t)
	cfg := tunnelCluster(t, p, tun)
	gue := strings.Contains(tun, "gue")
	var hosts []*host
	befores := map[*host]tunState{}
	for i, ns := range []*topo.NS{p.RS1, p.RS2} {
		h := newHost(t, ns)
		addr := []netip.Addr{p.RS1IP, p.RS2IP}[i]
		if i == 1 {
			h.setSysctl(key("all", "rp_filter"), "1")
			if gue {
				addGUE(t, ns, 6080)
			}
		}
		befores[h] = readTunState(t, h)
		bindings, err := cfg.RealServerVIPs(func(a netip.Addr) bool { return a == addr })
		if err != nil || len(bindings) != 1 {
			t.Fatalf("%s: bindings %+v, %v", ns.Name(), bindings, err)
		}
		d := rs.Desired{Bindings: bindings}
		res := h.start(d)
		t.Logf("%s start:\n%s", ns.Name(), strings.Join(changes(res.Changes), "\n"))
		if res := h.start(d); len(res.Changes) != 0 {
			t.Errorf("%s: second start: %q", ns.Name(), changes(res.Changes))
		}
		if r := h.status(); len(r.Drift) != 0 {
			t.Errorf("%s: drift after start: %q", ns.Name(), r.Drift)
		}
		check(t, h, p.VIP)
		if _, err := ns.ServeEcho(p.VIP.String() + ":80"); err != nil {
			t.Fatal(err)
		}
		hosts = append(hosts, h)
	}

	o := directorrole.Options{StateDir: filepath.Join(t.TempDir(), "director"), Handle: p.Director.Handle(), NetNS: int(p.Director.NsHandle())}
	if err := p.Director.Do(func() error { _, err := directorrole.Start(context.Background(), cfg, o); return err }); err != nil {
		t.Fatalf("director start: %v", err)
	}
	t.Cleanup(func() {
		p.Director.Do(func() error { _, err := directorrole.Stop(context.Background(), o); return err })
	})
	hitBoth(t, p, 6)

	for _, h := range hosts {
		priors := recordPriors(t, h)
		h.stop()
		restored(t, h.ns.Name(), befores[h], readTunState(t, h), priors)
		if res := h.stop(); len(res.Changes) != 0 {
			t.Errorf("%s: second stop: %q", h.ns.Name(), changes(res.Changes))
		}
	}
	if !refused(p) {
		t.Error("the VIP still answers after stop on both real servers: the requests did not need what lvs-rs set up")
	}
}

// recordPriors returns the priors of the sysctls in the real server's
// state record: for a device start created, what the kernel gave it.
func recordPriors(t *testing.T, h *host) map[string]string {
	t.Helper()
	var rec rs.Record
	if ok, err := (state.Store{Dir: h.opt.StateDir}).Load(rs.Role, &rec); !ok || err != nil {
		t.Fatalf("%s: no state record (%v)", h.ns.Name(), err)
	}
	out := map[string]string{}
	for _, r := range rec.Sysctls {
		out[r.Key] = r.Prior
	}
	return out
}

// TestGUERequest: requests reach both real servers through the director's
// GUE tunnel (UDP port 6080, csum): start from the cluster file adds the
// GUE receive port on 6080 (adopting rs2's, added by hand) and brings
// tunl0 up with the VIP on it; stop deletes rs1's port, leaves rs2's, and
// puts tunl0 and every parameter back.
func TestGUERequest(t *testing.T) {
	tunnelRequest(t, "{type: gue, port: 6080, flags: [csum]}", func(t *testing.T, h *host, v netip.Addr) {
		ports, loaded := fouPorts(t, h.ns)
		if !loaded || !slices.ContainsFunc(ports, func(p tunnel.FOUPort) bool { return p.Port == 6080 && p.GUE && !p.Bound }) {
			t.Errorf("%s: GUE receive ports %+v (fou loaded %v), want 6080", h.ns.Name(), ports, loaded)
		}
		if ex, up := h.link(tunnel.Dev); !ex || !up {
			t.Errorf("%s: tunl0 exists=%v up=%v", h.ns.Name(), ex, up)
		}
		if !slices.ContainsFunc(h.addrs(tunnel.Dev), func(a vip.Addr) bool { return a.Prefix == vip.HostPrefix(v) }) {
			t.Errorf("%s: tunl0 holds %v, want the VIP", h.ns.Name(), h.addrs(tunnel.Dev))
		}
		r := h.status()
		if len(r.FOU) != 1 || !r.FOU[0].Present || r.FOU[0].Port != 6080 {
			t.Errorf("%s: status fou %+v", h.ns.Name(), r.FOU)
		}
		want := map[string]string{"rs1": "lvs-rs", "rs2": "adopted"}[h.ns.Name()]
		if len(r.FOU) == 1 && r.FOU[0].Owner != want {
			t.Errorf("%s: the GUE port's owner is %q, want %q", h.ns.Name(), r.FOU[0].Owner, want)
		}
	})
}

// TestGRERequest: requests reach both real servers through the director's
// GRE tunnel: start from the cluster file loads ip_gre, brings gre0 up
// with the VIP on it and rp_filter=0 on gre0 and all; stop sets gre0 down
// again and puts every parameter back.
func TestGRERequest(t *testing.T) {
	tunnelRequest(t, "{type: gre}", func(t *testing.T, h *host, v netip.Addr) {
		if ex, up := h.link(tunnel.GREDev); !ex || !up {
			t.Errorf("%s: gre0 exists=%v up=%v", h.ns.Name(), ex, up)
		}
		want := vip.Addr{Dev: tunnel.GREDev, Prefix: vip.HostPrefix(v), Label: "gre0:0"}
		if !h.has(want) {
			t.Errorf("%s: gre0 holds %v, want %v", h.ns.Name(), h.addrs(tunnel.GREDev), want)
		}
		for _, k := range []string{key(tunnel.GREDev, "rp_filter"), key("all", "rp_filter")} {
			if v := h.sysctl(k); v != "0" {
				t.Errorf("%s: %s = %s, want 0", h.ns.Name(), k, v)
			}
		}
		if ex, up := h.link(tunnel.Dev); ex && up {
			t.Errorf("%s: tunl0 is up, though gre needs only gre0", h.ns.Name())
		}
		if r := h.status(); r.GRE == nil || !r.GRE.Up || r.Tunnel != nil {
			t.Errorf("%s: status gre %+v, tunnel %+v", h.ns.Name(), r.GRE, r.Tunnel)
		}
	})
}
