package health

import (
	"fmt"
	"time"
)

// State is a real server's health as the checker decided it.
type State uint8

// The states.
const (
	Unknown State = iota // not checked yet
	Up
	Down
)

// String returns "unknown", "up" or "down".
func (s State) String() string {
	switch s {
	case Up:
		return "up"
	case Down:
		return "down"
	}
	return "unknown"
}

// MarshalText renders the state as its name, so JSON carries "up".
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a name written by MarshalText.
func (s *State) UnmarshalText(b []byte) error {
	for _, v := range []State{Unknown, Up, Down} {
		if v.String() == string(b) {
			*s = v
			return nil
		}
	}
	return fmt.Errorf("health: unknown state %q", b)
}

// WeightKind says how a check's dynamic weight applies.
type WeightKind uint8

// The kinds of dynamic weight.
const (
	WeightNone     WeightKind = iota // the configured weight applies
	WeightAbsolute                   // Value is the weight
	WeightPercent                    // Value is a percentage of the configured weight
)

// Weight is a weight a check asked for: exec checks (exit code - 2) and
// agent checks ("75%", "weight:N", "drain" = 0%).
type Weight struct {
	Kind  WeightKind `json:"kind"`
	Value int        `json:"value"`
}

// Apply returns the weight to use for a real server configured with
// configured.
func (w Weight) Apply(configured int) int {
	switch w.Kind {
	case WeightAbsolute:
		return w.Value
	case WeightPercent:
		return configured * w.Value / 100
	}
	return configured
}

// String renders the weight as "none", "N" or "N%".
func (w Weight) String() string {
	switch w.Kind {
	case WeightAbsolute:
		return fmt.Sprint(w.Value)
	case WeightPercent:
		return fmt.Sprintf("%d%%", w.Value)
	}
	return "none"
}

// Result is the outcome of one check run.
type Result struct {
	Up     bool   `json:"up"`
	Reason string `json:"reason"`
	Weight Weight `json:"weight"` // only meaningful when Up
	// Local marks a run that failed on the director itself before it
	// could ask the server anything (see directorLocal): no result, which
	// leaves the check's state as it was (OutcomeLocal).
	Local bool `json:"-"`
}

// Outcome classifies one scheduled run for observers.
type Outcome uint8

// The outcomes.
const (
	OutcomeUp   Outcome = iota // the check ran and passed
	OutcomeDown                // the check ran and failed
	// OutcomeLate: the check could not start within its timeout after its
	// due time (all workers busy); it did not run and counts as nothing.
	OutcomeLate
	// OutcomeOverlap: the check's previous run had not finished at its due
	// time; this slot was skipped.
	OutcomeOverlap
	// OutcomeLocal: the run failed on the director itself (no source
	// address to bind, no file descriptor, socket buffer or process to be
	// had: Result.Local); it says nothing of the server and counts as
	// nothing.
	OutcomeLocal
)

// String returns "up", "down", "late", "overlap" or "local".
func (o Outcome) String() string {
	return [...]string{"up", "down", "late", "overlap", "local"}[o]
}

// Status is the health of one target as Snapshot reports it.
type Status struct {
	ID          string        `json:"id"`
	State       State         `json:"state"`
	Last        Result        `json:"last"`        // the last result (zero before the first)
	LastTime    time.Time     `json:"last_time"`   // when the last run started
	Duration    time.Duration `json:"duration"`    // how long the last run took
	Consecutive int           `json:"consecutive"` // runs in a row with Last.Up's outcome
	Since       time.Time     `json:"since"`       // when State was entered (zero while Unknown)
	// From is the state before State: Unknown while State is Unknown and
	// after a first result, else the state the check left for State (Up
	// from Down is a server back from down, since Since, however many
	// changes a reader of Status missed).
	From State `json:"from"`
	// Weight is the dynamic weight of the last passing run (WeightNone
	// when the check gives none).
	Weight Weight `json:"weight"`
}

// Transition is a change of a target's state or dynamic weight. From == To
// when only the weight changed.
type Transition struct {
	ID     string    `json:"id"`
	From   State     `json:"from"`
	To     State     `json:"to"`
	Weight Weight    `json:"weight"`
	Reason string    `json:"reason"`
	Time   time.Time `json:"time"`
}

// Observation describes one scheduled run, for metrics.
type Observation struct {
	Check      CheckInfo
	Outcome    Outcome
	Due        time.Time     // when the run was due (phase, interval and jitter)
	Lag        time.Duration // from Due to the start of the run (or the decision to skip it)
	Duration   time.Duration // of the run itself; 0 when it did not run
	Reason     string
	Transition bool // the run changed the check's state
	// Starved is set on a run without a result (late, overlap, local)
	// of a check that has gone without a result for longer than twice
	// its interval plus its timeout, once per such stretch (until its
	// next result): how long. It says the check is not being run as its
	// schedule promises (the workers are all busy, or the director cannot
	// make its runs), which deserves a log line.
	Starved time.Duration
}

// CheckInfo identifies a deduplicated check for observers: one check may
// serve several targets.
type CheckInfo struct {
	Type    Type
	Via     Via
	Address string // the real server
	Port    uint16 // the check port
}

// Observer receives one Observation per scheduled run. It is called from
// the checker's workers concurrently: it must be safe for concurrent use
// and must not block.
type Observer interface {
	Observe(Observation)
}

// Counters are totals since the checker was created.
type Counters struct {
	Up, Down, Late, Overlap uint64
	Local                   uint64 // runs that failed on the director itself (OutcomeLocal)
	Transitions             uint64 // state changes of checks (not per subscriber)
	Checks                  int    // checks currently scheduled (after dedup)
	Targets                 int    // targets currently subscribed
	Unchecked               int    // checks without a first result yet
	ExecWorkers             int    // the exec pool's size (see Options.ExecWorkers)
}
