package director

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// Kernel is the IPVS table as the director uses it. *ipvs.Client
// implements it, pipelined: writes go through Apply, a batch, sent many
// requests per sendmsg.
type Kernel interface {
	// Info is also the availability probe: a kernel without IPVS fails it
	// with an error wrapping ipvs.ErrNoIPVS.
	Info() (ipvs.Info, error)
	Services() ([]ipvs.ServiceExtended, error)
	Destinations(ipvs.Service) ([]ipvs.DestinationExtended, error)
	// Apply performs ops in order and returns one error per op. It may
	// stop at the first failure and report the rest as
	// ipvs.ErrNotAttempted, or attempt them all.
	Apply(ops []ipvs.Op) []error
}

// modprobe loads ip_vs; a variable so tests can replace it.
var modprobe = func(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, "modprobe", "ip_vs").CombinedOutput()
	if err != nil {
		if msg := strings.TrimSpace(string(out)); msg != "" {
			return fmt.Errorf("modprobe ip_vs: %w: %s", err, msg)
		}
		return fmt.Errorf("modprobe ip_vs: %w", err)
	}
	return nil
}

// dialIPVS is ipvs.Dial; a variable so tests can replace it.
var dialIPVS = func() (Kernel, func(), error) {
	c, err := ipvs.Dial(nil)
	if err != nil {
		return nil, nil, err
	}
	return c, func() { c.Close() }, nil
}

// openKernel returns the kernel to use and checks that IPVS is there.
// With load, a missing IPVS is loaded with modprobe ip_vs once.
func openKernel(ctx context.Context, o Options, load bool) (Kernel, ipvs.Info, func(), error) {
	k, closeK := o.Kernel, func() {}
	if k == nil {
		var err error
		k, closeK, err = dialIPVS()
		if errors.Is(err, ipvs.ErrNoIPVS) && load {
			if merr := modprobe(ctx); merr == nil {
				k, closeK, err = dialIPVS()
			}
		}
		if err != nil {
			return nil, ipvs.Info{}, nil, wrapNoIPVS(err)
		}
	}
	info, err := k.Info()
	if err != nil {
		closeK()
		return nil, ipvs.Info{}, nil, wrapNoIPVS(err)
	}
	return k, info, closeK, nil
}

// wrapNoIPVS turns any missing-IPVS error into ErrNoIPVS itself (its
// message is the one-line the CLI prints), leaving others as they are.
func wrapNoIPVS(err error) error {
	if errors.Is(err, ipvs.ErrNoIPVS) {
		return ErrNoIPVS
	}
	return err
}

// handle returns o.Handle, or a new one in the calling thread's namespace.
func handle(o Options) (*netlink.Handle, func(), error) {
	if o.Handle != nil {
		return o.Handle, func() {}, nil
	}
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, nil, fmt.Errorf("director: netlink: %w", err)
	}
	return h, h.Close, nil
}
