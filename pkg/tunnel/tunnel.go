package tunnel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/faultinject"
	"github.com/lvs-rs/lvs-rs/internal/rtnl"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Dev is the ipip fallback device an LVS-TUN real server binds its VIPs on.
const Dev = "tunl0"

// Module is the kernel module that provides Dev.
const Module = "ipip"

// GREDev is the GRE fallback device a real server of a gre tunnel binds
// its VIPs on, and GREModule the kernel module that provides it.
const (
	GREDev    = "gre0"
	GREModule = "ip_gre"
)

// ErrNoIPIP reports that the kernel cannot provide tunl0: the ipip module
// is neither built in nor loadable. The CLI tests for it with errors.Is.
var ErrNoIPIP = errors.New("kernel module ipip is not available (no tunl0; kernel autoload and modprobe ipip both failed)")

// ErrNoGRE reports that the kernel cannot provide gre0: the ip_gre module
// is neither built in nor loadable.
var ErrNoGRE = errors.New("kernel module ip_gre is not available (no gre0; kernel autoload and modprobe ip_gre both failed)")

// Device is a fallback tunnel device, which decapsulates every packet of
// its protocol that no configured tunnel claims: IPIP or GRE.
type Device struct {
	Name   string // tunl0, gre0
	Module string // ipip, ip_gre
	// missing is the error Ensure wraps when the module cannot be had.
	missing error
	// link is the link Ensure asks the kernel for: of the module's kind,
	// without endpoints, named Name.
	link func() netlink.Link
}

// IPIP is tunl0, which decapsulates IPIP packets and the inner IPIP
// packets of GUE.
var IPIP = Device{Name: Dev, Module: Module, missing: ErrNoIPIP, link: func() netlink.Link {
	return &netlink.Iptun{LinkAttrs: netlink.LinkAttrs{Name: Dev}}
}}

// GRE is gre0, which decapsulates GRE packets.
var GRE = Device{Name: GREDev, Module: GREModule, missing: ErrNoGRE, link: func() netlink.Link {
	// An IPv4 local address (any) makes the netlink library ask for kind
	// "gre"; without one it would ask for "ip6gre".
	return &netlink.Gretun{LinkAttrs: netlink.LinkAttrs{Name: GREDev}, Local: net.IPv4zero}
}}

// For returns the device that decapsulates a tun real server's tunnel:
// gre0 for gre, tunl0 for ipip (the empty type too) and gue, whose GUE
// header carries an IPIP packet.
func For(t config.TunnelType) Device {
	if t == config.TunnelGRE {
		return GRE
	}
	return IPIP
}

// Overhead is what the director's encapsulation adds to each packet sent
// through a tunnel of type t with flag f, in bytes, as IPVS counts it:
// the outer IPv4 header (20), and for gue a UDP header (8) and the GUE
// header (4) with 8 more for remcsum's private flags and option, for gre
// the GRE header (4) with 4 more for csum.
func Overhead(t config.TunnelType, f config.TunnelFlag) int {
	switch t {
	case config.TunnelGUE:
		if f == config.TunnelRemCsum {
			return 20 + 8 + 4 + 8
		}
		return 20 + 8 + 4
	case config.TunnelGRE:
		if f == config.TunnelCsum {
			return 20 + 4 + 4
		}
		return 20 + 4
	}
	return 20
}

// Link is what lvs-rs observes of a fallback device.
type Link struct {
	Exists bool
	Up     bool // administratively up (IFF_UP)
}

// Observe reports whether tunl0 exists in h's namespace and whether it is up.
func Observe(h *netlink.Handle) (Link, error) { return IPIP.Observe(h) }

// Observe reports whether d exists in h's namespace and whether it is up.
func (d Device) Observe(h *netlink.Handle) (Link, error) {
	l, err := h.LinkByName(d.Name)
	if err != nil {
		if notFound(err) {
			return Link{}, nil
		}
		return Link{}, fmt.Errorf("tunnel: look up %s: %w", d.Name, err)
	}
	return Of(l), nil
}

// Of is a device's state as its link l reports it; nil means there is no
// such device.
func Of(l netlink.Link) Link {
	if l == nil {
		return Link{}
	}
	return Link{Exists: true, Up: l.Attrs().Flags&net.FlagUp != 0}
}

// modprobeCommand is what modprobe runs for a module, and modprobeTimeout
// how long it may take (as rtnl.Timeout bounds each netlink request): a
// module load that hangs fails instead of holding start and the state
// lock. Variables so tests can run a command that hangs.
var (
	modprobeCommand = func(module string) []string { return []string{"modprobe", module} }
	modprobeTimeout = 30 * time.Second
)

// modprobe loads a module (always one of this package's constants, never
// a config-derived string), killing modprobe after modprobeTimeout; a
// variable so tests can count calls.
var modprobe = func(ctx context.Context, module string) error {
	ctx, cancel := context.WithTimeout(ctx, modprobeTimeout)
	defer cancel()
	argv := modprobeCommand(module)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.WaitDelay = time.Second // a child holding its output open does not hold us
	out, err := cmd.CombinedOutput()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("modprobe %s: no answer within %v, killed: %w", module, modprobeTimeout, ctx.Err())
	}
	if err != nil {
		if msg := strings.TrimSpace(string(out)); msg != "" {
			return fmt.Errorf("modprobe %s: %w: %s", module, err, msg)
		}
		return fmt.Errorf("modprobe %s: %w", module, err)
	}
	return nil
}

// Ensure makes tunl0 exist in h's namespace, loading ipip if needed (see
// Device.Ensure).
func Ensure(ctx context.Context, h *netlink.Handle) (created bool, err error) {
	return IPIP.Ensure(ctx, h)
}

// Ensure makes d exist in h's namespace, loading its module if needed. It
// reports created=true only when lvs-rs created d itself (the module was
// loaded but the kernel made no fallback device in this namespace); such
// a link is lvs-rs's to delete. A missing module yields an error wrapping
// ErrNoIPIP (tunl0) or ErrNoGRE (gre0); a missing privilege keeps its
// errno (unix.EPERM).
func (d Device) Ensure(ctx context.Context, h *netlink.Handle) (created bool, err error) {
	if l, err := d.Observe(h); err != nil || l.Exists {
		return false, err
	}
	// Asking for a link of the module's kind autoloads the module; its
	// fallback device then makes this request fail with EEXIST.
	aerr := d.create(h)
	switch {
	case aerr == nil:
		return true, nil
	case errors.Is(aerr, unix.EEXIST):
		return false, d.present(h)
	case errors.Is(aerr, unix.EPERM), errors.Is(aerr, unix.EACCES):
		return false, fmt.Errorf("tunnel: create %s: %w", d.Name, aerr)
	}
	merr := faultinject.Write("modprobe "+d.Module, func() error { return modprobe(ctx, d.Module) })
	if l, err := d.Observe(h); err != nil || l.Exists {
		return false, err
	}
	if merr == nil {
		// Loaded, but no fallback device in this namespace: make one.
		aerr = d.create(h)
		if aerr == nil {
			return true, nil
		}
		if errors.Is(aerr, unix.EEXIST) {
			return false, d.present(h)
		}
	}
	return false, fmt.Errorf("tunnel: create %s: %w (netlink: %v; %v)", d.Name, d.missing, aerr, merr)
}

// create asks for a link of d's kind named d.Name without endpoints.
func (d Device) create(h *netlink.Handle) error {
	return faultinject.Write("create "+d.Name, func() error { return h.LinkAdd(d.link()) })
}

// present checks that d exists after the kernel answered EEXIST, which a
// link of its kind without endpoints under another name would also cause.
func (d Device) present(h *netlink.Handle) error {
	l, err := d.Observe(h)
	if err != nil {
		return err
	}
	if !l.Exists {
		return fmt.Errorf("tunnel: create %s: another %s link without endpoints exists, and no %s: %w", d.Name, d.link().Type(), d.Name, unix.EEXIST)
	}
	return nil
}

// SetUp brings tunl0 up; it is a no-op for the kernel when it is up.
func SetUp(h *netlink.Handle) error { return IPIP.SetUp(h) }

// SetUp brings d up; it is a no-op for the kernel when it is up.
func (d Device) SetUp(h *netlink.Handle) error {
	l, err := h.LinkByName(d.Name)
	if err == nil {
		err = faultinject.Write("set "+d.Name+" up", func() error { return h.LinkSetUp(l) })
	}
	if err != nil {
		return fmt.Errorf("tunnel: set %s up: %w", d.Name, err)
	}
	return nil
}

// SetDown sets tunl0 down. A missing tunl0 counts as success.
func SetDown(h *netlink.Handle) error { return IPIP.SetDown(h) }

// SetDown sets d down. A missing device counts as success.
func (d Device) SetDown(h *netlink.Handle) error {
	l, err := h.LinkByName(d.Name)
	if err != nil {
		if notFound(err) {
			return nil
		}
		return fmt.Errorf("tunnel: set %s down: %w", d.Name, err)
	}
	err = faultinject.Write("set "+d.Name+" down", func() error { return h.LinkSetDown(l) })
	if err != nil && !gone(err) {
		return fmt.Errorf("tunnel: set %s down: %w", d.Name, err)
	}
	return nil
}

// Delete removes a tunl0 that lvs-rs created itself (see Device.Delete).
func Delete(h *netlink.Handle) error { return IPIP.Delete(h) }

// Delete removes d when lvs-rs created it itself (see Ensure). A missing
// device counts as success. The kernel silently keeps the module's own
// fallback device, so callers only delete what Ensure reported as
// created.
func (d Device) Delete(h *netlink.Handle) error {
	l, err := h.LinkByName(d.Name)
	if err != nil {
		if notFound(err) {
			return nil
		}
		return fmt.Errorf("tunnel: delete %s: %w", d.Name, err)
	}
	err = faultinject.Write("delete "+d.Name, func() error { return h.LinkDel(l) })
	if err != nil && !gone(err) {
		return fmt.Errorf("tunnel: delete %s: %w", d.Name, err)
	}
	return nil
}

func notFound(err error) bool { return rtnl.LinkGone(err) }

func gone(err error) bool {
	return errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOENT)
}
