package health

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestMachineSequences feeds results (P pass, F fail) with rise 2, fall 3
// and checks the state after each one.
func TestMachineSequences(t *testing.T) {
	cases := []struct {
		results string
		states  string // U up, D down after each result
		changes string // '*' where the state changed
	}{
		{"P", "U", "*"},                         // first pass: up at once
		{"F", "D", "*"},                         // first fail: down at once
		{"PFFF", "UUUD", "*  *"},                // fall 3
		{"PFFPFFF", "UUUUUUD", "*     *"},       // a pass resets the failures
		{"FP", "DD", "* "},                      // rise 2: one pass is not enough
		{"FPP", "DDU", "* *"},                   // rise 2
		{"FPFPP", "DDDDU", "*   *"},             // a failure resets the passes
		{"PFFFPPFFF", "UUUDDUUUD", "*  * *  *"}, // round trip
	}
	for _, c := range cases {
		t.Run(c.results, func(t *testing.T) {
			var m machine
			var states, changes strings.Builder
			for i, r := range c.results {
				ch := m.apply(Result{Up: r == 'P'}, 2, 3, time.Unix(int64(i), 0), 0)
				states.WriteByte(strings.ToUpper(m.state.String())[0])
				if ch.state {
					changes.WriteByte('*')
				} else {
					changes.WriteByte(' ')
				}
			}
			if states.String() != c.states || changes.String() != c.changes {
				t.Errorf("states %q changes %q, want %q %q", states.String(), changes.String(), c.states, c.changes)
			}
		})
	}
}

func TestMachineStatus(t *testing.T) {
	var m machine
	m.apply(Result{Up: true, Reason: "a"}, 2, 3, time.Unix(10, 0), time.Millisecond)
	m.apply(Result{Up: false, Reason: "b"}, 2, 3, time.Unix(11, 0), 2*time.Millisecond)
	m.apply(Result{Up: false, Reason: "c"}, 2, 3, time.Unix(12, 0), 3*time.Millisecond)
	got := m.status("id")
	want := Status{ID: "id", State: Up, Last: Result{Reason: "c"}, LastTime: time.Unix(12, 0),
		Duration: 3 * time.Millisecond, Consecutive: 2, Since: time.Unix(10, 0)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("status = %+v\nwant     %+v", got, want)
	}
	if !m.changing() {
		t.Error("up with failures below fall: not changing")
	}
}

func TestMachineWeight(t *testing.T) {
	var m machine
	half := Weight{WeightPercent, 50}
	if ch := m.apply(Result{Up: true}, 1, 1, time.Unix(1, 0), 0); !ch.state || ch.weight {
		t.Errorf("first pass: %+v", ch)
	}
	if ch := m.apply(Result{Up: true, Weight: half}, 1, 1, time.Unix(2, 0), 0); ch.state || !ch.weight {
		t.Errorf("weight change: %+v, want a weight change only", ch)
	}
	if ch := m.apply(Result{Up: true, Weight: half}, 1, 1, time.Unix(3, 0), 0); ch.state || ch.weight {
		t.Errorf("same weight: %+v, want no change", ch)
	}
	if m.weight != half {
		t.Errorf("weight %v, want 50%%", m.weight)
	}
	if got := half.Apply(8); got != 4 {
		t.Errorf("50%% of 8 = %d", got)
	}
	if got := (Weight{WeightAbsolute, 3}).Apply(8); got != 3 {
		t.Errorf("absolute 3 of 8 = %d", got)
	}
	if got := (Weight{}).Apply(8); got != 8 {
		t.Errorf("none of 8 = %d", got)
	}
}

func TestStateJSON(t *testing.T) {
	b, err := json.Marshal(Status{ID: "a", State: Down})
	if err != nil || !strings.Contains(string(b), `"state":"down"`) {
		t.Fatalf("marshal = %s, %v", b, err)
	}
	var s Status
	if err := json.Unmarshal(b, &s); err != nil || s.State != Down {
		t.Errorf("round trip = %+v, %v", s, err)
	}
	if err := json.Unmarshal([]byte(`{"state":"sideways"}`), &s); err == nil {
		t.Error("unknown state accepted")
	}
}

// TestMachineFrom: From is the state before the current one: Unknown
// for a first result, the state left at each change, and unchanged by
// results that change nothing (so a server back up says it came from
// down for as long as it stays up).
func TestMachineFrom(t *testing.T) {
	var m machine
	if s := m.status("a"); s.From != Unknown {
		t.Fatalf("before any result: from %v", s.From)
	}
	for i, c := range []struct {
		up          bool
		state, from State
	}{
		{true, Up, Unknown}, // first result
		{true, Up, Unknown},
		{false, Up, Unknown}, // fall 3: not yet
		{false, Up, Unknown},
		{false, Down, Up},
		{false, Down, Up},
		{true, Down, Up}, // rise 2: not yet
		{true, Up, Down},
		{true, Up, Down},
		{false, Up, Down},
	} {
		m.apply(Result{Up: c.up}, 2, 3, time.Unix(int64(i), 0), 0)
		if s := m.status("a"); s.State != c.state || s.From != c.from {
			t.Errorf("result %d (up %v): %v from %v, want %v from %v", i, c.up, s.State, s.From, c.state, c.from)
		}
	}
	var first machine
	first.apply(Result{}, 2, 3, time.Unix(1, 0), 0)
	if s := first.status("b"); s.State != Down || s.From != Unknown {
		t.Errorf("first result down: %v from %v, want down from unknown", s.State, s.From)
	}
}
