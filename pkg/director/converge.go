package director

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/lvs-rs/lvs-rs/internal/phase"
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
// execute (additions and edits, then deletions; a failure holds back
// only the changes that depend on it, such as the deletion of what a
// failed addition was to replace, and every other change is made), read
// the kernel back and record what lvs-rs owns now. When the only
// failures are ones a fresh read may cure (an unknown outcome after a
// lost acknowledgement, a table changed meanwhile by another writer), it
// reads and plans again, a few times at most. A service d names that
// exists but is not lvs-rs's stops it before any change in that pass,
// with an error wrapping ErrForeignService; with Options.SkipForeign it
// is left out instead (Result.Foreign) and the rest converges.
//
// Start is Converge after its configuration checks; the long-running
// director calls it in a loop with health overrides applied to d.
func Converge(ctx context.Context, d Desired, o Options) (Result, error) {
	return converge(ctx, &d, o)
}

// converge is Converge; a nil d is stop: tear down everything recorded,
// keep going past failures, and remove the record once nothing is left.
func converge(ctx context.Context, d *Desired, o Options) (Result, error) {
	r := runner{store: state.Store{Dir: o.StateDir}, stop: d == nil, cache: o.Records}
	if !r.stop {
		r.scope = scopeOf(o.Services)
	}
	rec, found, own, err := r.cache.load(r.store)
	if err != nil || r.stop && !found {
		return Result{}, err
	}
	phase.Mark("record-load")
	same := false // d is the desired state the last pass recorded (see Result.SameDesired)
	if r.stop {
		r.keep = rawDesired(rec.Desired)
	} else {
		r.want = r.scope.want(*d)
		if !o.DryRun {
			if same, err = r.encode(d, rec, found, own); err != nil {
				return Result{}, err
			}
		}
		phase.Mark("record-encode")
	}
	k, closeK, warnings, err := openFor(ctx, o, r.stop)
	if err != nil {
		return Result{}, err
	}
	defer func() {
		closeK()
		phase.Mark("kernel-close")
	}()
	phase.Mark("kernel-open")
	r.k = k
	res := Result{Warnings: warnings, SameDesired: same}
	owned := rec.owned()
	for stuck, last := 0, -1; ; {
		view := r.scope.view(owned)
		obs, err := observeWith(ctx, k, r.want, view, reading{strict: !r.stop, only: r.scope.list})
		if err != nil {
			return res, err
		}
		phase.Mark("observe")
		res.Foreign = nil
		if c := conflicts(r.want, obs, view); len(c) > 0 {
			if !o.SkipForeign {
				return res, foreignError(c)
			}
			res.Foreign = c // left out: plan never touches a service that is not lvs-rs's
		}
		changes := plan(announceable(r.want, obs, owned), obs, view)
		if last >= 0 && len(changes) >= last {
			stuck++
		}
		last = len(changes)
		phase.Mark("plan")
		switch {
		case o.DryRun:
			dr := dryRun(changes)
			dr.Warnings = append(res.Warnings, dr.Warnings...)
			dr.Foreign = res.Foreign
			return dr, nil
		case len(changes) == 0:
			_, err := r.save(r.scope.merge(owned, settle(view, obs, r.want, nil, nil)), rec)
			phase.Mark("record-save")
			res.Kernel = obs.Services
			return res, err
		}
		var errs []error
		owned, rec, res.Kernel, errs, err = r.apply(ctx, owned, obs, changes, rec)
		done, fail := outcome(changes, errs)
		if res.Changes == nil {
			res.Changes = done.Changes // no copy of 11,000 changes
		} else {
			res.Changes = append(res.Changes, done.Changes...)
		}
		res.Warnings = append(res.Warnings, done.Warnings...)
		res.Warnings = append(res.Warnings, garpBound(ctx, k, done.Changes)...)
		phase.Mark("announce")
		if err != nil || fail == nil || stuck == maxRounds || !retryable(changes, errs) || ctx.Err() != nil {
			return res, errors.Join(fail, err)
		}
	}
}

// encode renders d for the record into r.keep, against rec's encoding
// when found (the recorded bytes when nothing changed, no second copy;
// else their unchanged prefix, not copied, and the rest rendered). It
// reports whether d is the desired state the last pass recorded: rec's,
// or own when another command rewrote the record since (see
// RecordCache.load).
//
// With a cache, it also indexes the encoding (r.index, kept with the
// record it saves): the next pass, against the same record, compares its
// services as values and renders only those that differ
// (encodeDesiredIndexed).
func (r *runner) encode(d *Desired, rec record, found bool, own []byte) (same bool, err error) {
	var ends *[]int
	if r.cache != nil {
		ends = &[]int{}
	}
	switch {
	case !found:
		r.keep, err = encodeDesiredIndexing(d, ends)
	case r.encodeIndexed(d, rec, &same):
		ends = nil // r.index is set
	default:
		r.keep, same, err = encodeDesiredAgainstIndexing(d, rec.Desired, ends)
	}
	if err == nil && ends != nil {
		r.index = indexDesired(d, *ends)
		if same {
			r.cache.indexed(rec, r.index) // the record kept has none yet
		}
	}
	if err == nil && own != nil {
		same = sameDesired(d, own)
	}
	return same, err
}

// encodeIndexed renders d into r.keep with the index the cache keeps for
// rec, if any, and reports whether it could (see encodeDesiredIndexed).
func (r *runner) encodeIndexed(d *Desired, rec record, same *bool) bool {
	x := r.cache.index(rec)
	if x == nil {
		return false
	}
	out, s, next, ok := encodeDesiredIndexed(d, rec.Desired, x)
	if ok {
		r.keep, *same, r.index = out, s, next
	}
	return ok
}

// runner is one Converge (or Stop) under way.
type runner struct {
	store state.Store
	k     Kernel
	want  Desired       // what to converge to (nothing, for stop), in scope
	keep  desiredEnc    // the desired state the record carries, encoded
	index *desiredIndex // keep's index, with a cache (see encode)
	stop  bool          // tear down: keep going past failures, remove an empty record
	scope scope         // the services this pass reads, plans and changes
	cache *RecordCache  // Options.Records: kept in step with every save
}

// apply records the intentions (unless the record prev already holds
// them), applies changes, reads the kernel back and records what lvs-rs
// owns now. The read-back dumps the destinations of the services changes
// touch and takes the others from obs, read before any write of this
// pass. It returns what lvs-rs owns, the record on disk, the IPVS table
// read back (nil when it could not be) and one result per change; its
// error is about recording or reading back.
func (r runner) apply(ctx context.Context, owned Owned, obs Observed, changes []Change, prev record) (Owned, record, map[ipvs.ServiceKey]ObservedService, []error, error) {
	intended := intents(owned, changes)
	rec, err := r.save(intended, prev)
	phase.Mark("intentions-save")
	if err != nil {
		errs := make([]error, len(changes))
		for i := range errs {
			errs[i] = ipvs.ErrNotAttempted
		}
		return owned, prev, obs.Services, errs, err // nothing was written
	}
	errs := executor{k: r.k, keepGoing: r.stop, desired: r.want.Marks, observed: obs.Marks.Rules}.apply(ctx, changes)
	phase.Mark("kernel-writes")
	view := r.scope.view(intended)
	after, err := r.readBack(ctx, view, obs, changes, errs)
	phase.Mark("read-back")
	if err != nil {
		// The intentions stay recorded: removing what does not exist is
		// success, so over-recording is harmless.
		return intended, rec, nil, errs, err
	}
	owned = r.scope.merge(intended, settle(view, after, r.want, changes, errs))
	rec, err = r.save(owned, rec)
	phase.Mark("record-save")
	return owned, rec, after.Services, errs, err
}

// readBack is the kernel after a pass that applied changes to obs, with
// errs their results. When every change succeeded, the kernel's answers
// settle every IPVS request (Kernel.Apply reports success only for a
// request the kernel acknowledged, or that precedes in its chunk an
// acknowledged one and drew no refusal: netlink answers in order), so the
// IPVS table is obs with changes applied, and only the rest of the host
// is read (not even that when changes touch only the IPVS table).
// Otherwise (a refusal, an unknown outcome after a lost acknowledgement,
// a request not attempted) it dumps again the services changes touch:
// who owns what is then decided by the kernel's table.
func (r runner) readBack(ctx context.Context, view Owned, obs Observed, changes []Change, errs []error) (Observed, error) {
	if !allDone(errs) {
		return observeWith(ctx, r.k, r.want, view, reading{reuse: untouched(obs, changes), only: r.scope.list})
	}
	if ipvsOnly(changes) {
		// Nothing outside the IPVS table was written: the rest of the
		// host is as obs read it, before this pass's first write.
		after := obs
		after.Services = predict(obs.Services, changes)
		return after, nil
	}
	after := Observed{Services: predict(obs.Services, changes)} // obs is not read again
	if err := observeHost(ctx, r.k, r.want, view, false, &after); err != nil {
		return Observed{}, err
	}
	return after, nil
}

// ipvsOnly reports whether changes change nothing but the IPVS table's
// services and destinations (a one-weight edit, a health transition).
func ipvsOnly(changes []Change) bool {
	for i := range changes {
		if k := changes[i].Kind; k != ReleaseService {
			if _, ok := k.ipvsOp(); !ok {
				return false
			}
		}
	}
	return true
}

// allDone reports whether every change succeeded.
func allDone(errs []error) bool {
	for _, err := range errs {
		if err != nil {
			return false
		}
	}
	return true
}

// predict returns the IPVS table svcs with changes, all of which
// succeeded, applied. It updates svcs in place and returns it (the
// caller's observation is not read again: copying a map of 1,000 services
// for a one-weight edit would cost more than the edit), unless the
// changes add more services than svcs holds: then it fills a new map of
// the right size. A destination list it changes is copied first, never
// written through. Destinations carry their configuration only (no
// counters), which is all settle looks at.
func predict(svcs map[ipvs.ServiceKey]ObservedService, changes []Change) map[ipvs.ServiceKey]ObservedService {
	adds, addDests := 0, 0
	for i := range changes {
		switch changes[i].Kind {
		case AddService:
			adds++
		case AddDestination:
			addDests++
		}
	}
	// The new services' destination lists, cut from one array (each
	// capped: appending to one copies it).
	pool := make([]ipvs.Destination, 0, addDests)
	out := svcs
	if out == nil || adds > len(svcs) {
		// A start from an empty table: one map of the right size, not one
		// grown service by service.
		out = make(map[ipvs.ServiceKey]ObservedService, len(svcs)+adds)
		maps.Copy(out, svcs)
	}
	// The services whose Destinations out owns (copied), made at the
	// first edit of a service out did not add: a new service's list is
	// its own from the start (a later change to it copies it once more,
	// which is harmless and rare).
	var own map[ipvs.ServiceKey]bool
	for i := 0; i < len(changes); i++ {
		c := &changes[i]
		k := c.Service.Key()
		switch c.Kind {
		case AddService:
			// The plan lists a new service's destinations right after it,
			// each with the service as it adds it.
			n := 0
			for j := i + 1; j < len(changes) && changes[j].Kind == AddDestination &&
				(changes[j].Service == c.Service || changes[j].Service.Key() == k); j++ {
				n++
			}
			at := len(pool)
			for j := range n {
				pool = append(pool, changes[i+1+j].Destination)
			}
			ds := pool[at:len(pool):len(pool)]
			out[k] = ObservedService{ServiceExtended: ipvs.ServiceExtended{Service: c.Service}, Destinations: ds}
			i += n
		case EditService:
			if s, ok := out[k]; ok {
				s.Service = c.Service
				out[k] = s
			}
		case DeleteService:
			delete(out, k)
		case AddDestination, EditDestination, DeleteDestination:
			s, ok := out[k]
			if !ok {
				continue
			}
			if !own[k] {
				if own == nil {
					own = map[ipvs.ServiceKey]bool{}
				}
				s.Destinations = slices.Clone(s.Destinations)
				own[k] = true
			}
			s.Destinations = slices.DeleteFunc(s.Destinations, func(d ipvs.Destination) bool {
				return d.Key() == c.Destination.Key()
			})
			if c.Kind != DeleteDestination {
				s.Destinations = append(s.Destinations, c.Destination)
			}
			out[k] = s
		}
	}
	return out
}

// untouched returns the observed services no change names: their
// destinations are as obs found them, unless another writer changed them
// meanwhile (which the next pass reads).
func untouched(obs Observed, changes []Change) map[ipvs.ServiceKey]ObservedService {
	touched := map[ipvs.ServiceKey]bool{}
	for i := range changes {
		if k := changes[i].Service.Key(); k != (ipvs.ServiceKey{}) { // every change on a service or its destinations
			touched[k] = true
		}
	}
	out := make(map[ipvs.ServiceKey]ObservedService, len(obs.Services))
	for k, s := range obs.Services {
		if !touched[k] {
			out[k] = s
		}
	}
	return out
}

// save records owned and returns the record on disk, writing nothing when
// prev already says so; for stop an empty set removes the record.
func (r runner) save(owned Owned, prev record) (record, error) {
	if r.stop && owned.empty() {
		r.cache.forget()
		return record{}, r.store.Remove(Role)
	}
	next := recordOf(r.keep, owned)
	if sameRecord(next, prev) {
		return prev, nil
	}
	reuseServices(&next, prev)
	if r.stop && len(next.Desired) > 0 && !json.Valid(next.Desired) {
		// The record was read without validating its desired state (see
		// loadRecord): a damaged one is not copied into a new record.
		next.Desired = nil
	}
	parts, err := next.parts()
	if err != nil {
		return prev, err
	}
	if err := r.store.Write(Role, parts...); err != nil {
		r.cache.forget() // the file may be either record
		return prev, err
	}
	r.cache.saved(r.store, next, r.index)
	return next, nil
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
	for i := range changes {
		if !changes[i].Kind.writes() {
			res.Warnings = append(res.Warnings, changes[i].String())
		}
	}
	return res
}
