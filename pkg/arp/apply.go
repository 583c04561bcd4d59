package arp

import (
	"errors"
	"io/fs"
	"slices"

	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

// Reader reads kernel parameters.
type Reader interface {
	Read(k sysctl.Key) (string, error)
}

// Writer writes kernel parameters.
type Writer interface {
	Write(k sysctl.Key, value string) error
}

// ReadWriter reads and writes kernel parameters; sysctl.Tree is one.
type ReadWriter interface {
	Reader
	Writer
}

// Step is one Op made ready against the kernel: the records to save
// before the write (the intention), the write itself, and the records
// once it is done. A caller saves Intent, writes, then saves After; a
// crash in between leaves a record from which Plan finishes the job,
// because a recorded parameter is restored only while it holds what
// lvs-rs wrote.
type Step struct {
	// Intent is the records as they must be saved before the write: for
	// OpSet it already holds the parameter with its prior value and the
	// value about to be written; for OpRestore it still holds it.
	Intent []sysctl.Record
	// Write reports whether Value must be written to Key.
	Write bool
	Key   sysctl.Key
	Value string
	// After is the records once the write (if any) is done.
	After []sysctl.Record
	// Warning names a parameter someone changed since lvs-rs wrote it:
	// it is left as is.
	Warning string
	// restore: the write puts a prior value back.
	restore bool
}

// Prepare reads the parameter op is about and decides the Step.
//
// OpSet reads the parameter right before, so the recorded prior is the
// value the kernel really held; it writes nothing when that value is
// already the wanted one or a stricter one (see Enough). A parameter set
// again keeps its first prior.
// OpRestore re-checks the value first: if someone changed it since the
// plan it is left as is and Warning says so. A parameter that no longer
// exists (its device is gone) is dropped from the records without error.
func Prepare(r Reader, op Op, records []sysctl.Record) (Step, error) {
	key := sysctl.ParseKey(op.Key)
	i := slices.IndexFunc(records, func(r sysctl.Record) bool { return r.Key == op.Key })
	drop := func() []sysctl.Record {
		out := slices.Clone(records)
		if i < 0 {
			return out
		}
		return slices.Delete(out, i, i+1)
	}
	same := Step{Intent: records, After: records, Key: key}
	switch op.Kind {
	case OpSet:
		cur, err := r.Read(key)
		if err != nil {
			return Step{}, err
		}
		if Enough(key, op.Value, cur, op.HostOnly) {
			return same, nil
		}
		out := slices.Clone(records)
		if i >= 0 {
			out[i].Wrote = op.Value
		} else {
			out = append(out, sysctl.Record{Key: op.Key, Prior: cur, Wrote: op.Value})
		}
		return Step{Intent: out, Write: true, Key: key, Value: op.Value, After: out}, nil
	case OpRestore:
		if i < 0 {
			return same, nil
		}
		rec := records[i]
		cur, err := r.Read(key)
		if errors.Is(err, fs.ErrNotExist) {
			return Step{Intent: records, Key: key, After: drop()}, nil
		}
		if err != nil {
			return Step{}, err
		}
		switch rec.Restore(cur) {
		case sysctl.RestoreWrite:
			return Step{Intent: records, Write: true, Key: key, Value: rec.Prior, After: drop(), restore: true}, nil
		case sysctl.RestoreNothing:
			return Step{Intent: records, Key: key, After: drop()}, nil
		default:
			return Step{Intent: records, Key: key, After: drop(), Warning: foreignWarning(rec, cur)}, nil
		}
	default:
		return Step{Intent: records, Key: key, After: drop()}, nil
	}
}

// Apply performs op through rw and returns records updated to match: it
// is Prepare followed by the write, for callers that save nothing in
// between. A restore whose parameter vanished before the write counts as
// done.
func Apply(rw ReadWriter, op Op, records []sysctl.Record) (out []sysctl.Record, warning string, err error) {
	s, err := Prepare(rw, op, records)
	if err != nil {
		return records, "", err
	}
	if err := s.Do(rw); err != nil {
		return records, "", err
	}
	return s.After, s.Warning, nil
}

// Do makes the step's write, if any. A restore whose parameter vanished
// (its device is gone) counts as done.
func (s Step) Do(w Writer) error {
	if !s.Write {
		return nil
	}
	err := w.Write(s.Key, s.Value)
	if err != nil && errors.Is(err, fs.ErrNotExist) && s.restore {
		return nil
	}
	return err
}
