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

// TestScheduleNoInterval: in a window where no target was checked twice
// (a contender whose cycle is longer than the window) there is no
// interval error and no lateness to report: none, not 0 ms.
func TestScheduleNoInterval(t *testing.T) {
	arrivals := [][]time.Duration{{10 * time.Millisecond}, {3 * time.Second}, nil}
	got := schedule(arrivals, 5*time.Second, time.Second)
	want := result{ChecksPerSec: 2.0 / 5, ErrP50: none, ErrP99: none, LateP99: none, Missed: 3}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("schedule (-want +got):\n%s", diff)
	}
	if s := ms(got.ErrP50); s != "none" {
		t.Errorf("ms(none) = %q", s)
	}
}

// TestMedianResultNone: a run without intervals ranks above every
// measured run, so it is the median of three when two of them lack data,
// and a measured run is the median when only one does.
func TestMedianResultNone(t *testing.T) {
	d := time.Millisecond
	run := func(err time.Duration) result { return result{ErrP50: err, ErrP99: err, LateP99: err} }
	for _, tc := range []struct {
		runs []result
		want time.Duration
	}{
		{[]result{run(none), run(17822 * d), run(none)}, none},
		{[]result{run(none), run(40 * d), run(30 * d)}, 40 * d},
		{[]result{run(5 * d), run(40 * d), run(30 * d)}, 30 * d},
	} {
		got := medianResult(tc.runs)
		if got.ErrP50 != tc.want || got.ErrP99 != tc.want || got.LateP99 != tc.want {
			t.Errorf("medianResult(%v) = %v %v %v, want %v", tc.runs, got.ErrP50, got.ErrP99, got.LateP99, tc.want)
		}
	}
}
