package director

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

// executor applies changes through the kernel.
type executor struct {
	k Kernel
	// keepGoing continues past a failure (teardown); otherwise the first
	// failure ends the run and the rest are ipvs.ErrNotAttempted.
	keepGoing bool
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
// for done, ipvs.ErrNotAttempted for skipped. The first phase writes
// sysctls, binds, adds and edits; the second, the deletions, runs only
// when every change of the first succeeded (with keepGoing, always), so a
// failed addition never lets the deletion of what it replaces run: the
// kernel performs every request of a pipelined batch, so the two phases
// are never in one batch.
func (e executor) apply(ctx context.Context, changes []Change) []error {
	errs := make([]error, len(changes))
	cut := len(changes)
	for i := range changes {
		if changes[i].Kind.removes() {
			cut = i
			break
		}
	}
	if !e.run(ctx, changes[:cut], errs[:cut]) && !e.keepGoing {
		for i := cut; i < len(changes); i++ {
			errs[i] = ipvs.ErrNotAttempted
		}
		return errs
	}
	e.run(ctx, changes[cut:], errs[cut:])
	return errs
}

// run applies one phase in order and reports whether all of it
// succeeded. Consecutive IPVS changes go to the kernel as one batch
// (Kernel.Apply).
func (e executor) run(ctx context.Context, changes []Change, errs []error) bool {
	failed := false
	for i := 0; i < len(changes); {
		if failed && !e.keepGoing || ctx.Err() != nil {
			for n := i; n < len(changes); n++ {
				errs[n] = ipvs.ErrNotAttempted
			}
			if ctx.Err() != nil {
				errs[i] = fmt.Errorf("director: %v: %w", changes[i], ctx.Err())
				failed = true
			}
			break
		}
		if _, ok := changes[i].Kind.ipvsOp(); ok {
			j := i
			for j < len(changes) {
				if _, ok := changes[j].Kind.ipvsOp(); !ok {
					break
				}
				j++
			}
			e.batch(ctx, changes[i:j], errs[i:j])
			for _, err := range errs[i:j] {
				if err != nil {
					failed = true
				}
			}
			i = j
			continue
		}
		errs[i] = e.one(ctx, changes[i])
		failed = failed || errs[i] != nil
		i++
	}
	return !failed
}

// applyWindow is how many IPVS changes batch hands the kernel at once:
// their Ops are built into one reused window instead of a slice of
// 11,000 (1.8 MB, which made a start's heap cross the collector's first
// goal), and the IPVS client cuts each window into chunks as before.
const applyWindow = 1024

// batch sends IPVS changes, retrying what the kernel did not attempt when
// keepGoing. Deleting what is already gone counts as done.
func (e executor) batch(ctx context.Context, changes []Change, errs []error) {
	pending := make([]int, len(changes))
	for i := range pending {
		pending[i] = i
	}
	ops := make([]ipvs.Op, 0, min(len(pending), applyWindow))
	for len(pending) > 0 {
		again := e.send(ctx, changes, pending, errs, ops)
		if !e.keepGoing || len(again) == len(pending) {
			return
		}
		pending = again
	}
}

// send applies the changes pending indexes, a window of Ops (built in
// ops) at a time, and returns those the kernel did not attempt, for
// keepGoing to try again. Without keepGoing it stops after a window with
// a failure: the rest are not attempted, as after a failed chunk of one
// Apply.
func (e executor) send(ctx context.Context, changes []Change, pending []int, errs []error, ops []ipvs.Op) (again []int) {
	for w := 0; w < len(pending); w += applyWindow {
		window := pending[w:min(w+applyWindow, len(pending))]
		ops = ops[:len(window)] // filled in place: an Op is 160 bytes
		for n, i := range window {
			c, o := &changes[i], &ops[n]
			o.Kind, _ = c.Kind.ipvsOp()
			o.Service, o.Destination = c.Service, c.Destination
		}
		res := e.k.Apply(ctx, ops)
		failed := false
		for n, i := range window {
			err := ipvs.ErrNotAttempted
			if n < len(res) {
				err = res[n]
			}
			if err != nil && gone(changes[i].Kind, err) {
				err = nil
			}
			errs[i] = err
			if errors.Is(err, ipvs.ErrNotAttempted) {
				again = append(again, i)
			}
			failed = failed || err != nil
		}
		if failed && !e.keepGoing {
			for _, i := range pending[w+len(window):] {
				errs[i] = ipvs.ErrNotAttempted
			}
			return nil // nothing is tried again without keepGoing
		}
	}
	return again
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
