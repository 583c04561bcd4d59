package sysctl

// Record is what lvs-rs remembers about a parameter it changed: the value
// it found before its first write and the value it wrote. Stop restores
// Prior only while the parameter still holds Wrote (or Was).
//
// Was is set only in the record saved before lvs-rs writes a new value
// over one it wrote earlier: until that write is read back, the parameter
// may hold either, and both are lvs-rs's (a crash or a refused write
// there must not lose the prior).
type Record struct {
	Key   string `json:"key"` // Key.String()
	Prior string `json:"prior"`
	Wrote string `json:"wrote"`
	Was   string `json:"was,omitempty"`
}

// Holds reports whether v is a value lvs-rs wrote: Wrote, or Was while a
// write is under way.
func (r Record) Holds(v string) bool {
	return v == r.Wrote || r.Was != "" && v == r.Was
}

// Settled returns r once the parameter is read back holding v, which r
// holds: Wrote is v, and Was is cleared.
func (r Record) Settled(v string) Record {
	r.Wrote, r.Was = v, ""
	return r
}

// Want is a parameter value a role needs.
type Want struct {
	Key   Key
	Value string
}

// RestoreDecision tells what stop should do with a recorded parameter
// whose current value is current.
type RestoreDecision int

// The outcomes of Restore.
const (
	RestoreWrite   RestoreDecision = iota // write Prior back
	RestoreNothing                        // already at Prior
	RestoreForeign                        // changed by someone else since: leave it, warn
)

// Restore decides how to undo r given the parameter's current value.
func (r Record) Restore(current string) RestoreDecision {
	switch {
	case current == r.Prior:
		return RestoreNothing
	case r.Holds(current):
		return RestoreWrite
	default:
		return RestoreForeign
	}
}
