package realserver

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
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
	Routes []Route
}

func (f *fakeKernel) snap() snapshot {
	rs := slices.Clone(f.routes)
	slices.SortFunc(rs, func(a, b Route) int { return a.Metric - b.Metric })
	return snapshot{slices.Clone(f.addrs), maps.Clone(f.sys), f.tun, rs}
}

// observed returns what Observe would read from this host.
func (f *fakeKernel) observed(rec Record) Observed {
	return Observed{Addrs: slices.Clone(f.addrs), Tunnel: f.tun, Sysctls: maps.Clone(f.sys), Routes: slices.Clone(f.routes), Record: rec}
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

func (f *fakeKernel) EnsureTunnel(context.Context) (bool, error) {
	if f.tun.Exists {
		return false, nil
	}
	return false, f.write("load ipip", func() {
		f.tun.Exists = true
		f.sys[tunI], f.sys[tunA], f.sys[tunRF] = "0", "0", "1"
	})
}

func (f *fakeKernel) TunnelUp() error {
	return f.write("tunl0 up", func() {
		f.tun.Up = true
	})
}

func (f *fakeKernel) TunnelDown() error {
	return f.write("tunl0 down", func() {
		f.tun.Up = false
	})
}

func (f *fakeKernel) DeleteTunnel() error {
	return f.write("tunl0 delete", func() {
		f.tun = tunnel.Link{}
		for k := range f.sys {
			if strings.Contains(k, "/tunl0/") {
				delete(f.sys, k)
			}
		}
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
