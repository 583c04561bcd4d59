package health

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Pool sizes.
const (
	// DefaultWorkers bounds network checks running at once.
	DefaultWorkers = 512
	// MinExecWorkers and MaxExecWorkers bound the exec pool sized from
	// the exec checks (see execPoolSize): the most exec checks running
	// at once, so the most commands the daemon forks at once.
	MinExecWorkers = 4
	MaxExecWorkers = 256
)

// Options configure a Checker. The zero value is usable.
type Options struct {
	Workers int // network checks at once; 0 = DefaultWorkers
	// ExecWorkers is how many exec checks run at once; 0 sizes the pool
	// from the exec checks at every Set (see execPoolSize).
	ExecWorkers int
	// Notify receives every Transition, one call at a time, in order, from
	// a goroutine of Run's; a slow Notify delays later notifications, never
	// checks.
	Notify func(Transition)
	// Observer, when set, sees every scheduled run (see Observer).
	Observer Observer
}

// Checker runs health checks for a set of targets. Create it with New,
// give it targets with Set (before or while Run runs), and Run it.
type Checker struct {
	opts  Options
	probe func(context.Context, Target) Result

	mu       sync.Mutex
	checks   map[string]*check // by key
	byID     map[string]*check // by target ID (a subscriber)
	nTargets int
	sched    schedHeap
	counters Counters
	pending  []Transition
	// planned is the latest wall-clock reading (Unix ns) slots were
	// planned from: a later reading earlier than it means the wall clock
	// stepped back (see regrid).
	planned int64

	wake, notify chan struct{}
	netQ, execQ  *queue
	running      atomic.Bool

	// The exec pool (under mu): execWant workers are wanted, execHave
	// run. While Run runs (live), Set starts the workers a larger pool
	// needs on Run's WaitGroup, with Run's context; a worker beyond
	// execWant stops after its job.
	execWant, execHave int
	live               bool
	runCtx             context.Context
	runWG              *sync.WaitGroup
}

// check is one deduplicated check and the targets subscribed to it.
type check struct {
	key   string
	probe string // what it probes (Target.probeKey): decides what a reload keeps
	t     Target // normalized; ID empty
	phase time.Duration
	base  time.Time // next slot
	due   time.Time // next slot plus jitter
	// prompt: base is the prompt first slot of a check without a state,
	// off the grid (see promptSlot, nextBase).
	prompt bool
	idx    int    // in the heap; -1 when not
	busy   bool   // queued or running
	seq    uint64 // dispatches so far
	gone   bool   // removed by Set
	// heard is when the check last had a result (made: when Set made
	// it); warned is set once a skipped run reported that it has gone
	// without one too long (see starved), until its next result.
	heard  time.Time
	warned bool
	m      machine
	subs   []string  // target IDs, sorted
	info   CheckInfo // what observers are told, rendered once
}

// New returns a Checker without targets.
func New(opts Options) *Checker {
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	c := &Checker{
		opts: opts, probe: probe, checks: map[string]*check{},
		wake: make(chan struct{}, 1), notify: make(chan struct{}, 1),
		netQ: newQueue(), execQ: newQueue(),
		execWant: opts.ExecWorkers,
	}
	if opts.ExecWorkers <= 0 {
		c.execWant = MinExecWorkers
	}
	return c
}

// probe runs one check of t, bounded by its timeout (t.Spec.Timeout)
// and by ctx. A TCP check to an address without a zone keeps its own
// deadline, so that one whose handshake is over within connect (on
// loopback and veth) needs no timer (see connectTCP); every other check
// runs under a context with the timeout.
func probe(ctx context.Context, t Target) Result {
	if t.Spec.Type == TCP && checkAddr(t).Addr().Zone() == "" {
		return probeConnect(ctx, t)
	}
	ctx, cancel := context.WithTimeout(ctx, t.Spec.Timeout)
	defer cancel()
	switch t.Spec.Type {
	case TCP:
		return probeTCP(ctx, t)
	case HTTP, HTTPS:
		return probeHTTP(ctx, t)
	case DNS:
		return probeDNS(ctx, t)
	case Exec:
		return probeExec(ctx, t)
	case Agent:
		return probeAgent(ctx, t)
	}
	return Result{Reason: fmt.Sprintf("unknown check type %q", t.Spec.Type)}
}

// Run schedules and runs the checks until ctx is cancelled, then returns
// once every goroutine it started has stopped. It may be called once.
func (c *Checker) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("health: Run called twice")
	}
	var wg sync.WaitGroup
	wg.Go(func() { c.schedule(ctx) })
	wg.Go(func() { c.deliver(ctx) })
	for range c.opts.Workers {
		wg.Go(func() { c.work(ctx, c.netQ) })
	}
	c.mu.Lock()
	c.live, c.runCtx, c.runWG = true, ctx, &wg
	c.growExec()
	c.mu.Unlock()
	<-ctx.Done()
	// No worker is added once Wait may have begun.
	c.mu.Lock()
	c.live = false
	c.mu.Unlock()
	wg.Wait()
	return nil
}

// execPoolSize is the exec pool the exec checks of checks need: the
// number that may be running at once when every one of them is changing
// state (at its fast interval, as when a whole rack fails) or starting
// (a first round spreads over promptWindow), and every run takes its
// whole timeout: timeout / min(fast interval, prompt window) each, at
// most one (a check never runs twice at once), plus a quarter for the
// unevenness of the phases; at least MinExecWorkers, at most the number
// of exec checks and MaxExecWorkers. With fewer, runs wait for a worker,
// are dropped as late and a failing server is taken down late (4 workers
// for 40 checks of 1 s every 2 s: 41 s instead of fall x interval +
// timeout).
func execPoolSize(checks map[string]*check) int {
	n, demand := 0, 0.0
	for _, ck := range checks {
		s := ck.t.Spec
		if s.Type != Exec {
			continue
		}
		n++
		every := min(fastInterval(s.Interval), promptWindow(s.Interval))
		demand += min(1, float64(s.Timeout)/float64(every))
	}
	size := min(int(math.Ceil(demand*5/4)), n)
	return max(MinExecWorkers, min(MaxExecWorkers, size))
}

// growExec starts exec workers up to execWant while Run runs (caller
// holds mu).
func (c *Checker) growExec() {
	for c.live && c.execHave < c.execWant {
		c.execHave++
		ctx := c.runCtx
		c.runWG.Go(func() { c.work(ctx, c.execQ) })
	}
}

// shrinkExec reports whether an exec worker is one too many and stops
// counting it if so (it then returns).
func (c *Checker) shrinkExec() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.execHave > c.execWant {
		c.execHave--
		return true
	}
	return false
}

// Set replaces the targets. Checks whose identity (address, check port,
// spec and forwarding path) is unchanged keep their state and phase;
// removed ones stop (a run in progress finishes and is discarded). An
// invalid target rejects the whole set and changes nothing.
//
// A new check starts Unknown and first runs promptly, within
// promptWindow (at most 2s) of Set, at a delay of its own that spreads a
// round of new checks over that window, and then goes on its grid (see
// promptSlot): a server is not left unchecked for up to an interval (up
// to 1h), nor the caller's readiness held that long. That is, unless one
// of its targets was subscribed to a check that probed the same thing
// (equal probeKey: only interval, timeout, rise or fall edited) and had
// a state: then it carries that state over (state, last result, count in
// a row, since, dynamic weight) and runs on its own grid from its next
// slot, or at the fast interval when a change was in progress: it has a
// state to keep, so no reason to run early. Starting it Unknown would
// let its first result decide at once, so a reload that only edited the
// interval would take an Up server down on one failed run, whatever fall
// says, and bring a Down one back on one pass as a first result (from
// Unknown, not from Down, so without the caller's slow start). A changed
// probe (port, path, command, ...) starts Unknown: the old results say
// nothing about the new question.
//
// A target gets a Transition at once when the state of its check differs
// from the state it had, counting the state of a check that probed
// something else as Unknown: a target that joins a check with a state
// hears it from Unknown, one that moves between checks of the same probe
// hears nothing unless their states differed, and no target hears of a
// fresh start (a move to Unknown).
func (c *Checker) Set(targets []Target) error {
	groups, err := group(targets)
	if err != nil {
		return err
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	before := make(map[string]prior, len(c.byID))
	for id, ck := range c.byID {
		before[id] = prior{ck: ck, state: ck.m.state}
	}
	for key, ck := range c.checks {
		if _, keep := groups[key]; !keep {
			c.drop(ck)
		}
	}
	c.planned = max(c.planned, now.UnixNano())
	c.byID = make(map[string]*check, len(targets))
	for key, ts := range groups {
		c.subscribe(key, ts, before, now)
	}
	c.nTargets = len(targets)
	if c.opts.ExecWorkers <= 0 {
		c.execWant = execPoolSize(c.checks)
		c.growExec()
	}
	c.poke(c.wake)
	return nil
}

// group validates and normalizes targets and groups them by check key.
func group(targets []Target) (map[string][]Target, error) {
	groups := map[string][]Target{}
	ids := map[string]bool{}
	for _, t := range targets {
		n := t.normalized()
		if err := n.validate(); err != nil {
			return nil, fmt.Errorf("health: %w", err)
		}
		if ids[n.ID] {
			return nil, fmt.Errorf("health: target %q: id: duplicate", n.ID)
		}
		ids[n.ID] = true
		groups[n.key()] = append(groups[n.key()], n)
	}
	return groups, nil
}

// drop stops ck.
func (c *Checker) drop(ck *check) {
	if ck.idx >= 0 {
		heap.Remove(&c.sched, ck.idx)
	}
	ck.gone = true
	delete(c.checks, ck.key)
}

// prior is the check a target was subscribed to when Set began and that
// check's state then. The state is copied because Set may give a check
// without a result the state of another (inherit) before it has visited
// every subscriber of the first; a check that had a state keeps it
// through Set, so its machine can be read from ck.
type prior struct {
	ck    *check
	state State
}

// subscribe makes ts (one key) subscribers of their check, creating it,
// and queues the Transitions Set promises (caller holds mu).
func (c *Checker) subscribe(key string, ts []Target, before map[string]prior, now time.Time) {
	ck, ok := c.checks[key]
	if !ok {
		t := ts[0]
		t.ID = ""
		probe := t.probeKey()
		ck = &check{key: key, probe: probe, t: t, phase: phaseOf(probe, t.Spec.Interval), idx: -1, heard: now,
			info: CheckInfo{Type: t.Spec.Type, Via: t.Spec.Via, Address: t.Address.String(), Port: t.Spec.Port}}
		c.checks[key] = ck
		heap.Push(&c.sched, ck)
	}
	subs := make([]string, len(ts))
	for i, t := range ts {
		subs[i] = t.ID
		c.byID[t.ID] = ck
	}
	slices.Sort(subs)
	// The slot is planned after inherit: it and its jitter depend on
	// whether the inherited state is changing, and a check that inherited
	// a state keeps its schedule (no prompt first run). A check that
	// existed already keeps its slot, prompt or not.
	switch inherited := ck.m.state == Unknown && inherit(ck, subs, before); {
	case inherited:
		c.sched.plan(ck, firstSlot(ck, now))
	case !ok:
		c.sched.planPrompt(ck, now)
	}
	if ck.m.state != Unknown {
		for _, id := range subs {
			from := Unknown
			if p, had := before[id]; had && p.ck.probe == ck.probe {
				from = p.state
			}
			if from != ck.m.state {
				c.emit(id, from, ck, now)
			}
		}
	}
	ck.subs = subs
}

// inherit gives ck, which has no result yet, the rise/fall state of a
// check that one of subs was subscribed to when Set began, that probed
// the same thing and that had a state, and reports whether it did. The
// machine is copied whole: the state, since and the state before it
// (From: a server back from down is still back from down after the
// edit, for the caller's slow start), the last result and the dynamic
// weight describe the server, not the schedule, and the
// count in a row stays a count of results in a row, which the new rise
// and fall are compared with from the next result on (a change that
// already has enough under a lowered rise or fall completes at the next
// result that continues it, not at the reload: a Transition comes from a
// run). When subscribers come from several such checks (two services
// with different intervals merged into one), the one with the latest
// result wins: it is the freshest evidence, and its subscribers whose
// check disagreed hear the difference as a Transition (see Set).
func inherit(ck *check, subs []string, before map[string]prior) bool {
	var from *check
	for _, id := range subs {
		p, ok := before[id]
		if !ok || p.ck == ck || p.ck.probe != ck.probe || p.state == Unknown {
			continue
		}
		if from == nil || p.ck.m.lastTime.After(from.m.lastTime) ||
			(p.ck.m.lastTime.Equal(from.m.lastTime) && p.ck.key < from.key) {
			from = p.ck
		}
	}
	if from == nil {
		return false
	}
	ck.m = from.m
	return true
}

// firstSlot is the first slot from now of a check that just inherited a
// state (a new check without one runs promptly instead: see promptSlot):
// the next slot of its grid, or the fast interval from now when it
// carries a change in progress (a failure on the way to fall) that must
// not wait up to a whole interval longer than it would have without the
// reload.
func firstSlot(ck *check, now time.Time) time.Time {
	iv := ck.t.Spec.Interval
	n := gridAfter(now, iv, ck.phase)
	if f := now.Add(fastInterval(iv)); ck.m.changing() && f.Before(n) {
		n = f
	}
	return n
}

// emit queues a transition of target id (caller holds mu).
func (c *Checker) emit(id string, from State, ck *check, at time.Time) {
	c.pending = append(c.pending, Transition{
		ID: id, From: from, To: ck.m.state, Weight: ck.m.weight, Reason: ck.m.last.Reason, Time: at,
	})
	c.poke(c.notify)
}

// poke wakes the goroutine waiting on ch, if any.
func (c *Checker) poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Snapshot returns the status of every target, sorted by ID.
func (c *Checker) Snapshot() []Status {
	out := c.Statuses()
	slices.SortFunc(out, func(a, b Status) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// StatusesOf returns the status of each target of ids that the checker
// has (an unknown ID is skipped), in the order of ids: what a caller
// interested in a few targets reads without copying every status.
func (c *Checker) StatusesOf(ids []string) []Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Status, 0, len(ids))
	for _, id := range ids {
		if ck, ok := c.byID[id]; ok {
			out = append(out, ck.m.status(id))
		}
	}
	return out
}

// Statuses returns the status of every target, in no particular order:
// Snapshot without its sort, which takes most of its time (5 ms for
// 10,000 targets), for callers that look targets up by ID.
func (c *Checker) Statuses() []Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Status, 0, c.nTargets)
	for _, ck := range c.checks {
		for _, id := range ck.subs {
			out = append(out, ck.m.status(id))
		}
	}
	return out
}

// Counters returns the totals so far and the current sizes.
func (c *Checker) Counters() Counters {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.counters
	n.Checks, n.Targets, n.ExecWorkers = len(c.checks), c.nTargets, c.execWant
	for _, ck := range c.checks {
		if ck.m.state == Unknown {
			n.Unchecked++
		}
	}
	return n
}
