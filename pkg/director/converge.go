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
	stop := d == nil
	want := Desired{}
	if !stop {
		want = *d
	}
	store := state.Store{Dir: o.StateDir}
	rec, found, err := loadRecord(store)
	if err != nil || stop && !found {
		return Result{}, err
	}
	owned := rec.owned()
	keep := d // the desired state the record carries
	if stop {
		keep = rec.Desired
	}
	var res Result
	k, _, closeK, err := openKernel(ctx, o, !o.DryRun && !stop)
	switch {
	case errors.Is(err, ErrNoIPVS) && k != nil && (stop || o.DryRun):
		defer closeK()
		if !stop {
			// A dry run loads no module: plan against the empty table
			// that loading ip_vs would give.
			res.Warnings = append(res.Warnings, "IPVS is not loaded: start will load module ip_vs (modprobe ip_vs)")
		}
	case err != nil:
		return Result{}, err
	default:
		defer closeK()
	}
	for stuck, last := 0, -1; ; {
		obs, err := observe(ctx, k, want.Interface, owned, !stop)
		if err != nil {
			return res, err
		}
		if c := conflicts(want, obs, owned); len(c) > 0 {
			return res, foreignError(c)
		}
		changes := plan(want, obs, owned)
		if last >= 0 && len(changes) >= last {
			stuck++
		}
		last = len(changes)
		if o.DryRun {
			dr := dryRun(changes)
			dr.Warnings = append(res.Warnings, dr.Warnings...)
			return dr, nil
		}
		if len(changes) == 0 {
			return res, save(store, keep, settle(owned, obs, want, nil, nil), rec, stop)
		}
		intended := intents(owned, changes)
		if err := store.Save(Role, recordOf(keep, intended)); err != nil {
			return res, err
		}
		errs := executor{k: k, keepGoing: stop}.apply(ctx, changes)
		done, fail := outcome(changes, errs)
		res.Changes = append(res.Changes, done.Changes...)
		res.Warnings = append(res.Warnings, done.Warnings...)
		after, err := observe(ctx, k, want.Interface, intended, false)
		if err != nil {
			// The intentions stay recorded: removing what does not exist
			// is success, so over-recording is harmless.
			return res, errors.Join(fail, err)
		}
		owned = settle(intended, after, want, changes, errs)
		rec = recordOf(keep, intended)
		if err := save(store, keep, owned, rec, stop); err != nil {
			return res, errors.Join(fail, err)
		}
		if fail == nil || stuck == maxRounds || !retryable(changes, errs) || ctx.Err() != nil {
			return res, fail
		}
	}
}

// save records owned with d, unless the record already says so; for stop
// an empty set removes the record.
func save(store state.Store, d *Desired, owned Owned, prev record, stop bool) error {
	if stop && owned.empty() {
		return store.Remove(Role)
	}
	next := recordOf(d, owned)
	if sameRecord(next, prev) {
		return nil
	}
	return store.Save(Role, next)
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
