package realserver

import (
	"context"
	"errors"
	"fmt"

	"github.com/lvs-rs/lvs-rs/internal/faultinject"
	"github.com/lvs-rs/lvs-rs/pkg/arp"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
	"github.com/lvs-rs/lvs-rs/pkg/tunnel"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// kernel is everything the executor does to the host. Each method is
// idempotent: a repeat, or removing what is already gone, succeeds;
// except Bind, which fails with EEXIST when the address is there already,
// and AddFOU, which fails (EADDRINUSE) when the port is (Plan adds only what
// it saw absent, so that one is someone else's, and its intention is
// taken back).
type kernel interface {
	arp.ReadWriter
	// EnsureTunnel, TunnelUp, TunnelDown and DeleteTunnel work on a
	// fallback device: tunl0 or gre0.
	EnsureTunnel(ctx context.Context, dev string) (created bool, err error)
	TunnelUp(dev string) error
	TunnelDown(dev string) error
	DeleteTunnel(dev string) error
	// LoadFOU makes GUE receive ports possible (module fou); AddFOU adds
	// one on every IPv4 address, refused when the port is taken;
	// DeleteFOU removes one, a missing one being success.
	LoadFOU(ctx context.Context) error
	AddFOU(port uint16) error
	DeleteFOU(port uint16) error
	Bind(a vip.Addr) error
	Unbind(a vip.Addr) error
	RouteReplace(r Route) error
	RouteAdd(r Route) error
	RouteDelete(r Route) error
}

// netKernel is the real kernel: netlink through h, parameters through t,
// GUE receive ports through a generic netlink socket opened on first use
// in the calling thread's namespace (fou; close it with close). Every
// write goes through faultinject.Write (the tunnel package wraps its
// own), then calls after when it is set (tests simulate a crash).
type netKernel struct {
	h     *netlink.Handle
	t     sysctl.Tree
	after func(what string)
	fou   *fouConn
}

// fouConn is the generic netlink socket of a netKernel, nil until used.
type fouConn struct{ f *tunnel.FOU }

// get returns the socket, opening it on first use.
func (c *fouConn) get() (*tunnel.FOU, error) {
	if c.f == nil {
		f, err := tunnel.DialFOU()
		if err != nil {
			return nil, err
		}
		c.f = f
	}
	return c.f, nil
}

// close closes the socket if it was opened.
func (k netKernel) close() {
	if k.fou != nil && k.fou.f != nil {
		k.fou.f.Close()
		k.fou.f = nil
	}
}

// write performs one kernel write.
func (k netKernel) write(what string, fn func() error) error {
	err := faultinject.Write(what, fn)
	if k.after != nil {
		k.after(what)
	}
	return err
}

// The methods of netKernel implement kernel over netlink and /proc/sys.

func (k netKernel) Read(key sysctl.Key) (string, error) { return k.t.Read(key) }

func (k netKernel) Write(key sysctl.Key, v string) error {
	return k.write(fmt.Sprintf("sysctl %s=%s", key, v), func() error { return k.t.Write(key, v) })
}

// fallback returns the fallback device named dev: gre0 or tunl0.
func fallback(dev string) tunnel.Device {
	if dev == tunnel.GREDev {
		return tunnel.GRE
	}
	return tunnel.IPIP
}

func (k netKernel) EnsureTunnel(ctx context.Context, dev string) (bool, error) {
	created, err := fallback(dev).Ensure(ctx, k.h)
	k.hook("ensure " + dev)
	return created, err
}

func (k netKernel) TunnelUp(dev string) error {
	err := fallback(dev).SetUp(k.h)
	k.hook("set " + dev + " up")
	return err
}

func (k netKernel) TunnelDown(dev string) error {
	err := fallback(dev).SetDown(k.h)
	k.hook("set " + dev + " down")
	return err
}

func (k netKernel) DeleteTunnel(dev string) error {
	err := fallback(dev).Delete(k.h)
	k.hook("delete " + dev)
	return err
}

func (k netKernel) LoadFOU(ctx context.Context) error {
	f, err := k.fou.get()
	if err == nil {
		err = f.Load(ctx)
	}
	k.hook("load " + tunnel.FOUModule)
	return err
}

func (k netKernel) AddFOU(port uint16) error {
	f, err := k.fou.get()
	if err == nil {
		err = f.AddGUE(port)
	}
	k.hook(fmt.Sprintf("add gue port %d", port))
	return err
}

func (k netKernel) DeleteFOU(port uint16) error {
	f, err := k.fou.get()
	if err == nil {
		err = f.Delete(port)
	}
	k.hook(fmt.Sprintf("delete gue port %d", port))
	return err
}

// hook calls after for a write the tunnel package made.
func (k netKernel) hook(what string) {
	if k.after != nil {
		k.after(what)
	}
}

func (k netKernel) Bind(a vip.Addr) error {
	return k.write("bind "+a.String(), func() error { return vip.Bind(k.h, a) })
}

func (k netKernel) Unbind(a vip.Addr) error {
	return k.write("unbind "+a.String(), func() error { return vip.Unbind(k.h, a) })
}

func (k netKernel) RouteReplace(r Route) error {
	return k.route("replace", r, k.h.RouteReplace)
}

// RouteAdd puts back a route lvs-rs replaced. An IPv4 one goes in front
// of any route still in its slot (appended next to it with ip route
// append), where it was: ip route prepend, NLM_F_CREATE without
// NLM_F_EXCL (which netlink names RouteAddEcmp), refused with EEXIST only
// when an identical route is there. An IPv6 slot that holds a route is
// refused with EEXIST: there the kernel would merge the two into one
// multipath route.
func (k netKernel) RouteAdd(r Route) error {
	if r.Dst.Addr().Is4() {
		return k.route("add", r, k.h.RouteAddEcmp)
	}
	return k.route("add", r, k.h.RouteAdd)
}

func (k netKernel) route(verb string, r Route, do func(*netlink.Route) error) error {
	nr, err := toNetlink(r, k.index)
	if err == nil {
		err = k.write("route "+verb+" "+r.String(), func() error { return do(nr) })
	}
	if err != nil {
		return fmt.Errorf("route %s: %w", r, err)
	}
	return nil
}

// RouteDelete deletes exactly lvs-rs's route: its slot and its gateway.
func (k netKernel) RouteDelete(r Route) error {
	c := r.canon()
	nr := &netlink.Route{Dst: ipNet(c.Dst), Gw: ipSlice(c.Gateway), Priority: c.Metric, Table: c.Table, Tos: c.Tos}
	err := k.write("route delete "+r.String(), func() error { return k.h.RouteDel(nr) })
	if err == nil || errors.Is(err, unix.ESRCH) || errors.Is(err, unix.ENOENT) {
		return nil
	}
	return fmt.Errorf("route %s: %w", r, err)
}

// index returns the index of the link named dev, or errNoDevice.
func (k netKernel) index(dev string) (int, error) {
	l, err := k.h.LinkByName(dev)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) || errors.Is(err, unix.ENODEV) {
			return 0, errNoDevice{dev}
		}
		return 0, fmt.Errorf("look up %s: %w", dev, err)
	}
	return l.Attrs().Index, nil
}
