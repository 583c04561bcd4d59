package sysctl

// Record is what lvs-rs remembers about a parameter it changed: the value
// it found before its first write and the value it wrote. Stop restores
// Prior only while the parameter still holds Wrote.
type Record struct {
	Key   string `json:"key"` // Key.String()
	Prior string `json:"prior"`
	Wrote string `json:"wrote"`
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
	switch current {
	case r.Prior:
		return RestoreNothing
	case r.Wrote:
		return RestoreWrite
	default:
		return RestoreForeign
	}
}
