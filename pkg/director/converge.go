package director

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/state"
)

// maxRounds bounds how often one Converge reads the kernel and plans again
// after failures that reading again may cure (see retryable) without
// getting closer: a round whose plan is shorter than the last does not
// count.
const maxRounds = 3

// Converge takes the kernel to d in one pass: observe, plan, record the
// intentions (everything the plan will create) before the first write,
// execute (additions and edits, then deletions only if all of those
// succeeded), read the kernel back and record what lvs-rs owns now. When
// the only failures are ones a fresh read may cure (an unknown outcome
// after a lost acknowledgement, a table changed meanwhile by another
// writer), it reads and plans again, a few times at most. A service d
// names that exists but is not lvs-rs's stops it before any change in
// that pass, with an error wrapping ErrForeignService.
//
// Start is Converge after its configuration checks; the long-running
// director calls it in a loop with health overrides applied to d.
func Converge(ctx context.Context, d Desired, o Options) (Result, error) {
	return converge(ctx, &d, o)
}

// converge is Converge; a nil d is stop: tear down everything recorded,
// keep going past failures, and remove the record once nothing is left.
func converge(ctx context.Context, d *Desired, o Options) (Result, error) {
	r := runner{store: state.Store{Dir: o.StateDir}, keep: d, stop: d == nil}
	if d != nil {
		r.want = *d
	}
	rec, found, err := loadRecord(r.store)
	if err != nil || r.stop && !found {
		return Result{}, err
	}
	if r.stop {
		r.keep = rec.Desired
	}
	k, closeK, warnings, err := openFor(ctx, o, r.stop)
	if err != nil {
		return Result{}, err
	}
	defer closeK()
	r.k = k
	res := Result{Warnings: warnings}
	owned := rec.owned()
	for stuck, last := 0, -1; ; {
		obs, err := observe(ctx, k, r.want, owned, !r.stop)
		if err != nil {
			return res, err
		}
		if c := conflicts(r.want, obs, owned); len(c) > 0 {
			return res, foreignError(c)
		}
		changes := plan(r.want, obs, owned)
		if last >= 0 && len(changes) >= last {
			stuck++
		}
		last = len(changes)
		switch {
		case o.DryRun:
			dr := dryRun(changes)
			dr.Warnings = append(res.Warnings, dr.Warnings...)
			return dr, nil
		case len(changes) == 0:
			return res, r.save(settle(owned, obs, r.want, nil, nil), rec)
		}
		var errs []error
		owned, rec, errs, err = r.apply(ctx, owned, changes)
		done, fail := outcome(changes, errs)
		res.Changes = append(res.Changes, done.Changes...)
		res.Warnings = append(res.Warnings, done.Warnings...)
		if err != nil || fail == nil || stuck == maxRounds || !retryable(changes, errs) || ctx.Err() != nil {
			return res, errors.Join(fail, err)
		}
	}
}

// runner is one Converge (or Stop) under way.
type runner struct {
	store state.Store
	k     Kernel
	want  Desired  // what to converge to (nothing, for stop)
	keep  *Desired // what the record carries
	stop  bool     // tear down: keep going past failures, remove an empty record
}

// apply records the intentions, applies changes, reads the kernel back
// and records what lvs-rs owns now. It returns that, the record saved and
// one result per change; its error is about recording or reading back.
func (r runner) apply(ctx context.Context, owned Owned, changes []Change) (Owned, record, []error, error) {
	intended := intents(owned, changes)
	rec := recordOf(r.keep, intended)
	if err := r.store.Save(Role, rec); err != nil {
		errs := make([]error, len(changes))
		for i := range errs {
			errs[i] = ipvs.ErrNotAttempted
		}
		return owned, rec, errs, err
	}
	errs := executor{k: r.k, keepGoing: r.stop}.apply(ctx, changes)
	after, err := observe(ctx, r.k, r.want, intended, false)
	if err != nil {
		// The intentions stay recorded: removing what does not exist is
		// success, so over-recording is harmless.
		return intended, rec, errs, err
	}
	owned = settle(intended, after, r.want, changes, errs)
	return owned, rec, errs, r.save(owned, rec)
}

// save records owned, unless the record already says so; for stop an
// empty set removes the record.
func (r runner) save(owned Owned, prev record) error {
	if r.stop && owned.empty() {
		return r.store.Remove(Role)
	}
	next := recordOf(r.keep, owned)
	if sameRecord(next, prev) {
		return nil
	}
	return r.store.Save(Role, next)
}

// openFor opens the kernel for start (IPVS required, loaded with modprobe
// when missing) or stop and a dry run (IPVS optional: without it there is
// no service; a dry run warns that start would load it).
func openFor(ctx context.Context, o Options, stop bool) (Kernel, func(), []string, error) {
	k, _, closeK, err := openKernel(ctx, o, !o.DryRun && !stop)
	switch {
	case errors.Is(err, ErrNoIPVS) && k != nil && stop:
		return k, closeK, nil, nil
	case errors.Is(err, ErrNoIPVS) && k != nil && o.DryRun:
		// A dry run loads no module: plan against the empty table that
		// loading ip_vs would give.
		return k, closeK, []string{"IPVS is not loaded: start will load module ip_vs (modprobe ip_vs)"}, nil
	case err != nil:
		if closeK != nil {
			closeK()
		}
		return nil, nil, nil, err
	}
	return k, closeK, nil, nil
}

// foreignError is start's refusal to take over services it did not create.
func foreignError(keys []ipvs.ServiceKey) error {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.String()
	}
	return fmt.Errorf("director: %s: %w: refusing to take it over (delete it by hand, or drop it from the config)",
		strings.Join(names, ", "), ErrForeignService)
}

// dryRun is the Result of a plan that is not applied.
func dryRun(changes []Change) Result {
	res := Result{Changes: changes}
	for _, c := range changes {
		if !c.Writes() {
			res.Warnings = append(res.Warnings, c.String())
		}
	}
	return res
}
