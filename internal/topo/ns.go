package topo

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/nlretry"
)

// NS is one named network namespace of a topology.
type NS struct {
	name string
	path string
	fd   netns.NsHandle
	nl   *netlink.Handle
	tp   *Topo
}

// Name returns the name given to AddNS ("client").
func (n *NS) Name() string { return n.name }

// Path returns the bind mount of the namespace (/run/netns/...), usable
// with setns(2), netns.GetFromPath or ipvs.New.
func (n *NS) Path() string { return n.path }

// NsHandle returns the namespace's file descriptor (owned by the NS).
func (n *NS) NsHandle() netns.NsHandle { return n.fd }

// Handle returns a NETLINK_ROUTE handle bound to the namespace (owned by
// the NS): links, addresses, routes, neighbours.
func (n *NS) Handle() *netlink.Handle { return n.nl }

// remove closes the handles and unmounts the namespace.
func (n *NS) remove() {
	if n.nl != nil {
		n.nl.Close()
	}
	if n.fd.IsOpen() {
		n.fd.Close()
	}
	if err := unix.Unmount(n.path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
		n.tp.tb.Logf("topo: unmounting %s: %v", n.path, err)
	}
	os.Remove(n.path)
}

// Do runs fn on an OS thread switched into the namespace. The thread is
// locked for the call and restored afterwards; if restoring fails it is
// never unlocked, so Go discards it. fn runs on its own goroutine: it must
// return errors, not call t.Fatal. Goroutines fn starts run elsewhere, but
// sockets fn opens stay in the namespace.
func (n *NS) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("topo: current netns: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(n.fd); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("topo: entering %s: %w", n.name, err)
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("topo: leaving %s: %w", n.name, err))
			return // still locked: the thread is discarded
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// sysctlPath maps "net.ipv4.ip_forward" or "net/ipv4/ip_forward" to its
// /proc/sys file. Use the slash form when a device name contains a dot.
func sysctlPath(key string) string {
	if !strings.Contains(key, "/") {
		key = strings.ReplaceAll(key, ".", "/")
	}
	return filepath.Join("/proc/sys", strings.TrimPrefix(key, "/proc/sys/"))
}

// ReadSysctl reads a sysctl as seen from inside the namespace (trimmed).
func (n *NS) ReadSysctl(key string) (string, error) {
	var v []byte
	err := n.Do(func() error {
		var err error
		v, err = os.ReadFile(sysctlPath(key))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("topo: %s: sysctl %s: %w", n.name, key, err)
	}
	return strings.TrimSpace(string(v)), nil
}

// WriteSysctl writes a sysctl inside the namespace.
func (n *NS) WriteSysctl(key, value string) error {
	err := n.Do(func() error {
		return os.WriteFile(sysctlPath(key), []byte(value), 0o644)
	})
	if err != nil {
		return fmt.Errorf("topo: %s: sysctl %s=%s: %w", n.name, key, value, err)
	}
	return nil
}

// EnableForwarding turns on IPv4 and IPv6 forwarding in the namespace.
func (n *NS) EnableForwarding() error {
	if err := n.WriteSysctl("net/ipv4/ip_forward", "1"); err != nil {
		return err
	}
	return n.WriteSysctl("net/ipv6/conf/all/forwarding", "1")
}

// LinkUp sets a device up.
func (n *NS) LinkUp(ifname string) error {
	l, err := n.nl.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("topo: %s: link %s: %w", n.name, ifname, err)
	}
	if err := n.nl.LinkSetUp(l); err != nil {
		return fmt.Errorf("topo: %s: %s up: %w", n.name, ifname, err)
	}
	return nil
}

// AddAddr adds an address ("10.0.0.2/24", "fd00::2/64") to a device; IPv6
// addresses skip duplicate address detection.
func (n *NS) AddAddr(ifname, cidr string) error {
	l, err := n.nl.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("topo: %s: link %s: %w", n.name, ifname, err)
	}
	a, err := netlink.ParseAddr(cidr)
	if err != nil {
		return fmt.Errorf("topo: %s: address %q: %w", n.name, cidr, err)
	}
	if a.IP.To4() == nil {
		a.Flags |= unix.IFA_F_NODAD
	}
	if err := n.nl.AddrAdd(l, a); err != nil {
		return fmt.Errorf("topo: %s: adding %s to %s: %w", n.name, cidr, ifname, err)
	}
	return nil
}

// HardwareAddr returns the MAC address of a device in the namespace.
func (n *NS) HardwareAddr(ifname string) (net.HardwareAddr, error) {
	l, err := n.nl.LinkByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("topo: %s: link %s: %w", n.name, ifname, err)
	}
	return l.Attrs().HardwareAddr, nil
}

// SetDefaultRoute sets (replaces) the default route via gw.
func (n *NS) SetDefaultRoute(gw string) error {
	g, err := netip.ParseAddr(gw)
	if err != nil {
		return fmt.Errorf("topo: %s: gateway %q: %w", n.name, gw, err)
	}
	if g.Is4() {
		return n.AddRoute("0.0.0.0/0", gw)
	}
	return n.AddRoute("::/0", gw)
}

// AddRoute adds (replaces) a route to prefix ("10.2.0.0/24") via gw.
func (n *NS) AddRoute(prefix, gw string) error {
	_, dst, err := net.ParseCIDR(prefix)
	if err != nil {
		return fmt.Errorf("topo: %s: route %q: %w", n.name, prefix, err)
	}
	g := net.ParseIP(gw)
	if g == nil {
		return fmt.Errorf("topo: %s: gateway %q: not an address", n.name, gw)
	}
	if err := n.nl.RouteReplace(&netlink.Route{Dst: dst, Gw: g}); err != nil {
		return fmt.Errorf("topo: %s: route %s via %s: %w", n.name, prefix, gw, err)
	}
	return nil
}

// DelRoute deletes the route to prefix ("0.0.0.0/0" for the default).
func (n *NS) DelRoute(prefix string) error {
	_, dst, err := net.ParseCIDR(prefix)
	if err != nil {
		return fmt.Errorf("topo: %s: route %q: %w", n.name, prefix, err)
	}
	if err := n.nl.RouteDel(&netlink.Route{Dst: dst}); err != nil {
		return fmt.Errorf("topo: %s: deleting route %s: %w", n.name, prefix, err)
	}
	return nil
}

// Neigh returns the neighbour (ARP or NDP) entry for addr, from any device.
func (n *NS) Neigh(addr string) (*netlink.Neigh, error) {
	ip := net.ParseIP(addr)
	if ip == nil {
		return nil, fmt.Errorf("topo: %s: neighbour %q: not an address", n.name, addr)
	}
	family := netlink.FAMILY_V4
	if ip.To4() == nil {
		family = netlink.FAMILY_V6
	}
	list, err := nlretry.Dump(func() ([]netlink.Neigh, error) { return n.nl.NeighList(0, family) })
	if err != nil {
		return nil, fmt.Errorf("topo: %s: listing neighbours: %w", n.name, err)
	}
	for i := range list {
		if list[i].IP.Equal(ip) {
			return &list[i], nil
		}
	}
	return nil, fmt.Errorf("topo: %s: no neighbour entry for %s", n.name, addr)
}

// NeighMAC returns the link-layer address the namespace has resolved addr
// to; an entry that is incomplete or failed is an error.
func (n *NS) NeighMAC(addr string) (net.HardwareAddr, error) {
	e, err := n.Neigh(addr)
	if err != nil {
		return nil, err
	}
	if e.State == netlink.NUD_NONE || e.State&(netlink.NUD_INCOMPLETE|netlink.NUD_FAILED) != 0 || len(e.HardwareAddr) == 0 {
		return nil, fmt.Errorf("topo: %s: neighbour %s unresolved (NUD state %#x)", n.name, addr, e.State)
	}
	return e.HardwareAddr, nil
}
