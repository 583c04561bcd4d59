package arp

import (
	"errors"
	"io/fs"
	"slices"

	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

// ReadWriter reads and writes kernel parameters; sysctl.Tree is one.
type ReadWriter interface {
	Read(k sysctl.Key) (string, error)
	Write(k sysctl.Key, value string) error
}

// Apply performs op through rw and returns records updated to match.
//
// OpSet reads the parameter right before writing it, so the recorded prior
// is the value the kernel really held; it writes nothing when that value is
// already the wanted one. A parameter set again keeps its first prior.
// OpRestore re-checks the value first: if someone changed it since the plan
// it is left as is and warning says so. A parameter that no longer exists
// (its device is gone) is dropped from the records without error.
func Apply(rw ReadWriter, op Op, records []sysctl.Record) (out []sysctl.Record, warning string, err error) {
	key := sysctl.ParseKey(op.Key)
	i := slices.IndexFunc(records, func(r sysctl.Record) bool { return r.Key == op.Key })
	out = slices.Clone(records)
	drop := func() []sysctl.Record {
		if i < 0 {
			return out
		}
		return slices.Delete(out, i, i+1)
	}
	switch op.Kind {
	case OpSet:
		cur, err := rw.Read(key)
		if err != nil {
			return records, "", err
		}
		if cur == op.Value {
			return records, "", nil
		}
		if err := rw.Write(key, op.Value); err != nil {
			return records, "", err
		}
		if i >= 0 {
			out[i].Wrote = op.Value
			return out, "", nil
		}
		return append(out, sysctl.Record{Key: op.Key, Prior: cur, Wrote: op.Value}), "", nil
	case OpRestore:
		if i < 0 {
			return records, "", nil
		}
		r := records[i]
		cur, err := rw.Read(key)
		if errors.Is(err, fs.ErrNotExist) {
			return drop(), "", nil
		}
		if err != nil {
			return records, "", err
		}
		switch r.Restore(cur) {
		case sysctl.RestoreWrite:
			if err := rw.Write(key, r.Prior); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return drop(), "", nil
				}
				return records, "", err
			}
			return drop(), "", nil
		case sysctl.RestoreNothing:
			return drop(), "", nil
		default:
			return drop(), foreignWarning(r, cur), nil
		}
	default:
		return drop(), "", nil
	}
}
