package realserver

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/lvs-rs/lvs-rs/pkg/arp"
)

// addsOnly reports whether c's intention is all it leaves in the record:
// binding a VIP or setting a sysctl (the record gains the address, or the
// parameter with its prior value, before the write, and nothing settles
// after it). A crash or failure after recording it is what recovery
// already handles for one such change: an address the kernel does not
// hold is forgotten, a parameter still at its prior value is left alone.
func addsOnly(c Change) bool {
	return c.Kind == Bind || c.Kind == Sysctl && c.Op.Kind == arp.OpSet
}

// runAhead applies changes, all of which add only (see addsOnly), with
// one save: their intentions are all recorded and saved before the first
// of their writes, instead of once before each (a DR real server's start
// is one bind and four sysctl writes: one save, not five). A write that
// fails, or a cancelled context, takes back its own intention and those
// of the writes after it, which never ran, and saves the record again, as
// step does for one change.
func (e *executor) runAhead(ctx context.Context, changes []Change) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	n := len(changes)
	// acc[i] is the record with the intentions of changes[:i].
	acc := make([]Record, 1, n+1)
	acc[0] = e.rec.clone()
	sets := make([]arp.Step, n)
	for i, c := range changes {
		next := acc[i].clone()
		if c.Kind == Bind {
			if a := addrRecord(c.Addr); !slices.Contains(next.Addresses, a) {
				next.Addresses = append(next.Addresses, a)
			}
		} else {
			// Every parameter is read before any is written; the keys of
			// a plan are distinct, so each prior is what the kernel held.
			s, err := arp.Prepare(e.k, c.Op, next.Sysctls)
			if err != nil {
				return fmt.Errorf("realserver: %s: %w", c, err)
			}
			sets[i], next.Sysctls = s, s.Intent
		}
		acc = append(acc, next)
	}
	e.rec = acc[n]
	if err := e.flush(); err != nil {
		e.rec = acc[0]
		return err
	}
	for i, c := range changes {
		err := ctx.Err()
		if err == nil {
			if c.Kind == Bind {
				err = e.k.Bind(c.Addr)
			} else {
				err = sets[i].Do(e.k)
			}
			if err != nil {
				err = fmt.Errorf("realserver: %s: %w", c, err)
			}
		}
		if err != nil {
			e.rec = acc[i]
			return errors.Join(err, e.flush())
		}
		e.applied = append(e.applied, c)
	}
	return nil
}
