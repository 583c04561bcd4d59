package director

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// ipvsFamilyID resolves the IPVS generic netlink family in ns, as a fresh
// socket sees it.
func ipvsFamilyID(t *testing.T, ns *topo.NS) uint16 {
	t.Helper()
	c, err := genetlink.Dial(&netlink.Config{NetNS: int(ns.NsHandle())})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f, err := c.GetFamily("IPVS")
	if err != nil {
		t.Fatalf("IPVS family: %v", err)
	}
	return f.ID
}

// ipvsModules lists ip_vs and the loaded modules that use it (its
// schedulers, xt_ipvs, ...), users first, as /proc/modules names them;
// none when ip_vs is not a loaded module.
func ipvsModules(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/modules")
	if err != nil {
		t.Fatal(err)
	}
	users := map[string][]string{} // module -> the modules using it
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l) // name size refcount users state address
		if len(f) < 4 {
			continue
		}
		users[f[0]] = nil
		for _, u := range strings.Split(strings.Trim(f[3], "-"), ",") {
			if u != "" {
				users[f[0]] = append(users[f[0]], u)
			}
		}
	}
	if _, ok := users["ip_vs"]; !ok {
		return nil
	}
	var order []string
	seen := map[string]bool{}
	var visit func(m string)
	visit = func(m string) {
		if seen[m] {
			return
		}
		seen[m] = true
		for _, u := range users[m] {
			visit(u)
		}
		order = append(order, m)
	}
	visit("ip_vs")
	return order
}

// TestIPVSModuleReloaded: ip_vs unloaded and loaded again gets a new
// generic netlink family id; a client dialled before keeps working (it
// resolves the family again on the ENOENT the old id gets) instead of
// failing every call until it is dialled again. Unloads every ip_vs
// module: run it on its own.
func TestIPVSModuleReloaded(t *testing.T) {
	ns := lone(t)
	c := ipvsIn(t, ns)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	svc := ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: netip.MustParseAddr("192.0.2.100"), Port: 80,
		Scheduler: "rr", Netmask: 32}
	must(t, c.NewService(ctx, svc))
	must(t, c.DeleteService(ctx, svc)) // a service holds the module
	before := ipvsFamilyID(t, ns)
	mods := ipvsModules(t)
	if len(mods) == 0 {
		t.Skip("ip_vs is built in: it cannot be reloaded")
	}
	for _, m := range mods {
		if out, err := exec.Command("rmmod", m).CombinedOutput(); err != nil {
			t.Fatalf("rmmod %s: %v: %s", m, err, out)
		}
	}
	if out, err := exec.Command("modprobe", "ip_vs").CombinedOutput(); err != nil {
		t.Fatalf("modprobe ip_vs: %v: %s", err, out)
	}
	after := ipvsFamilyID(t, ns)
	if after == before {
		t.Fatalf("IPVS kept family id %#x across the reload: nothing to test", after)
	}
	if svcs, err := c.Services(ctx); err != nil || len(svcs) != 0 {
		t.Fatalf("Services after the reload = %v, %v; want an empty table", svcs, err)
	}
	must(t, c.NewService(ctx, svc))
	d := ipvs.Destination{Address: netip.MustParseAddr("192.0.2.11"), Port: 80, Forward: ipvs.Route, Weight: 1}
	must(t, c.NewDestination(ctx, svc, d))
	if ds, err := c.DestinationConfigs(ctx, svc); err != nil || len(ds) != 1 {
		t.Fatalf("DestinationConfigs after the reload = %v, %v", ds, err)
	}
	if !strings.Contains(procIPVS(t, ns), hex4(svc.Address, svc.Port)) {
		t.Fatalf("/proc/net/ip_vs lacks the service added after the reload:\n%s", procIPVS(t, ns))
	}
	// IPVS's own ENOENT is still one: a real server that is not there.
	missing := d
	missing.Address = netip.MustParseAddr("192.0.2.12")
	if err := c.DeleteDestination(ctx, svc, missing); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("deleting a missing real server = %v, want ENOENT", err)
	}
	must(t, c.DeleteService(ctx, svc))
}
