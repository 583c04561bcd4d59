package director

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/nftmark"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

// executor applies changes through the kernel.
type executor struct {
	k Kernel
	// keepGoing makes every change regardless of what failed before it
	// (teardown); otherwise a failure holds back only the changes that
	// depend on it (see holds).
	keepGoing bool
	// desired and observed are the nftables mark rules wanted and found:
	// they tell which VIPs a fwmark service serves (see holds).
	desired, observed []nftmark.Rule
}

// removes reports whether a change takes something away (the second
// phase of a plan).
func (k Kind) removes() bool {
	switch k {
	case DeleteDestination, DeleteService, ReleaseService, Unbind, RestoreSysctl, LeaveSysctl,
		StopSync, LeaveSync, RestoreTimeout, LeaveTimeout, DeleteRoute, RemoveMarks:
		return true
	}
	return false
}

// apply runs changes in two phases and returns one error per change: nil
// for done, ipvs.ErrNotAttempted for held back or not reached. The first
// phase writes sysctls, binds, adds and edits; the second, the deletions,
// runs once the first is over: the kernel performs every request of a
// pipelined batch, so the two phases are never in one batch. A failure
// holds back only the changes that depend on it (see holds), so a failed
// addition of :8080 keeps :80, the addition it was to replace, while the
// other services' edits, additions and deletions and the withdrawal of
// another VIP's route go on; with keepGoing (teardown) nothing is held
// back.
func (e executor) apply(ctx context.Context, changes []Change) []error {
	errs := make([]error, len(changes))
	cut := len(changes)
	for i := range changes {
		if changes[i].Kind.removes() {
			cut = i
			break
		}
	}
	h := newHolds(e.keepGoing, e.desired, e.observed)
	if h != nil {
		h.firstPhase = true
	}
	e.run(ctx, changes[:cut], errs[:cut], h)
	if h != nil {
		h.firstPhase = false
	}
	e.run(ctx, changes[cut:], errs[cut:], h)
	return errs
}

// run applies one phase in order, holding back what h says waits.
// Consecutive IPVS changes go to the kernel as one batch (Kernel.Apply).
func (e executor) run(ctx context.Context, changes []Change, errs []error, h *holds) {
	for i := 0; i < len(changes); {
		if ctx.Err() != nil {
			errs[i] = fmt.Errorf("director: %v: %w", changes[i], ctx.Err())
			for n := i + 1; n < len(changes); n++ {
				errs[n] = ipvs.ErrNotAttempted
			}
			return
		}
		if _, ok := changes[i].Kind.ipvsOp(); ok {
			j := i
			for j < len(changes) {
				if _, ok := changes[j].Kind.ipvsOp(); !ok {
					break
				}
				j++
			}
			e.batch(ctx, changes[i:j], errs[i:j], h)
			i = j
			continue
		}
		c := &changes[i]
		if h.held(c) {
			errs[i] = ipvs.ErrNotAttempted
		} else {
			errs[i] = e.one(ctx, *c)
		}
		h.note(c, errs[i])
		i++
	}
}

// applyWindow is how many IPVS changes batch hands the kernel at once:
// their Ops are built into one reused window instead of a slice of
// 11,000 (1.8 MB, which made a start's heap cross the collector's first
// goal), and the IPVS client cuts each window into chunks as before.
const applyWindow = 1024

// barrenRounds is how many times in a row batch tries again changes the
// kernel did not attempt when a try made none (teardown aside, which
// tries everything): a kernel that stops at a failure (one request per
// round trip) costs a try per failure, but one that refuses everything (a
// broken socket) is not tried once per change.
const barrenRounds = 3

// batch sends IPVS changes. The services' additions go first, in a batch
// of their own, and then the rest, without the real servers of a service
// whose addition failed (see holds): the kernel performs every request of
// a pipelined batch, so a real server sent behind its service's refused
// addition (EEXIST: another tool created the service since it was read)
// would be added to the other tool's service. The changes the kernel did
// not attempt (after a failed chunk) are tried again. Deleting what is
// already gone counts as done.
func (e executor) batch(ctx context.Context, changes []Change, errs []error, h *holds) {
	n := 0
	for i := range changes {
		if changes[i].Kind == AddService {
			n++
		}
	}
	idx := make([]int, len(changes)) // the additions' indexes, then the rest's
	adds, rest := idx[:0:n], idx[n:n]
	for i := range changes {
		if changes[i].Kind == AddService {
			adds = append(adds, i)
		} else {
			rest = append(rest, i)
		}
	}
	ops := make([]ipvs.Op, 0, min(len(changes), applyWindow))
	for _, pending := range [][]int{adds, rest} {
		e.sendAll(ctx, changes, pending, errs, ops, h)
	}
}

// sendAll sends the changes pending indexes but those held back, tries
// again what the kernel did not attempt, and notes every result in h.
func (e executor) sendAll(ctx context.Context, changes []Change, pending []int, errs []error, ops []ipvs.Op, h *holds) {
	barren := 0 // tries in a row that made no change
	for len(pending) > 0 {
		n := 0
		for _, i := range pending {
			if h.held(&changes[i]) {
				errs[i] = ipvs.ErrNotAttempted
				h.note(&changes[i], errs[i])
				continue
			}
			pending[n] = i
			n++
		}
		pending = pending[:n]
		if len(pending) == 0 {
			return
		}
		again, done := e.send(ctx, changes, pending, errs, ops)
		for _, i := range pending {
			if settled(errs[i]) {
				h.note(&changes[i], errs[i])
			}
		}
		if done == 0 && !e.keepGoing {
			barren++
		} else {
			barren = 0
		}
		if len(again) == len(pending) || barren == barrenRounds || ctx.Err() != nil {
			for _, i := range again {
				h.note(&changes[i], errs[i]) // not attempted, finally
			}
			return
		}
		pending = again
	}
}

// send applies the changes pending indexes, a window of Ops (built in
// ops) at a time, and returns those the kernel did not attempt, to be
// tried again, and how many succeeded. A window with a failure does not
// stop the windows after it.
func (e executor) send(ctx context.Context, changes []Change, pending []int, errs []error, ops []ipvs.Op) (again []int, done int) {
	for w := 0; w < len(pending); w += applyWindow {
		window := pending[w:min(w+applyWindow, len(pending))]
		ops = ops[:len(window)] // filled in place: an Op is 160 bytes
		for n, i := range window {
			c, o := &changes[i], &ops[n]
			o.Kind, _ = c.Kind.ipvsOp()
			o.Service, o.Destination = c.Service, c.Destination
		}
		res := e.k.Apply(ctx, ops)
		for n, i := range window {
			err := ipvs.ErrNotAttempted
			if n < len(res) {
				err = res[n]
			}
			if err != nil && gone(changes[i].Kind, err) {
				err = nil
			}
			errs[i] = err
			switch {
			case err == nil:
				done++
			case errors.Is(err, ipvs.ErrNotAttempted):
				again = append(again, i)
			}
		}
	}
	return again, done
}

// gone reports a delete whose object was already gone: ESRCH (no such
// service) or ENOENT (no such destination).
func gone(k Kind, err error) bool {
	return (k == DeleteService || k == DeleteDestination) && (errors.Is(err, unix.ESRCH) || errors.Is(err, unix.ENOENT))
}

// one applies a change that is not an IPVS one.
func (e executor) one(ctx context.Context, c Change) error {
	key := sysctl.ParseKey(c.Sysctl().Key)
	switch c.Kind {
	case SetSysctl:
		return e.k.SetSysctl(key, c.Sysctl().Wrote)
	case RestoreSysctl:
		return e.k.SetSysctl(key, c.Sysctl().Prior)
	case Bind:
		return e.k.Bind(c.Addr())
	case Unbind:
		return e.k.Unbind(c.Addr())
	case ReleaseService, LeaveSysctl:
		return nil
	case AddRoute, DeleteRoute, BuildMarks, RemoveMarks:
		return e.network(ctx, c)
	}
	return e.setting(ctx, c)
}

// outcome splits results into what was done, the warnings and the errors.
// When every change was done, the Result's Changes is changes itself.
func outcome(changes []Change, errs []error) (Result, error) {
	var res Result
	var fails []error
	all := !slices.ContainsFunc(errs, func(err error) bool { return err != nil })
	if all {
		res.Changes = changes
	}
	for i := range changes {
		c := &changes[i]
		switch {
		case errs[i] == nil:
			if !all {
				res.Changes = append(res.Changes, *c)
			}
			if !c.Kind.writes() {
				res.Warnings = append(res.Warnings, c.String())
			}
		case !errors.Is(errs[i], ipvs.ErrNotAttempted):
			fails = append(fails, errs[i])
		}
	}
	return res, errors.Join(fails...)
}

// retryable reports whether every failure in errs may be cured by
// reading the kernel again and planning again: an unknown outcome (a lost
// acknowledgement), or a table changed by someone else since it was read
// (EEXIST on an addition or a bind, ESRCH on a service that vanished).
func retryable(changes []Change, errs []error) bool {
	for i, err := range errs {
		switch {
		case err == nil, errors.Is(err, ipvs.ErrNotAttempted), errors.Is(err, ipvs.ErrOutcomeUnknown):
		case errors.Is(err, unix.EEXIST) && (changes[i].Kind == AddService || changes[i].Kind == AddDestination || changes[i].Kind == Bind):
		case errors.Is(err, unix.ESRCH) && changes[i].Kind != AddService:
		default:
			return false
		}
	}
	return true
}
