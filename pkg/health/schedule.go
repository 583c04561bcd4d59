package health

import (
	"container/heap"
	"hash/fnv"
	"math/rand/v2"
	"time"
)

// Scheduling constants.
const (
	// minFastInterval is the shortest interval a changing check runs at.
	minFastInterval = 100 * time.Millisecond
	// jitterDivisor and maxJitter: each run is delayed by a random amount
	// below interval/jitterDivisor, and below maxJitter, after its slot.
	// The phases already spread checks over the interval; the jitter only
	// keeps checks that share a phase from running in lock step, so it
	// stays small enough not to count as scheduling lag.
	jitterDivisor = 16
	maxJitter     = 20 * time.Millisecond
)

// jitterBound is the exclusive upper bound of a run's jitter for
// interval iv.
func jitterBound(iv time.Duration) time.Duration { return min(iv/jitterDivisor, maxJitter) }

// fastInterval is the interval of a check whose state is changing: a
// quarter of the interval, at least minFastInterval, at most the interval.
func fastInterval(iv time.Duration) time.Duration {
	return min(iv, max(iv/4, minFastInterval))
}

// phaseOf spreads checks over their interval: a hash of what the check
// probes (its probeKey) modulo the interval, so the same check keeps its
// phase across reloads and restarts, a reload that edits only its rise,
// fall or timeout keeps its slots too, and different checks rarely share
// one.
func phaseOf(key string, iv time.Duration) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(key))
	return time.Duration(h.Sum64() % uint64(iv))
}

// gridAfter returns the first instant after t whose Unix time in
// nanoseconds is phase modulo iv: the check's slots are fixed in absolute
// time, so they never drift however long runs take.
func gridAfter(t time.Time, iv, phase time.Duration) time.Time {
	ns, p := t.UnixNano(), int64(iv)
	k := (ns - int64(phase)) / p
	if ns-int64(phase) < 0 {
		k-- // floor division
	}
	return time.Unix(0, (k+1)*p+int64(phase))
}

// nextBase returns the slot after base for ck: base plus the fast interval
// while its state is changing, otherwise its next slot on the grid. A
// check that fell more than an interval behind (a suspended host, the wall
// clock stepped forward) skips the missed slots instead of running them
// all at once; one whose slot would be more than an interval ahead (the
// wall clock stepped back since base) goes back on its grid from now.
func nextBase(ck *check, base, now time.Time) time.Time {
	iv := ck.t.Spec.Interval
	var n time.Time
	if ck.m.changing() {
		n = base.Add(fastInterval(iv))
	} else {
		n = gridAfter(base, iv, ck.phase)
	}
	if n.Before(now.Add(-iv)) || n.After(now.Add(iv)) {
		n = gridAfter(now, iv, ck.phase)
	}
	return n
}

// stale reports whether ck's next run is further from now than any run
// planned from now can be: more than its interval plus jitter.
func stale(ck *check, now time.Time) bool {
	iv := ck.t.Spec.Interval
	return ck.due.Sub(now) > iv+jitterBound(iv)
}

// jitter is the random delay added to one slot of ck.
func jitter(ck *check) time.Duration {
	iv := ck.t.Spec.Interval
	if ck.m.changing() {
		iv = fastInterval(iv)
	}
	if b := jitterBound(iv); b > 0 {
		return rand.N(b)
	}
	return 0
}

// plan sets ck's next slot to base and its due time to base plus jitter.
func (h *schedHeap) plan(ck *check, base time.Time) {
	ck.base = base
	ck.due = base.Add(jitter(ck))
	if ck.idx >= 0 {
		heap.Fix(h, ck.idx)
	}
}

// schedHeap orders checks by due time.
type schedHeap []*check

func (h schedHeap) Len() int           { return len(h) }
func (h schedHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h schedHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}

// Push implements heap.Interface.
func (h *schedHeap) Push(x any) {
	ck := x.(*check)
	ck.idx = len(*h)
	*h = append(*h, ck)
}

// Pop implements heap.Interface.
func (h *schedHeap) Pop() any {
	old := *h
	ck := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	ck.idx = -1
	return ck
}
