package realserver

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	rs "github.com/lvs-rs/lvs-rs/pkg/realserver"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
	"github.com/moby/ipvs"
	"golang.org/x/sys/unix"
)

// host is one real server: a topology namespace with its state directory.
type host struct {
	t   *testing.T
	ns  *topo.NS
	opt rs.Options
}

func newHost(t *testing.T, ns *topo.NS) *host {
	return &host{t: t, ns: ns, opt: rs.Options{StateDir: filepath.Join(t.TempDir(), ns.Name()), Handle: ns.Handle()}}
}

func (h *host) start(d rs.Desired) rs.Result {
	h.t.Helper()
	var res rs.Result
	err := h.ns.Do(func() (err error) { res, err = rs.Start(context.Background(), d, h.opt); return err })
	if err != nil {
		h.t.Fatalf("%s: start: %v", h.ns.Name(), err)
	}
	return res
}

func (h *host) stop() rs.Result {
	h.t.Helper()
	var res rs.Result
	err := h.ns.Do(func() (err error) { res, err = rs.Stop(context.Background(), h.opt); return err })
	if err != nil {
		h.t.Fatalf("%s: stop: %v", h.ns.Name(), err)
	}
	return res
}

func (h *host) status() *rs.Report {
	h.t.Helper()
	var r *rs.Report
	err := h.ns.Do(func() (err error) { r, err = rs.Status(context.Background(), nil, h.opt); return err })
	if err != nil {
		h.t.Fatalf("%s: status: %v", h.ns.Name(), err)
	}
	return r
}

func (h *host) sysctl(k string) string {
	h.t.Helper()
	v, err := h.ns.ReadSysctl(k)
	if err != nil {
		h.t.Fatal(err)
	}
	return v
}

func (h *host) setSysctl(k, v string) {
	h.t.Helper()
	if err := h.ns.WriteSysctl(k, v); err != nil {
		h.t.Fatal(err)
	}
}

// link returns whether dev exists and is up.
func (h *host) link(dev string) (exists, up bool) {
	l, err := h.ns.Handle().LinkByName(dev)
	if err != nil {
		return false, false
	}
	return true, l.Attrs().Flags&net.FlagUp != 0
}

func (h *host) addrs(dev string) []vip.Addr {
	h.t.Helper()
	as, err := vip.List(h.ns.Handle(), dev)
	if err != nil {
		h.t.Fatal(err)
	}
	return as
}

func (h *host) has(a vip.Addr) bool { return slices.Contains(h.addrs(a.Dev), a) }

func binding(m config.Mode, a netip.Addr) []config.Binding {
	return []config.Binding{{VIP: a, Mode: m}}
}

func changes(cs []rs.Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.String())
	}
	return out
}

// key is net/ipv4/conf/DEV/PARAM.
func key(dev, param string) string { return fmt.Sprintf("net/ipv4/conf/%s/%s", dev, param) }

// director programs a DR or TUN director by hand: the VIP on its
// interface and one IPVS service VIP:80/tcp, rr, to the real servers.
func director(t *testing.T, p *topo.Preset, flags uint32) {
	t.Helper()
	if err := p.Director.AddAddr(p.DirectorIface, p.VIP.String()+"/32"); err != nil {
		t.Fatal(err)
	}
	h, err := ipvs.New(p.Director.Path())
	if err != nil {
		t.Fatalf("ipvs in the director: %v", err)
	}
	t.Cleanup(h.Close)
	svc := &ipvs.Service{
		AddressFamily: unix.AF_INET, Protocol: unix.IPPROTO_TCP,
		Address: net.IP(p.VIP.AsSlice()), Port: 80, SchedName: "rr", Netmask: 0xffffffff,
	}
	if err := h.NewService(svc); err != nil {
		t.Fatalf("IPVS service: %v", err)
	}
	for _, a := range []netip.Addr{p.RS1IP, p.RS2IP} {
		d := &ipvs.Destination{AddressFamily: unix.AF_INET, Address: net.IP(a.AsSlice()), Port: 80, Weight: 1, ConnectionFlags: flags}
		if err := h.NewDestination(svc, d); err != nil {
			t.Fatalf("IPVS real server %s: %v", a, err)
		}
	}
}

// hitBoth makes n requests from the client to the VIP and fails unless
// both real servers answered and nobody else did.
func hitBoth(t *testing.T, p *topo.Preset, n int) {
	t.Helper()
	seen := map[string]int{}
	for i := range n {
		body, err := p.Client.Get(p.VIP.String() + ":80")
		if err != nil {
			t.Fatalf("request %d to %s: %v (answers so far %v)", i, p.VIP, err, seen)
		}
		seen[body]++
	}
	if seen["rs1"] == 0 || seen["rs2"] == 0 || len(seen) != 2 {
		t.Errorf("answers through the VIP: %v, want both rs1 and rs2 only", seen)
	}
}
