package reconcile

import (
	"time"

	"github.com/lvs-rs/lvs-rs/pkg/health"
)

// recoveries says, of each checked real server (by target ID), since when
// it is back from down: what slow start ramps from. The loop derives it
// from the checker's statuses as a pass reads them, and not from the
// checker's notifications: those are delivered one at a time, after the
// statuses already show the change (later ones wait while the loop logs
// earlier ones, one per service when a check serves several), so a pass
// in that gap would see the check up without the recovery and give the
// full weight, which the next pass would take back to the ramp. Any pass
// that sees a real server up thus also sees its ramp.
//
// A status says what state its check left for the current one
// (health.Status.From): Up from Down is a recovery, since Since, however
// many changes no pass saw. The loop's own memory of the state it last
// read cannot tell that: a check whose first result was up, and that
// went down and came back before any pass saw it up (right after
// start-up, the notifications still waiting behind the first one), was
// last read Unknown, and its first up seen by a pass would get the full
// weight at once. What the loop remembers (the state it last read, or
// heard of in a notification) still decides at a reload, where a target
// may change checks: see rebase.
//
// The caller holds the loop's mu.
type recoveries map[string]seen

// seen is the state the loop last knew a target in.
type seen struct {
	state     health.State
	since     time.Time // the Since of state
	recovered time.Time // when it came back from down; zero: it did not
}

// observe records st, read by a pass, and returns when its target came
// back from down (zero: it is not up after having been down). The same
// up as the last read keeps what was decided for it (a ramp that a
// reload began, see rebase); any other up is a recovery when its check
// came to it from down.
func (r recoveries) observe(st health.Status) time.Time {
	prev, ok := r[st.ID]
	cur := advance(prev, ok, st)
	if !ok || cur != prev {
		r[st.ID] = cur // most passes see what the last one saw: no write
	}
	return cur.recovered
}

// advance is what the loop knows of st's target once it reads st, having
// known prev (when ok): see observe.
func advance(prev seen, ok bool, st health.Status) seen {
	cur := seen{state: st.State, since: st.Since}
	if st.State == health.Up {
		switch {
		case ok && prev.state == health.Up && st.Since.Equal(prev.since):
			cur.recovered = prev.recovered // the same up
		case st.From == health.Down:
			cur.recovered = st.Since
		}
	}
	return cur
}

// heard records a notification. Only a move to down matters: it tells a
// reload (rebase) that the target was down, even when no pass saw it, so
// that joining a check that is up counts as coming back. An up is taken
// from the statuses (observe), which show it first. A notification older
// than the state a pass already read is stale and ignored: a pass saw
// what came after it.
func (r recoveries) heard(t health.Transition) {
	if t.To != health.Down || t.From == health.Down {
		return
	}
	if prev, ok := r[t.ID]; ok && t.Time.Before(prev.since) {
		return
	}
	r[t.ID] = seen{state: health.Down, since: t.Time}
}

// rebase replaces what the loop knew with statuses, read right after a
// reload gave the checker the new targets (at now): a target whose check
// started afresh (its probe changed) is unknown again, so its first up
// is not taken for a recovery; a check whose state carried over (same
// state and Since) keeps its ramp; targets that left are forgotten. A
// target the loop knew down that is up after the reload came back: when
// its check came up after the down the loop knew, then, else (it joined
// a check that was up all along) at the reload. Any other up is a
// recovery when its check came to it from down, as in observe.
func (r recoveries) rebase(statuses []health.Status, now time.Time) recoveries {
	next := make(recoveries, len(statuses))
	for _, st := range statuses {
		prev, ok := r[st.ID]
		cur := advance(prev, ok, st)
		if st.State == health.Up && ok && prev.state == health.Down {
			cur.recovered = now // it joined a check that was up all along
			if st.Since.After(prev.since) {
				cur.recovered = st.Since // came back before the reload
			}
		}
		next[st.ID] = cur
	}
	return next
}
