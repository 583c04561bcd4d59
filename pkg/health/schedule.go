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
	// maxPromptWindow bounds the window over which checks without a
	// state spread their first runs (see promptSlot): short enough that
	// a first round of checks, and the daemon's READY=1 that waits for
	// it, never waits for a long interval (up to 1h); long enough that
	// thousands of checks starting together do not open their
	// connections in the same instant.
	maxPromptWindow = 2 * time.Second
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

// promptWindow is the window after Set within which a check without a
// state first runs: maxPromptWindow, or its interval when shorter (its
// grid would run it within that anyway).
func promptWindow(iv time.Duration) time.Duration { return min(iv, maxPromptWindow) }

// promptSlot is the first slot of a check without a state (Unknown: new
// at startup, or its probe changed at a reload) planned at now: within
// promptWindow, at a delay that is a hash of its key modulo the window.
// Waiting for its first grid slot would leave the server unchecked for
// up to a whole interval, and the daemon not ready that long (READY=1
// waits for every first result) while the unit's start timeout runs. The
// hash spreads a first round over the window as the phases spread the
// grid, and the same check gets the same delay at every start. It is
// off the grid; nextBase puts the check back on it.
func promptSlot(key string, iv time.Duration, now time.Time) time.Time {
	return now.Add(phaseOf(key, promptWindow(iv)))
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
// while its state is changing, otherwise its next slot on the grid. After
// a prompt first slot (ck.prompt, off the grid) it is the first slot of
// the grid at least half an interval after base: the prompt run is an
// extra one, and the grid slot right after it (possibly a few
// milliseconds later) would only repeat it, or be skipped as an overlap
// while it still runs; the second run thus comes half an interval to one
// and a half after the first, an interval on average. A check that fell
// more than an interval behind (a suspended host, the wall clock stepped
// forward) skips the missed slots instead of running them all at once;
// one whose slot would be further ahead than any planned from base can
// be (an interval; one and a half after a prompt slot), because the wall
// clock stepped back since base, goes back on its grid from now.
func nextBase(ck *check, base, now time.Time) time.Time {
	iv := ck.t.Spec.Interval
	var n time.Time
	ahead := iv // the furthest a slot planned from base can be
	switch {
	case ck.m.changing():
		n = base.Add(fastInterval(iv))
	case ck.prompt:
		n = gridAfter(base.Add(iv/2), iv, ck.phase)
		ahead += iv / 2
	default:
		n = gridAfter(base, iv, ck.phase)
	}
	if n.Before(now.Add(-iv)) || n.After(now.Add(ahead)) {
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
	ck.base, ck.prompt = base, false
	ck.due = base.Add(jitter(ck))
	h.fix(ck)
}

// planPrompt sets ck's next slot, and its due time, to its prompt first
// slot planned at now (see promptSlot). It takes no jitter: the hash
// already spreads first runs, and a prompt slot does not recur, so no
// two checks run in lock step from it.
func (h *schedHeap) planPrompt(ck *check, now time.Time) {
	ck.base, ck.prompt = promptSlot(ck.key, ck.t.Spec.Interval, now), true
	ck.due = ck.base
	h.fix(ck)
}

// fix restores the heap order after ck's due time changed.
func (h *schedHeap) fix(ck *check) {
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
