package health

import "time"

// machine is the rise/fall state of one check. The first result decides at
// once (up or down); later changes need rise passes or fall failures in a
// row.
type machine struct {
	state    State
	last     Result
	lastTime time.Time
	duration time.Duration
	consec   int
	since    time.Time
	// from is the state before state (Unknown until a second state):
	// whoever reads a status after several changes still knows that an
	// Up came from Down (a recovery, for the caller's slow start) rather
	// than from Unknown (a first result, which changes no weight).
	from   State
	weight Weight
}

// change is what one result changed.
type change struct {
	state, weight bool
	from          State
}

// apply feeds one result in.
func (m *machine) apply(r Result, rise, fall int, at time.Time, d time.Duration) change {
	if m.state != Unknown && r.Up == m.last.Up {
		m.consec++
	} else {
		m.consec = 1
	}
	c := change{from: m.state}
	m.last, m.lastTime, m.duration = r, at, d
	next := m.state
	switch {
	case m.state == Unknown && r.Up, m.state == Down && r.Up && m.consec >= rise:
		next = Up
	case m.state == Unknown && !r.Up, m.state == Up && !r.Up && m.consec >= fall:
		next = Down
	}
	if r.Up {
		c.weight = next == Up && m.state == Up && r.Weight != m.weight
		m.weight = r.Weight
	}
	if next != m.state {
		c.state = true
		m.from, m.state, m.since = m.state, next, at
	}
	return c
}

// changing reports whether the last result disagrees with the state, so
// the check is between its first failure and fall (or first pass and
// rise) and runs at the fast interval.
func (m *machine) changing() bool {
	return (m.state == Up && !m.last.Up) || (m.state == Down && m.last.Up)
}

// status renders the machine for target id.
func (m *machine) status(id string) Status {
	return Status{
		ID: id, State: m.state, Last: m.last, LastTime: m.lastTime,
		Duration: m.duration, Consecutive: m.consec, Since: m.since, From: m.from, Weight: m.weight,
	}
}
