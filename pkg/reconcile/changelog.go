package reconcile

import (
	"log/slog"

	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/metrics"
)

// maxListed bounds how many changes of one pass are logged one by one. A
// first pass or a reload that changes thousands of objects logs the first
// maxListed, then one line with the count of the rest (lvs-rs status
// shows the whole table): the journal, whose default rate limit is 10,000
// messages per 30 s per unit, then drops nothing that follows, and the
// loop does not spend seconds writing lines before its next pass.
const maxListed = 100

// logChanges logs a pass's applied changes, as drift repairs when
// repaired (each also counted in m, when not nil).
func logChanges(log *slog.Logger, m *metrics.Registry, changes []director.Change, repaired bool) {
	for i, c := range changes {
		if repaired && m != nil {
			m.DriftRepaired(driftObject(c))
		}
		switch {
		case i >= maxListed:
		case repaired:
			log.Warn("drift repaired", "object", driftObject(c), "change", c.String())
		default:
			log.Info("applied", "change", c.String())
		}
	}
	rest := len(changes) - maxListed
	switch {
	case rest <= 0:
	case repaired:
		log.Warn("drift repaired", "more", rest, "listed", maxListed, "note", "the rest are not listed one by one")
	default:
		log.Info("applied", "more", rest, "listed", maxListed, "note", "the rest are not listed one by one; lvs-rs status shows the table")
	}
}
