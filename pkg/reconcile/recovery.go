package reconcile

import (
	"time"

	"github.com/lvs-rs/lvs-rs/pkg/health"
)

// recoveries says, of each checked real server (by target ID), since when
// it is back from down: what slow start ramps from. The loop derives it
// from the checker's statuses as a pass reads them (state and Since),
// compared with the state the loop last knew the target in, and not from
// the checker's notifications: those are delivered one at a time, after
// the statuses already show the change (later ones wait while the loop
// logs earlier ones, one per service when a check serves several), so a
// pass in that gap would see the check up without the recovery and give
// the full weight, which the next pass would take back to the ramp. Any
// pass that sees a real server up thus also sees its ramp.
//
// A status does not say what state its check was in before (see
// health.Status), so the state before is the one the loop last knew:
// read by an earlier pass, or heard of in a notification (a down that
// came and went between two passes, reported before the next one).
// Within one configuration a check leaves up only for down, so an up
// entered after the up the loop knew (a later Since) came back from down
// too. What stays unknown is a down that no pass saw and whose
// notification had not arrived, before a check's first up the loop hears
// of (so a real server first seen up after being down since start-up,
// unseen, gets no ramp).
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
// back from down (zero: it is not up after having been down).
func (r recoveries) observe(st health.Status) time.Time {
	prev, ok := r[st.ID]
	cur := seen{state: st.State, since: st.Since}
	if ok && st.State == health.Up {
		switch {
		case prev.state == health.Up && st.Since.Equal(prev.since):
			cur.recovered = prev.recovered // the same up
		case prev.state == health.Down, prev.state == health.Up && st.Since.After(prev.since):
			cur.recovered = st.Since
		}
	}
	if !ok || cur != prev {
		r[st.ID] = cur // most passes see what the last one saw: no write
	}
	return cur.recovered
}

// heard records a notification. Only a move to down matters (it makes
// the next up a recovery even when no pass saw the down); an up is
// taken from the statuses (observe), which show it first. A
// notification older than the state a pass already read is stale and
// ignored: a pass saw what came after it.
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
// target the loop knew down that is up after the reload (it joined a
// check that was up) comes back at the reload.
func (r recoveries) rebase(statuses []health.Status, now time.Time) recoveries {
	next := make(recoveries, len(statuses))
	for _, st := range statuses {
		prev, ok := r[st.ID]
		cur := seen{state: st.State, since: st.Since}
		if ok && st.State == health.Up {
			switch {
			case prev.state == health.Up && st.Since.Equal(prev.since):
				cur.recovered = prev.recovered
			case prev.state == health.Down && st.Since.After(prev.since):
				cur.recovered = st.Since // came back before the reload
			case prev.state == health.Down:
				cur.recovered = now
			}
		}
		next[st.ID] = cur
	}
	return next
}
