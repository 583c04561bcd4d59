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
}

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

func (f *fakeKernel) write(op string) error {
	if f.fail != nil {
		if err := f.fail(op); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	f.writes = append(f.writes, op)
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
	if err := f.write("sysctl " + k.String() + "=" + v); err != nil {
		return err
	}
	f.sys[k.String()] = v
	return nil
}

func (f *fakeKernel) EnsureTunnel(context.Context) (bool, error) {
	if f.tun.Exists {
		return false, nil
	}
	if err := f.write("load ipip"); err != nil {
		return false, err
	}
	f.tun.Exists = true
	f.sys[tunI], f.sys[tunA], f.sys[tunRF] = "0", "0", "1"
	return false, nil
}

func (f *fakeKernel) TunnelUp() error {
	if err := f.write("tunl0 up"); err != nil {
		return err
	}
	f.tun.Up = true
	return nil
}

func (f *fakeKernel) TunnelDown() error {
	if err := f.write("tunl0 down"); err != nil {
		return err
	}
	f.tun.Up = false
	return nil
}

func (f *fakeKernel) DeleteTunnel() error {
	if err := f.write("tunl0 delete"); err != nil {
		return err
	}
	f.tun = tunnel.Link{}
	for k := range f.sys {
		if strings.Contains(k, "/tunl0/") {
			delete(f.sys, k)
		}
	}
	return nil
}

func (f *fakeKernel) Bind(a vip.Addr) error {
	if err := f.write("bind " + a.String()); err != nil {
		return err
	}
	if !slices.Contains(f.addrs, a) {
		f.addrs = append(f.addrs, a)
	}
	return nil
}

func (f *fakeKernel) Unbind(a vip.Addr) error {
	if err := f.write("unbind " + a.String()); err != nil {
		return err
	}
	f.addrs = slices.DeleteFunc(f.addrs, func(x vip.Addr) bool { return x.Dev == a.Dev && x.Prefix == a.Prefix })
	return nil
}

func (f *fakeKernel) RouteReplace(r Route) error {
	if err := f.write("route replace " + r.String()); err != nil {
		return err
	}
	f.routes = slices.DeleteFunc(f.routes, func(x Route) bool { return sameSlot(x, r) })
	f.routes = append(f.routes, r)
	return nil
}

func (f *fakeKernel) RouteAdd(r Route) error {
	if slices.ContainsFunc(f.routes, func(x Route) bool { return sameSlot(x, r) }) {
		return fmt.Errorf("route add %s: %w", r, unix.EEXIST)
	}
	if err := f.write("route add " + r.String()); err != nil {
		return err
	}
	f.routes = append(f.routes, r)
	return nil
}

func (f *fakeKernel) RouteDelete(r Route) error {
	if err := f.write("route delete " + r.String()); err != nil {
		return err
	}
	f.routes = slices.DeleteFunc(f.routes, func(x Route) bool { return sameGateway(x, r) })
	return nil
}
