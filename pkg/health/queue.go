package health

import (
	"context"
	"sync"
	"time"
)

// job is one run of a check handed to a worker.
type job struct {
	ck   *check
	seq  uint64    // ck.seq at dispatch
	base time.Time // the slot
	due  time.Time // the slot plus jitter
	// first is set when the check had no result yet at dispatch: such a
	// run is never late (see Checker.run).
	first bool
}

// queue is a FIFO of jobs shared by a pool of workers. It never blocks
// the scheduler: a check is queued at most once at a time, so its length
// is bounded by the number of checks.
type queue struct {
	mu     sync.Mutex
	items  []job
	signal chan struct{}
}

func newQueue() *queue { return &queue{signal: make(chan struct{}, 1)} }

// push appends j and wakes a worker.
func (q *queue) push(j job) {
	q.mu.Lock()
	q.items = append(q.items, j)
	q.mu.Unlock()
	q.poke()
}

// poke wakes one waiting worker, if any.
func (q *queue) poke() {
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// pop takes the oldest job, waiting for one; false when ctx is done.
func (q *queue) pop(ctx context.Context) (job, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			j := q.items[0]
			q.items[0] = job{}
			q.items = q.items[1:]
			more := len(q.items) > 0
			if !more {
				q.items = q.items[:0:0]
			}
			q.mu.Unlock()
			if more {
				q.poke() // hand the rest to another worker
			}
			return j, true
		}
		q.mu.Unlock()
		select {
		case <-q.signal:
		case <-ctx.Done():
			return job{}, false
		}
	}
}
