package checkbench

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestSchedule checks the server-side figures on hand-made arrivals; it
// needs no VM and runs in the default suite.
func TestSchedule(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		ds := make([]time.Duration, len(v))
		for i, x := range v {
			ds[i] = time.Duration(x) * time.Millisecond
		}
		return ds
	}
	arrivals := [][]time.Duration{
		ms(0, 1000, 2000, 3000, 4000),  // on time
		ms(10, 1020, 2030, 3040, 4050), // drifts 10 ms a run
		ms(5, 1005, 3005, 4005),        // one run skipped, grid kept
		ms(0, 2000),                    // checked too rarely
	}
	got := schedule(arrivals, 5*time.Second, time.Second)
	want := result{
		ChecksPerSec: 16.0 / 5,
		ErrP50:       0,
		ErrP99:       1000 * time.Millisecond, // the gap of the skipped run and the rare target
		LateP99:      40 * time.Millisecond,   // the drifting target's last run
		Missed:       1,                       // fewer than 5-2 arrivals
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("schedule (-want +got):\n%s", diff)
	}
}

func TestLateness(t *testing.T) {
	d := time.Millisecond
	got := lateness([]time.Duration{5 * d, 1003 * d, 2010 * d, 4001 * d}, time.Second)
	want := []time.Duration{4 * d, 2 * d, 9 * d, 0} // the earliest point is 4001 (4 ms ahead of the grid through 5, one run skipped)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lateness (-want +got):\n%s", diff)
	}
}
