package checkbench

import (
	"math"
	"slices"
	"time"
)

// result is what one contender achieved in one measurement window, seen
// from the servers.
type result struct {
	ChecksPerSec float64       // arrivals in the window / window length
	CPUPerSec    float64       // CPU seconds of the contender's processes / wall second
	SysShare     float64       // the part of CPUPerSec spent in the kernel
	IdlePerSec   float64       // idle CPU seconds of the whole VM / wall second
	ErrP50       time.Duration // |arrival interval - interval|, median over all intervals; none without any
	ErrP99       time.Duration // the same, 99th percentile
	LateP99      time.Duration // behind the target's own fixed grid, 99th percentile; none without an interval
	Missed       int           // targets with fewer than window/interval - 2 arrivals
}

// none stands for a figure with no data: in a window where no target was
// checked twice there is no interval, and so no interval error or
// lateness (a contender that slow must not show 0 ms).
const none time.Duration = -1

// schedule computes the server-side figures from the arrival times of
// every target (each sorted, all inside one window of length window) for
// checks due every interval. The interval error of a target is |t[k+1] -
// t[k] - interval| over its consecutive arrivals. Its lateness is how far
// each arrival lies behind a fixed grid of period interval anchored at the
// target's earliest-arriving point (see lateness): a scheduler that
// drifts (next run = end of the last + interval) accumulates lateness over
// the window, one on a fixed grid does not.
func schedule(arrivals [][]time.Duration, window, interval time.Duration) result {
	var errs, lates []time.Duration
	total, missed := 0, 0
	want := int(window/interval) - 2
	for _, ts := range arrivals {
		total += len(ts)
		if len(ts) < want {
			missed++
		}
		for k := 1; k < len(ts); k++ {
			errs = append(errs, abs(ts[k]-ts[k-1]-interval))
		}
		lates = append(lates, lateness(ts, interval)...)
	}
	return result{
		ChecksPerSec: float64(total) / window.Seconds(),
		ErrP50:       percentile(errs, 0.50),
		ErrP99:       percentile(errs, 0.99),
		LateP99:      percentile(lates, 0.99),
		Missed:       missed,
	}
}

// lateness is how far each of ts lies behind the fixed grid of period
// interval through ts[0], minus the smallest such value. Arrival k is
// placed on the grid point after arrival k-1's that is nearest to it (at
// least one step on), so a skipped run moves on the grid, while a delay
// carried into every later run (drift) accumulates.
func lateness(ts []time.Duration, interval time.Duration) []time.Duration {
	if len(ts) < 2 {
		return nil // no interval: one arrival is on any grid
	}
	res := make([]time.Duration, len(ts))
	lo, step := time.Duration(0), int64(0)
	for k := 1; k < len(ts); k++ {
		step += max(1, int64((ts[k]-ts[k-1]+interval/2)/interval))
		res[k] = ts[k] - ts[0] - time.Duration(step)*interval
		lo = min(lo, res[k])
	}
	for k := range res {
		res[k] -= lo
	}
	return res
}

// percentile returns the p-quantile (nearest rank) of ds; none for no
// ds. It sorts ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return none
	}
	slices.Sort(ds)
	i := int(math.Ceil(p*float64(len(ds)))) - 1
	return ds[max(i, 0)]
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// medianResult is the field-wise median of rs (the middle run of each
// figure, not of one run).
func medianResult(rs []result) result {
	pick := func(f func(result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	// A run with no interval at all ranks above every measured one (its
	// servers waited longer than the window), and its none is the median
	// when it is the middle run.
	dur := func(f func(result) time.Duration) time.Duration {
		v := pick(func(r result) float64 {
			if f(r) == none {
				return math.Inf(1)
			}
			return float64(f(r))
		})
		if math.IsInf(v, 1) {
			return none
		}
		return time.Duration(v)
	}
	return result{
		ChecksPerSec: pick(func(r result) float64 { return r.ChecksPerSec }),
		CPUPerSec:    pick(func(r result) float64 { return r.CPUPerSec }),
		IdlePerSec:   pick(func(r result) float64 { return r.IdlePerSec }),
		ErrP50:       dur(func(r result) time.Duration { return r.ErrP50 }),
		ErrP99:       dur(func(r result) time.Duration { return r.ErrP99 }),
		LateP99:      dur(func(r result) time.Duration { return r.LateP99 }),
		Missed:       int(pick(func(r result) float64 { return float64(r.Missed) })),
	}
}
