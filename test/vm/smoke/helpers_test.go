package smoke

import (
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/moby/ipvs"
	"golang.org/x/sys/unix"
)

// moduleLoaded reports whether a kernel module is in /proc/modules.
func moduleLoaded(t *testing.T, name string) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/modules")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == name {
			return true
		}
	}
	return false
}

// ipvsIn opens an IPVS handle in ns, closed at the end of the test.
func ipvsIn(t *testing.T, ns *topo.NS) *ipvs.Handle {
	t.Helper()
	h, err := ipvs.New(ns.Path())
	if err != nil {
		t.Fatalf("ipvs handle in %s: %v", ns.Name(), err)
	}
	t.Cleanup(h.Close)
	return h
}

// tcpService is VIP:port/tcp with the given scheduler.
func tcpService(vip netip.Addr, port uint16, sched string) *ipvs.Service {
	return &ipvs.Service{
		AddressFamily: unix.AF_INET, Protocol: unix.IPPROTO_TCP,
		Address: net.IP(vip.AsSlice()), Port: port,
		SchedName: sched, Netmask: 0xffffffff,
	}
}

// addService creates svc and one destination per address, forwarding with
// flags (ipvs.ConnectionFlagDirectRoute, ...), weight 1.
func addService(t *testing.T, h *ipvs.Handle, svc *ipvs.Service, flags uint32, port uint16, rs ...netip.Addr) {
	t.Helper()
	if err := h.NewService(svc); err != nil {
		t.Fatalf("creating IPVS service %s:%d: %v", svc.Address, svc.Port, err)
	}
	for _, a := range rs {
		d := &ipvs.Destination{
			AddressFamily: unix.AF_INET, Address: net.IP(a.AsSlice()), Port: port,
			Weight: 1, ConnectionFlags: flags,
		}
		if err := h.NewDestination(svc, d); err != nil {
			t.Fatalf("adding real server %s: %v", a, err)
		}
	}
}

// must fails the test on error.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// setSysctls writes key=value pairs in ns.
func setSysctls(t *testing.T, ns *topo.NS, kv ...string) {
	t.Helper()
	for i := 0; i+1 < len(kv); i += 2 {
		must(t, ns.WriteSysctl(kv[i], kv[i+1]))
	}
}

// hitBoth makes n requests from client to addr and fails unless each of
// want answered at least once and nobody else did.
func hitBoth(t *testing.T, client *topo.NS, addr string, n int, want ...string) {
	t.Helper()
	seen, err := client.Tally(addr, n)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if seen[w] == 0 {
			t.Errorf("%s never answered through %s: answers %v", w, addr, seen)
		}
		delete(seen, w)
	}
	if len(seen) > 0 {
		t.Errorf("unexpected answers through %s: %v", addr, seen)
	}
}
