package arp

import (
	"fmt"

	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

// OpKind is what an Op does.
type OpKind int

// The kinds of sysctl steps.
const (
	OpSet     OpKind = iota // write Value, recording the prior value on the first write
	OpRestore               // write the recorded prior value (Value) back, drop the record
	OpForget                // drop the record without writing: changed by someone, or gone
)

// Op is one planned sysctl step. It is comparable.
type Op struct {
	Kind OpKind
	Key  string // sysctl.Key.String(), e.g. "net/ipv4/conf/eth0.100/arp_ignore"
	// Value is the value to write: the wanted one for OpSet, the recorded
	// prior for OpRestore; for OpForget the recorded prior.
	Value string
	// Current is the value observed when planning; "" when the parameter
	// does not exist (yet), e.g. conf/tunl0 before ipip is loaded.
	Current string
	// Wrote is what lvs-rs wrote (OpRestore, OpForget; OpSet when a record
	// already exists).
	Wrote string
	// HostOnly (OpSet): every VIP the parameter keeps quiet is scope
	// host, so arp_ignore=3 does as well as 1 (see Enough).
	HostOnly bool
}

// Missing is how a parameter that does not exist is shown.
const Missing = "-"

func show(v string) string {
	if v == "" {
		return Missing
	}
	return v
}

// String renders the step as one line for --dry-run and start's output.
func (o Op) String() string {
	switch o.Kind {
	case OpSet:
		return fmt.Sprintf("set %s=%s (now %s)", o.Key, o.Value, show(o.Current))
	case OpRestore:
		return fmt.Sprintf("restore %s=%s (lvs-rs wrote %s)", o.Key, o.Value, o.Wrote)
	default:
		if o.Current == "" {
			return fmt.Sprintf("forget %s (parameter gone)", o.Key)
		}
		if o.Current == o.Value {
			return fmt.Sprintf("forget %s (already back at its prior value %s)", o.Key, o.Value)
		}
		return fmt.Sprintf("leave %s=%s (changed since lvs-rs wrote %s; prior %s not restored)", o.Key, o.Current, o.Wrote, o.Value)
	}
}

// Drift describes the difference the step would remove, for status.
func (o Op) Drift() string {
	switch o.Kind {
	case OpSet:
		return fmt.Sprintf("sysctl %s: want %s, have %s", o.Key, o.Value, show(o.Current))
	case OpRestore:
		return fmt.Sprintf("sysctl %s: no longer needed, holds %s written by lvs-rs (prior %s)", o.Key, o.Wrote, o.Value)
	default:
		return fmt.Sprintf("sysctl %s: recorded by lvs-rs, now %s", o.Key, show(o.Current))
	}
}

// Plan decides the sysctl steps that take the kernel from current (key →
// value; a missing key is a parameter that does not exist) to wants, given
// the records of what lvs-rs wrote before. A parameter that already holds
// its wanted value, or a stricter one (see Enough; hostOnly: every VIP is
// scope host), gets no step. sets come in wants' order, restores in
// records' order. warnings name every recorded parameter that someone
// changed since lvs-rs wrote it: it is left as is.
func Plan(wants []sysctl.Want, current map[string]string, records []sysctl.Record, hostOnly bool) (sets, restores []Op, warnings []string) {
	rec := map[string]sysctl.Record{}
	for _, r := range records {
		rec[r.Key] = r
	}
	wanted := map[string]bool{}
	for _, w := range wants {
		k := w.Key.String()
		wanted[k] = true
		cur, ok := current[k]
		if ok && Enough(w.Key, w.Value, cur, hostOnly) {
			continue
		}
		sets = append(sets, Op{Kind: OpSet, Key: k, Value: w.Value, Current: cur, Wrote: rec[k].Wrote, HostOnly: hostOnly})
	}
	for _, r := range records {
		if wanted[r.Key] {
			continue
		}
		cur, ok := current[r.Key]
		if !ok {
			restores = append(restores, Op{Kind: OpForget, Key: r.Key, Value: r.Prior, Wrote: r.Wrote})
			continue
		}
		switch r.Restore(cur) {
		case sysctl.RestoreWrite:
			restores = append(restores, Op{Kind: OpRestore, Key: r.Key, Value: r.Prior, Current: cur, Wrote: r.Wrote})
		case sysctl.RestoreNothing:
			restores = append(restores, Op{Kind: OpForget, Key: r.Key, Value: r.Prior, Current: cur, Wrote: r.Wrote})
		default:
			restores = append(restores, Op{Kind: OpForget, Key: r.Key, Value: r.Prior, Current: cur, Wrote: r.Wrote})
			warnings = append(warnings, foreignWarning(r, cur))
		}
	}
	return sets, restores, warnings
}

func foreignWarning(r sysctl.Record, cur string) string {
	return fmt.Sprintf("%s is %s, changed by someone since lvs-rs wrote %s: left as is (its value before lvs-rs was %s)", r.Key, cur, r.Wrote, r.Prior)
}

// Writes reports whether the step writes the kernel (OpForget does not).
func (o Op) Writes() bool { return o.Kind != OpForget }
