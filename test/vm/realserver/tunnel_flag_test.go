package realserver

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/topo"
	directorrole "github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/tunnel"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
)

// lvsrs runs the lvs-rs binary in ns with args, failing the test on a
// non-zero exit.
func lvsrs(t *testing.T, ns *topo.NS, args ...string) {
	t.Helper()
	bin := os.Getenv("LVSRS_BIN")
	if bin == "" {
		t.Fatal("LVSRS_BIN is not set (run in the VM)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := ns.Command(ctx, bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: lvs-rs %v: %v\n%s", ns.Name(), args, err, out)
	}
	t.Logf("%s: lvs-rs %v:\n%s", ns.Name(), args, out)
}

// TestTunnelFlagRequests: real servers started without a file, `lvs-rs
// start --role realserver --mode tun --vip VIP --tunnel gue:6080` on rs1
// and `--tunnel gre` on rs2, receive the requests a director sends them
// in those tunnels (the file's real_servers[].tunnel); stop takes the
// GUE port and the VIP on gre0 away again.
func TestTunnelFlagRequests(t *testing.T) {
	p := topo.TUN(t)
	cfg := tunnelCluster(t, p, "{type: gue, port: 6080}")
	cfg.VirtualServers[0].RealServers[1].Tunnel.Type, cfg.VirtualServers[0].RealServers[1].Tunnel.Port = "gre", 0
	dirs := map[*topo.NS]string{}
	for ns, tun := range map[*topo.NS]string{p.RS1: "gue:6080", p.RS2: "gre"} {
		dirs[ns] = filepath.Join(t.TempDir(), "state")
		lvsrs(t, ns, "start", "--role", "realserver", "--state-dir", dirs[ns], "--mode", "tun", "--vip", p.VIP.String(), "--tunnel", tun)
		if _, err := ns.ServeEcho(p.VIP.String() + ":80"); err != nil {
			t.Fatal(err)
		}
	}
	ports, loaded := fouPorts(t, p.RS1)
	if !loaded || !slices.ContainsFunc(ports, func(fp tunnel.FOUPort) bool { return fp.Port == 6080 && fp.GUE }) {
		t.Fatalf("rs1: GUE receive ports %+v (fou loaded %v), want 6080", ports, loaded)
	}
	rs2 := newHost(t, p.RS2)
	want := vip.Addr{Dev: tunnel.GREDev, Prefix: vip.HostPrefix(p.VIP), Label: "gre0:0"}
	if !rs2.has(want) {
		t.Fatalf("rs2: gre0 holds %v, want %v", rs2.addrs(tunnel.GREDev), want)
	}

	o := directorrole.Options{StateDir: filepath.Join(t.TempDir(), "director"), Handle: p.Director.Handle(), NetNS: int(p.Director.NsHandle())}
	if err := p.Director.Do(func() error { _, err := directorrole.Start(context.Background(), cfg, o); return err }); err != nil {
		t.Fatalf("director start: %v", err)
	}
	t.Cleanup(func() {
		p.Director.Do(func() error { _, err := directorrole.Stop(context.Background(), o); return err })
	})
	hitBoth(t, p, 6)

	for ns, dir := range dirs {
		lvsrs(t, ns, "stop", "--role", "realserver", "--state-dir", dir)
	}
	if ports, _ := fouPorts(t, p.RS1); len(ports) != 0 {
		t.Errorf("rs1: GUE receive ports after stop: %+v", ports)
	}
	if rs2.has(want) {
		t.Errorf("rs2: the VIP is still on gre0 after stop")
	}
}
