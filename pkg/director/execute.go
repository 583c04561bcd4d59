package director

import (
	"context"
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
)

// executor applies changes through the kernel interfaces.
type executor struct {
	k    Kernel // nil when the kernel has no IPVS (stop only)
	h    *netlink.Handle
	tree sysctl.Tree
	// keepGoing continues past a failure (teardown); otherwise the first
	// failure ends the run and the rest are ipvs.ErrNotAttempted.
	keepGoing bool
}

// apply runs changes in order and returns one error per change: nil for
// done, ipvs.ErrNotAttempted for skipped. Consecutive IPVS changes go to
// the kernel as one batch (Kernel.Apply).
func (e executor) apply(ctx context.Context, changes []Change) []error {
	errs := make([]error, len(changes))
	failed := false
	for i := 0; i < len(changes); {
		if failed && !e.keepGoing || ctx.Err() != nil {
			for n := i; n < len(changes); n++ {
				errs[n] = ipvs.ErrNotAttempted
			}
			if ctx.Err() != nil {
				errs[i] = fmt.Errorf("director: %v: %w", changes[i], ctx.Err())
			}
			break
		}
		if _, ok := changes[i].op(); ok {
			j := i
			for j < len(changes) {
				if _, ok := changes[j].op(); !ok {
					break
				}
				j++
			}
			e.batch(changes[i:j], errs[i:j])
			for _, err := range errs[i:j] {
				if err != nil && !errors.Is(err, ipvs.ErrNotAttempted) {
					failed = true
				}
			}
			i = j
			continue
		}
		errs[i] = e.one(changes[i])
		failed = failed || errs[i] != nil
		i++
	}
	return errs
}

// batch sends IPVS changes, retrying what the kernel did not attempt when
// keepGoing. Deleting what is already gone counts as done.
func (e executor) batch(changes []Change, errs []error) {
	if e.k == nil {
		for i, c := range changes {
			if c.Kind == DeleteService || c.Kind == DeleteDestination {
				errs[i] = nil // no IPVS, no service
			} else {
				errs[i] = ErrNoIPVS
			}
		}
		return
	}
	pending := make([]int, len(changes))
	for i := range pending {
		pending[i] = i
	}
	for len(pending) > 0 {
		ops := make([]ipvs.Op, len(pending))
		for n, i := range pending {
			ops[n], _ = changes[i].op()
		}
		res := e.k.Apply(ops)
		var again []int
		for n, i := range pending {
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
		}
		if !e.keepGoing || len(again) == len(pending) {
			return
		}
		pending = again
	}
}

// gone reports a delete whose object was already gone: ESRCH (no such
// service) or ENOENT (no such destination).
func gone(k Kind, err error) bool {
	return (k == DeleteService || k == DeleteDestination) && (errors.Is(err, unix.ESRCH) || errors.Is(err, unix.ENOENT))
}

// one applies a change that is not an IPVS one.
func (e executor) one(c Change) error {
	key := sysctl.ParseKey(c.Sysctl.Key)
	switch c.Kind {
	case SetSysctl:
		return e.tree.Write(key, c.Sysctl.Wrote)
	case RestoreSysctl:
		return e.tree.Write(key, c.Sysctl.Prior)
	case Bind:
		return vip.Bind(e.h, c.Addr)
	case Unbind:
		return vip.Unbind(e.h, c.Addr)
	case ReleaseService, LeaveSysctl:
		return nil
	}
	return errors.New("director: unknown change " + string(c.Kind))
}

// outcome splits results into what was done, the warnings and the errors.
func outcome(changes []Change, errs []error) (Result, error) {
	var res Result
	var fails []error
	for i, c := range changes {
		switch {
		case errs[i] == nil:
			res.Changes = append(res.Changes, c)
			if !c.Writes() {
				res.Warnings = append(res.Warnings, c.String())
			}
		case !errors.Is(errs[i], ipvs.ErrNotAttempted):
			fails = append(fails, errs[i])
		}
	}
	return res, errors.Join(fails...)
}
