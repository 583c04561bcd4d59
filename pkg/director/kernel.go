package director

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/faultinject"
	"github.com/lvs-rs/lvs-rs/internal/rtnl"
	"github.com/lvs-rs/lvs-rs/pkg/garp"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
)

// IPVS is the kernel's IPVS table as the director uses it. *ipvs.Client
// implements it, pipelined: writes go through Apply, a batch, sent many
// requests per sendmsg.
type IPVS interface {
	// Info is also the availability probe: a kernel without IPVS fails it
	// with an error wrapping ipvs.ErrNoIPVS.
	Info(ctx context.Context) (ipvs.Info, error)
	Services(ctx context.Context) ([]ipvs.ServiceExtended, error)
	// Service returns the service with key k, with its counters, in one
	// request (not a dump); one that does not exist is an error wrapping
	// ESRCH. A pass converging a few services (Options.Services) reads
	// them with it.
	Service(ctx context.Context, k ipvs.ServiceKey) (ipvs.ServiceExtended, error)
	Destinations(ctx context.Context, s ipvs.Service) ([]ipvs.DestinationExtended, error)
	// DestinationsOf calls each, in order, with the index in svcs and the
	// destinations (with their counters) of every service of svcs that
	// exists: one that does not (ESRCH, deleted since the caller listed
	// it) is skipped; any other failure stops the calls and is returned.
	// *ipvs.Client makes the dumps under one call (IPVS has no dump of
	// every destination: observing 1,000 services takes 1,000 dumps).
	DestinationsOf(ctx context.Context, svcs []ipvs.Service, each func(i int, ds []ipvs.DestinationExtended)) error
	// DestinationConfigsOf is DestinationsOf without the counters, which
	// a converge does not read.
	DestinationConfigsOf(ctx context.Context, svcs []ipvs.Service, each func(i int, ds []ipvs.Destination)) error
	// Apply performs ops in order and returns one error per op. It may
	// stop at the first failure and report the rest as
	// ipvs.ErrNotAttempted, or attempt them all; an op whose outcome is
	// unknown wraps ipvs.ErrOutcomeUnknown.
	Apply(ctx context.Context, ops []ipvs.Op) []error
}

// configsOf returns the configurations of ds, in one new slice.
func configsOf(ds []ipvs.DestinationExtended) []ipvs.Destination {
	if ds == nil {
		return nil
	}
	out := make([]ipvs.Destination, len(ds))
	for i := range ds {
		out[i] = ds[i].Destination
	}
	return out
}

// Kernel is everything the director reads and writes: the IPVS table and
// its host-wide settings, the addresses of devices and the sysctls.
// Observing and executing both go through it. The host's implementation
// passes every write through faultinject.Write (without IPVS, it reads
// zero timeouts and no sync daemon); a test implements it in memory.
type Kernel interface {
	IPVS
	Settings
	Network
	// Addrs lists the addresses on dev; a missing device is an error
	// satisfying linkGone.
	Addrs(dev string) ([]vip.Addr, error)
	// Bind puts a on its device; an address already there (another tool
	// bound it since it was observed absent) is refused with EEXIST, never
	// taken over.
	Bind(a vip.Addr) error
	// Unbind removes a; what is already gone counts as success.
	Unbind(a vip.Addr) error
	// Sysctl reads a kernel parameter.
	Sysctl(k sysctl.Key) (string, error)
	// SetSysctl writes a kernel parameter.
	SetSysctl(k sysctl.Key, value string) error
}

// netlinkTimeout bounds each rtnetlink request of the host kernel.
const netlinkTimeout = rtnl.Timeout

// hostKernel is the Kernel of a host: IPVS (nil when the kernel has none),
// rtnetlink and /proc/sys.
type hostKernel struct {
	ipvs IPVS
	h    *netlink.Handle
	tree sysctl.Tree
	// netns is the network namespace (a file descriptor) of nftables and
	// gratuitous ARP; 0 for the calling thread's.
	netns int
	// arp sends the gratuitous ARPs; its socket, once opened, is closed
	// with the kernel.
	arp *garp.Sender
	// links binds and unbinds VIPs, looking each device up once per
	// kernel (one pass).
	links *vip.Links
}

func (k hostKernel) Info(ctx context.Context) (ipvs.Info, error) {
	if k.ipvs == nil {
		return ipvs.Info{}, ErrNoIPVS
	}
	return k.ipvs.Info(ctx)
}

func (k hostKernel) Services(ctx context.Context) ([]ipvs.ServiceExtended, error) {
	if k.ipvs == nil {
		return nil, nil // no IPVS, no service
	}
	return k.ipvs.Services(ctx)
}

func (k hostKernel) Service(ctx context.Context, key ipvs.ServiceKey) (ipvs.ServiceExtended, error) {
	if k.ipvs == nil {
		return ipvs.ServiceExtended{}, &ipvs.Error{Op: "get service", Object: key.String(), Err: unix.ESRCH}
	}
	return k.ipvs.Service(ctx, key)
}

func (k hostKernel) Destinations(ctx context.Context, s ipvs.Service) ([]ipvs.DestinationExtended, error) {
	if k.ipvs == nil {
		return nil, &ipvs.Error{Op: "list destinations of", Object: s.String(), Err: unix.ESRCH}
	}
	return k.ipvs.Destinations(ctx, s)
}

// DestinationsOf lists many services' destinations in one call; without
// IPVS no service exists.
func (k hostKernel) DestinationsOf(ctx context.Context, svcs []ipvs.Service, each func(i int, ds []ipvs.DestinationExtended)) error {
	if k.ipvs == nil {
		return nil
	}
	return k.ipvs.DestinationsOf(ctx, svcs, each)
}

// DestinationConfigsOf is DestinationsOf without counters.
func (k hostKernel) DestinationConfigsOf(ctx context.Context, svcs []ipvs.Service, each func(i int, ds []ipvs.Destination)) error {
	if k.ipvs == nil {
		return nil
	}
	return k.ipvs.DestinationConfigsOf(ctx, svcs, each)
}

// Apply without IPVS: deletes are done (nothing exists), the rest fail
// with ErrNoIPVS.
func (k hostKernel) Apply(ctx context.Context, ops []ipvs.Op) []error {
	if k.ipvs != nil {
		return k.ipvs.Apply(ctx, ops)
	}
	errs := make([]error, len(ops))
	for i, op := range ops {
		if op.Kind != ipvs.OpDeleteService && op.Kind != ipvs.OpDeleteDestination {
			errs[i] = ErrNoIPVS
		}
	}
	return errs
}

func (k hostKernel) Addrs(dev string) ([]vip.Addr, error) { return vip.List(k.h, dev) }

func (k hostKernel) Bind(a vip.Addr) error {
	return faultinject.Write("bind "+a.String(), func() error { return k.links.Bind(k.h, a) })
}

func (k hostKernel) Unbind(a vip.Addr) error {
	return faultinject.Write("unbind "+a.String(), func() error { return k.links.Unbind(k.h, a) })
}

func (k hostKernel) Sysctl(key sysctl.Key) (string, error) { return k.tree.Read(key) }

func (k hostKernel) SetSysctl(key sysctl.Key, value string) error {
	return faultinject.Write("sysctl "+key.String()+"="+value, func() error { return k.tree.Write(key, value) })
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
var dialIPVS = func() (IPVS, func(), error) {
	c, err := ipvs.Dial(nil)
	if err != nil {
		return nil, nil, err
	}
	return c, func() { c.Close() }, nil
}

// openKernel returns the kernel to use and checks that IPVS is there.
// With load, a missing IPVS is loaded with modprobe ip_vs once. When IPVS
// is missing it returns a usable kernel without IPVS and an error wrapping
// ErrNoIPVS (stop and a dry run go on without it); close is always
// callable when the kernel is not nil.
func openKernel(ctx context.Context, o Options, load bool) (Kernel, ipvs.Info, func(), error) {
	if o.Kernel != nil {
		info, err := o.Kernel.Info(ctx)
		return o.Kernel, info, func() {}, wrapNoIPVS(err)
	}
	h, closeNL, err := handle(o)
	if err != nil {
		return nil, ipvs.Info{}, nil, err
	}
	k := hostKernel{h: h, tree: o.sysctl(), netns: o.NetNS, arp: &garp.Sender{}, links: &vip.Links{}}
	closeH := func() {
		// Nothing to report: every announcement was sent or failed
		// already. Released, not closed: the kernel's grace period
		// (about 10 ms) overlaps what the command does next.
		k.arp.Release()
		closeNL()
	}
	x, closeX := o.IPVS, func() {}
	if x == nil {
		x, closeX, err = dialIPVS()
		if errors.Is(err, ipvs.ErrNoIPVS) && load {
			if merr := modprobe(ctx); merr == nil {
				x, closeX, err = dialIPVS()
			}
		}
		if err != nil {
			return k, ipvs.Info{}, closeH, wrapNoIPVS(err)
		}
	}
	info, err := x.Info(ctx)
	if err != nil {
		closeX()
		return k, ipvs.Info{}, closeH, wrapNoIPVS(err)
	}
	k.ipvs = x
	return k, info, func() { closeX(); closeH() }, nil
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
	h, err := rtnl.Open(netns.None())
	if err != nil {
		return nil, nil, fmt.Errorf("director: %w", err)
	}
	return h, h.Close, nil
}
