package director

import (
	"errors"

	"github.com/vishvananda/netlink"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

// Role is the state record's role name.
const Role = "director"

// ErrNoIPVS reports a kernel without IPVS (module ip_vs neither loaded nor
// loadable). The CLI tests for it with errors.Is; its message names ip_vs.
var ErrNoIPVS = ipvs.ErrNoIPVS

// ErrForeignService reports that the config names a virtual service that
// exists in the kernel but was not created by lvs-rs: start refuses to
// take it over and changes nothing.
var ErrForeignService = errors.New("virtual service exists and was not created by lvs-rs")

// Options are the CLI's settings for one command.
type Options struct {
	StateDir string          // state.Store directory
	DryRun   bool            // plan only: no kernel write, no state write
	Handle   *netlink.Handle // nil = the calling thread's network namespace
	Sysctl   sysctl.Tree     // zero value = sysctl.Proc()
	// NetNS is the network namespace (a file descriptor) of the nftables
	// rules and gratuitous ARP, Handle's; 0 = the calling thread's.
	NetNS int
	// IPVS is the IPVS table to program; nil dials pkg/ipvs in the
	// calling thread's network namespace (and, for start only, loads
	// ip_vs with modprobe when IPVS is missing).
	IPVS IPVS
	// Kernel, when set, is the whole kernel (IPVS, addresses, sysctls):
	// Handle, Sysctl and IPVS are then ignored. For tests.
	Kernel Kernel
	// Services, when not empty, limits Converge to these virtual
	// services (keys of the desired ones, or of recorded ones to remove):
	// it asks the kernel for these services only (one request each, no
	// dump of every service) and dumps their destinations, plans and
	// changes these only, and leaves the others, and their record, as
	// they are. The VIPs and sysctls are converged as usual, and the
	// record keeps the whole desired state passed. A long-running
	// director converging after a health transition names the one
	// service whose real server changed: the pass costs a request for
	// that service, a dump of its real servers and the one edit. Start,
	// Stop and Status ignore it.
	Services []ipvs.ServiceKey
	// SkipForeign makes Converge leave out each service of the desired
	// state that exists but is not lvs-rs's (another tool created it),
	// listing it in Result.Foreign, and converge the rest, instead of
	// refusing the whole pass with ErrForeignService: the long-running
	// director keeps applying health and drift repair to every other
	// service while the operator sorts the conflict out. Such a service
	// is never edited, recorded or deleted, and a VIP none of whose
	// services lvs-rs owns or adds is not announced. Start ignores it:
	// start refuses before any change.
	SkipForeign bool
	// Records, when set, keeps the state record between calls: a
	// long-running caller's pass takes it from memory while its file is
	// the one the last pass read or wrote (see RecordCache), and renders
	// for it only the services that differ from the ones recorded
	// (compared as values; see desiredIndex). nil reads it every time, as
	// Start and Stop do.
	Records *RecordCache
}

func (o Options) sysctl() sysctl.Tree {
	if o.Sysctl.Root == "" {
		return sysctl.Proc()
	}
	return o.Sysctl
}

// Result is what Start or Stop did (or, with DryRun, would do).
type Result struct {
	Changes  []Change // in the order applied; only those that succeeded
	Warnings []string
	// SameDesired reports that the desired state equals the one the last
	// pass recorded (start or Converge; never for a dry run): what such a
	// pass changed had drifted from it. Without Options.Records the last
	// pass is the one whose record this pass found; with it, the last pass
	// made with that cache, even when another command rewrote or removed
	// the record since. It is known from the record's encoding, compared as
	// the new one is rendered, with no comparison of its own (but for that
	// rewrite: one more rendering).
	SameDesired bool
	// Foreign are the services of the desired state that exist and are
	// not lvs-rs's, left out of the pass (Options.SkipForeign), in the
	// desired state's order; of the services the pass read (with
	// Options.Services, those alone).
	Foreign []ipvs.ServiceKey
	// Kernel is the IPVS table as the pass left it: read back after its
	// writes (or, when the kernel acknowledged every one, obs with them
	// applied), or as read when there was nothing to change; nil when the
	// pass could not tell (it failed before reading the kernel or while
	// reading it back) and for a dry run. It holds the services the pass
	// read (with Options.Services, those alone) and, for lvs-rs's own, the
	// configurations of their real servers: the weights the kernel has.
	Kernel map[ipvs.ServiceKey]ObservedService
}
