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
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Dev is the ipip fallback device an LVS-TUN real server binds its VIPs on.
const Dev = "tunl0"

// Module is the kernel module that provides Dev.
const Module = "ipip"

// ErrNoIPIP reports that the kernel cannot provide tunl0: the ipip module
// is neither built in nor loadable. The CLI tests for it with errors.Is.
var ErrNoIPIP = errors.New("kernel module ipip is not available (no tunl0; kernel autoload and modprobe ipip both failed)")

// Link is what lvs-rs observes of tunl0.
type Link struct {
	Exists bool
	Up     bool // administratively up (IFF_UP)
}

// Observe reports whether tunl0 exists in h's namespace and whether it is up.
func Observe(h *netlink.Handle) (Link, error) {
	l, err := h.LinkByName(Dev)
	if err != nil {
		if notFound(err) {
			return Link{}, nil
		}
		return Link{}, fmt.Errorf("tunnel: look up %s: %w", Dev, err)
	}
	return Of(l), nil
}

// Of is tunl0's state as its link l reports it; nil means there is no
// tunl0.
func Of(l netlink.Link) Link {
	if l == nil {
		return Link{}
	}
	return Link{Exists: true, Up: l.Attrs().Flags&net.FlagUp != 0}
}

// modprobeCommand is what modprobe runs, and modprobeTimeout how long it
// may take (as rtnl.Timeout bounds each netlink request): a module load
// that hangs fails instead of holding start and the state lock. Variables
// so tests can run a command that hangs.
var (
	modprobeCommand = []string{"modprobe", Module}
	modprobeTimeout = 30 * time.Second
)

// modprobe loads the ipip module, killing modprobe after modprobeTimeout;
// a variable so tests can count calls.
var modprobe = func(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, modprobeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, modprobeCommand[0], modprobeCommand[1:]...)
	cmd.WaitDelay = time.Second // a child holding its output open does not hold us
	out, err := cmd.CombinedOutput()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("modprobe %s: no answer within %v, killed: %w", Module, modprobeTimeout, ctx.Err())
	}
	if err != nil {
		if msg := strings.TrimSpace(string(out)); msg != "" {
			return fmt.Errorf("modprobe %s: %w: %s", Module, err, msg)
		}
		return fmt.Errorf("modprobe %s: %w", Module, err)
	}
	return nil
}

// Ensure makes tunl0 exist in h's namespace, loading ipip if needed. It
// reports created=true only when lvs-rs created tunl0 itself (ipip was
// loaded but the kernel made no fallback device in this namespace); such a
// link is lvs-rs's to delete. A missing module yields an error wrapping
// ErrNoIPIP; a missing privilege keeps its errno (unix.EPERM).
func Ensure(ctx context.Context, h *netlink.Handle) (created bool, err error) {
	if l, err := Observe(h); err != nil || l.Exists {
		return false, err
	}
	// Asking for an ipip link autoloads the module; its fallback tunl0
	// then makes this request fail with EEXIST.
	aerr := create(h)
	switch {
	case aerr == nil:
		return true, nil
	case errors.Is(aerr, unix.EEXIST):
		return false, present(h)
	case errors.Is(aerr, unix.EPERM), errors.Is(aerr, unix.EACCES):
		return false, fmt.Errorf("tunnel: create %s: %w", Dev, aerr)
	}
	merr := faultinject.Write("modprobe "+Module, func() error { return modprobe(ctx) })
	if l, err := Observe(h); err != nil || l.Exists {
		return false, err
	}
	if merr == nil {
		// Loaded, but no fallback device in this namespace: make one.
		aerr = create(h)
		if aerr == nil {
			return true, nil
		}
		if errors.Is(aerr, unix.EEXIST) {
			return false, present(h)
		}
	}
	return false, fmt.Errorf("tunnel: create %s: %w (netlink: %v; %v)", Dev, ErrNoIPIP, aerr, merr)
}

// create asks for an ipip link named tunl0 without endpoints.
func create(h *netlink.Handle) error {
	return faultinject.Write("create "+Dev, func() error {
		return h.LinkAdd(&netlink.Iptun{LinkAttrs: netlink.LinkAttrs{Name: Dev}})
	})
}

// present checks that tunl0 exists after the kernel answered EEXIST, which
// an ipip link without endpoints under another name would also cause.
func present(h *netlink.Handle) error {
	l, err := Observe(h)
	if err != nil {
		return err
	}
	if !l.Exists {
		return fmt.Errorf("tunnel: create %s: another ipip link without endpoints exists, and no %s: %w", Dev, Dev, unix.EEXIST)
	}
	return nil
}

// SetUp brings tunl0 up; it is a no-op for the kernel when it is up.
func SetUp(h *netlink.Handle) error {
	l, err := h.LinkByName(Dev)
	if err == nil {
		err = faultinject.Write("set "+Dev+" up", func() error { return h.LinkSetUp(l) })
	}
	if err != nil {
		return fmt.Errorf("tunnel: set %s up: %w", Dev, err)
	}
	return nil
}

// SetDown sets tunl0 down. A missing tunl0 counts as success.
func SetDown(h *netlink.Handle) error {
	l, err := h.LinkByName(Dev)
	if err != nil {
		if notFound(err) {
			return nil
		}
		return fmt.Errorf("tunnel: set %s down: %w", Dev, err)
	}
	err = faultinject.Write("set "+Dev+" down", func() error { return h.LinkSetDown(l) })
	if err != nil && !gone(err) {
		return fmt.Errorf("tunnel: set %s down: %w", Dev, err)
	}
	return nil
}

// Delete removes a tunl0 that lvs-rs created itself (see Ensure). A missing
// tunl0 counts as success. The kernel silently keeps the module's own
// fallback device, so callers only delete what Ensure reported as created.
func Delete(h *netlink.Handle) error {
	l, err := h.LinkByName(Dev)
	if err != nil {
		if notFound(err) {
			return nil
		}
		return fmt.Errorf("tunnel: delete %s: %w", Dev, err)
	}
	err = faultinject.Write("delete "+Dev, func() error { return h.LinkDel(l) })
	if err != nil && !gone(err) {
		return fmt.Errorf("tunnel: delete %s: %w", Dev, err)
	}
	return nil
}

func notFound(err error) bool { return rtnl.LinkGone(err) }

func gone(err error) bool {
	return errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOENT)
}
