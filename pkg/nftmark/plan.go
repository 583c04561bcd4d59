package nftmark

import (
	"context"
	"slices"

	"github.com/lvs-rs/lvs-rs/internal/faultinject"
)

// Action says what a Change does.
type Action int

// Table changes.
const (
	None   Action = iota // the table is as desired
	Build                // create the table (deleting the old one first with Replace)
	Remove               // delete the table
)

// Change is the one transaction Plan asks for.
type Change struct {
	Action  Action
	Replace bool   // Build: the table exists and is deleted in the same transaction
	Rules   []Rule // Build: the rules, in order
}

// Plan compares desired rules with the observed table: no desired rules
// and a table → Remove; a table that is missing, foreign or holds other
// rules (in canonical order: by VIP, protocol, port) → Build; else None.
func Plan(desired []Rule, observed Observed) Change {
	want := canonical(desired)
	switch {
	case len(want) == 0 && observed.Present:
		return Change{Action: Remove}
	case len(want) == 0:
		return Change{Action: None}
	case observed.Present && !observed.Foreign && slices.Equal(want, observed.Rules):
		return Change{Action: None}
	}
	return Change{Action: Build, Replace: observed.Present, Rules: want}
}

// Writer is what Apply needs; *Kernel implements it.
type Writer interface {
	Build(ctx context.Context, rules []Rule, replace bool) error
	Remove(ctx context.Context) error
}

// Apply performs c in one kernel write.
func Apply(ctx context.Context, w Writer, c Change) error {
	switch c.Action {
	case Build:
		return faultinject.Write("nftables: build table inet "+TableName, func() error { return w.Build(ctx, c.Rules, c.Replace) })
	case Remove:
		return faultinject.Write("nftables: delete table inet "+TableName, func() error { return w.Remove(ctx) })
	}
	return nil
}

// Sync makes lvs-rs's table hold exactly desired (none: no table):
// Observe, Plan, Apply. It returns the change it planned.
func Sync(ctx context.Context, k *Kernel, desired []Rule) (Change, error) {
	if err := Validate(desired); err != nil {
		return Change{}, err
	}
	obs, err := k.Observe(ctx)
	if err != nil {
		return Change{}, err
	}
	c := Plan(desired, obs)
	return c, Apply(ctx, k, c)
}
