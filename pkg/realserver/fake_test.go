package realserver

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
	"github.com/lvs-rs/lvs-rs/pkg/tunnel"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
	"golang.org/x/sys/unix"
)

// fakeKernel is an in-memory host that counts every write.
type fakeKernel struct {
	addrs  []vip.Addr
	sys    map[string]string
	tun    tunnel.Link
	gre    tunnel.Link
	fou    FOUState
	routes []Route
	writes []string // one entry per kernel write
	// fail, when it returns an error for a write ("bind 10.0.0.101/32 ..."),
	// makes that write fail without effect.
	fail func(write string) error
	// crashAfter, when positive, panics with crash{} right after the
	// write with that number (counted in writes) took effect.
	crashAfter int
	// crashBefore, when positive, panics with crash{} right before the
	// write with that number, after everything saved before it.
	crashBefore int
	// gone lists devices that do not exist: a route through one cannot
	// be added.
	gone []string
}

// crash is the panic value of a simulated kill -9.
type crash struct{}

func newFake() *fakeKernel {
	h := host()
	return &fakeKernel{addrs: slices.Clone(h.Addrs), sys: cloneMap(h.Sysctls)}
}

// snapshot is everything a test compares before and after.
type snapshot struct {
	Addrs  []vip.Addr
	Sys    map[string]string
	Tun    tunnel.Link
	GRE    tunnel.Link
	FOU    FOUState
	Routes []Route
}

func (f *fakeKernel) snap() snapshot {
	rs := slices.Clone(f.routes)
	slices.SortFunc(rs, func(a, b Route) int { return a.Metric - b.Metric })
	fou := FOUState{Loaded: f.fou.Loaded}
	if len(f.fou.Ports) > 0 {
		fou.Ports = slices.Clone(f.fou.Ports)
	}
	slices.SortFunc(fou.Ports, func(a, b tunnel.FOUPort) int { return int(a.Port) - int(b.Port) })
	return snapshot{slices.Clone(f.addrs), maps.Clone(f.sys), f.tun, f.gre, fou, rs}
}

// observed returns what Observe would read from this host.
func (f *fakeKernel) observed(rec Record) Observed {
	return Observed{Addrs: slices.Clone(f.addrs), Tunnel: f.tun, GRE: f.gre, FOU: FOUState{Loaded: f.fou.Loaded, Ports: slices.Clone(f.fou.Ports)},
		Sysctls: maps.Clone(f.sys), Routes: slices.Clone(f.routes), Record: rec}
}

// write makes one write: it fails as f.fail says, or takes effect and
// is counted, and then crashes when it is write number crashAfter.
func (f *fakeKernel) write(op string, effect func()) error {
	if f.fail != nil {
		if err := f.fail(op); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	if f.crashBefore > 0 && len(f.writes)+1 == f.crashBefore {
		panic(crash{})
	}
	effect()
	f.writes = append(f.writes, op)
	if f.crashAfter > 0 && len(f.writes) == f.crashAfter {
		panic(crash{})
	}
	return nil
}

func (f *fakeKernel) Read(k sysctl.Key) (string, error) {
	v, ok := f.sys[k.String()]
	if !ok {
		return "", fmt.Errorf("read %s: %w", k, fs.ErrNotExist)
	}
	return v, nil
}

func (f *fakeKernel) Write(k sysctl.Key, v string) error {
	if _, ok := f.sys[k.String()]; !ok {
		return fmt.Errorf("write %s: %w", k, fs.ErrNotExist)
	}
	return f.write("sysctl "+k.String()+"="+v, func() {
		f.sys[k.String()] = v
	})
}

// link returns the fake's fallback device dev (tunl0, gre0).
func (f *fakeKernel) link(dev string) *tunnel.Link {
	if dev == tunnel.GREDev {
		return &f.gre
	}
	return &f.tun
}

// EnsureTunnel loads the device's module, which makes the device with its
// parameters at the kernel's defaults (rp_filter from conf/default: 1).
func (f *fakeKernel) EnsureTunnel(_ context.Context, dev string) (bool, error) {
	l := f.link(dev)
	if l.Exists {
		return false, nil
	}
	mod := map[string]string{tunnel.Dev: tunnel.Module, tunnel.GREDev: tunnel.GREModule}[dev]
	return false, f.write("load "+mod, func() {
		l.Exists = true
		for p, v := range map[string]string{"arp_ignore": "0", "arp_announce": "0", "rp_filter": "1"} {
			f.sys["net/ipv4/conf/"+dev+"/"+p] = v
		}
	})
}

func (f *fakeKernel) TunnelUp(dev string) error {
	return f.write(dev+" up", func() {
		f.link(dev).Up = true
	})
}

func (f *fakeKernel) TunnelDown(dev string) error {
	return f.write(dev+" down", func() {
		f.link(dev).Up = false
	})
}

func (f *fakeKernel) DeleteTunnel(dev string) error {
	return f.write(dev+" delete", func() {
		*f.link(dev) = tunnel.Link{}
		for k := range f.sys {
			if strings.Contains(k, "/"+dev+"/") {
				delete(f.sys, k)
			}
		}
	})
}

func (f *fakeKernel) LoadFOU(context.Context) error {
	if f.fou.Loaded {
		return nil
	}
	return f.write("load fou", func() { f.fou.Loaded = true })
}

// AddFOU adds a GUE port; the kernel refuses a port taken with
// EADDRINUSE.
func (f *fakeKernel) AddFOU(port uint16) error {
	if !f.fou.Loaded {
		return fmt.Errorf("add gue port %d: %w", port, tunnel.ErrNoFOU)
	}
	if slices.ContainsFunc(f.fou.Ports, func(p tunnel.FOUPort) bool { return p.Port == port }) {
		return fmt.Errorf("add gue port %d: %w", port, unix.EADDRINUSE)
	}
	return f.write(fmt.Sprintf("add gue port %d", port), func() {
		f.fou.Ports = append(f.fou.Ports, tunnel.FOUPort{Port: port, GUE: true})
	})
}

func (f *fakeKernel) DeleteFOU(port uint16) error {
	return f.write(fmt.Sprintf("delete gue port %d", port), func() {
		f.fou.Ports = slices.DeleteFunc(f.fou.Ports, func(p tunnel.FOUPort) bool { return p.Port == port })
	})
}

func (f *fakeKernel) Bind(a vip.Addr) error {
	if slices.ContainsFunc(f.addrs, func(x vip.Addr) bool { return x.Dev == a.Dev && x.Prefix == a.Prefix }) {
		return fmt.Errorf("bind %s: %w", a, unix.EEXIST)
	}
	return f.write("bind "+a.String(), func() {
		f.addrs = append(f.addrs, a)
	})
}

func (f *fakeKernel) Unbind(a vip.Addr) error {
	return f.write("unbind "+a.String(), func() {
		f.addrs = slices.DeleteFunc(f.addrs, func(x vip.Addr) bool { return x.Dev == a.Dev && x.Prefix == a.Prefix })
	})
}

func (f *fakeKernel) RouteReplace(r Route) error {
	return f.write("route replace "+r.String(), func() {
		f.routes = slices.DeleteFunc(f.routes, func(x Route) bool { return sameSlot(x, r) })
		f.routes = append(f.routes, r)
	})
}

func (f *fakeKernel) RouteAdd(r Route) error {
	for _, d := range r.devices() {
		if slices.Contains(f.gone, d) {
			return fmt.Errorf("route %s: %w", r, errNoDevice{d})
		}
	}
	if slices.ContainsFunc(f.routes, func(x Route) bool { return sameSlot(x, r) }) {
		return fmt.Errorf("route add %s: %w", r, unix.EEXIST)
	}
	return f.write("route add "+r.String(), func() {
		f.routes = append(f.routes, r)
	})
}

func (f *fakeKernel) RouteDelete(r Route) error {
	return f.write("route delete "+r.String(), func() {
		f.routes = slices.DeleteFunc(f.routes, func(x Route) bool { return sameGateway(x, r) })
	})
}

// gws lists the valid gateways of gs, as Desired.Gateways.
func gws(gs ...netip.Addr) []netip.Addr {
	var out []netip.Addr
	for _, g := range gs {
		if g.IsValid() {
			out = append(out, g)
		}
	}
	return out
}
