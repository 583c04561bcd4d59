package realserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/lvs-rs/lvs-rs/pkg/arp"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
	"github.com/lvs-rs/lvs-rs/pkg/tunnel"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// kernel is everything the executor does to the host. Each method is
// idempotent: a repeat, or removing what is already gone, succeeds.
type kernel interface {
	arp.ReadWriter
	EnsureTunnel(ctx context.Context) (created bool, err error)
	TunnelUp() error
	TunnelDown() error
	DeleteTunnel() error
	Bind(a vip.Addr) error
	Unbind(a vip.Addr) error
	RouteReplace(r Route) error
	RouteAdd(r Route) error
	RouteDelete(r Route) error
}

// netKernel is the real kernel: netlink through h, parameters through t.
type netKernel struct {
	h *netlink.Handle
	t sysctl.Tree
}

// The methods of netKernel implement kernel over netlink and /proc/sys.

func (k netKernel) Read(key sysctl.Key) (string, error)  { return k.t.Read(key) }
func (k netKernel) Write(key sysctl.Key, v string) error { return k.t.Write(key, v) }

func (k netKernel) EnsureTunnel(ctx context.Context) (bool, error) { return tunnel.Ensure(ctx, k.h) }
func (k netKernel) TunnelUp() error                                { return tunnel.SetUp(k.h) }
func (k netKernel) TunnelDown() error                              { return tunnel.SetDown(k.h) }
func (k netKernel) DeleteTunnel() error                            { return tunnel.Delete(k.h) }
func (k netKernel) Bind(a vip.Addr) error                          { return vip.Bind(k.h, a) }
func (k netKernel) Unbind(a vip.Addr) error                        { return vip.Unbind(k.h, a) }

func (k netKernel) RouteReplace(r Route) error {
	nr, err := k.toNetlink(r)
	if err == nil {
		err = k.h.RouteReplace(nr)
	}
	if err != nil {
		return fmt.Errorf("route %s: %w", r, err)
	}
	return nil
}

func (k netKernel) RouteAdd(r Route) error {
	nr, err := k.toNetlink(r)
	if err == nil {
		err = k.h.RouteAdd(nr)
	}
	if err != nil {
		return fmt.Errorf("route %s: %w", r, err)
	}
	return nil
}

func (k netKernel) RouteDelete(r Route) error {
	nr := &netlink.Route{Dst: ipNet(r.Dst), Gw: ipSlice(r.Gateway), Priority: r.Metric, Table: unix.RT_TABLE_MAIN}
	err := k.h.RouteDel(nr)
	if err == nil || errors.Is(err, unix.ESRCH) || errors.Is(err, unix.ENOENT) {
		return nil
	}
	return fmt.Errorf("route %s: %w", r, err)
}

func (k netKernel) toNetlink(r Route) (*netlink.Route, error) {
	nr := &netlink.Route{
		Dst:      ipNet(r.Dst),
		Gw:       ipSlice(r.Gateway),
		Src:      ipSlice(r.Src),
		Priority: r.Metric,
		Protocol: netlink.RouteProtocol(r.Protocol),
		Table:    unix.RT_TABLE_MAIN,
	}
	if r.OnLink {
		nr.Flags = int(netlink.FLAG_ONLINK)
	}
	if r.Dev != "" {
		l, err := k.h.LinkByName(r.Dev)
		if err != nil {
			return nil, err
		}
		nr.LinkIndex = l.Attrs().Index
	}
	return nr, nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func ipSlice(a netip.Addr) net.IP {
	if !a.IsValid() {
		return nil
	}
	return net.IP(a.AsSlice())
}
