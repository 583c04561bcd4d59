package phase

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// MaxMarks bounds how many phases one process records.
const MaxMarks = 256

// Timing is one phase: its name and how long it took.
type Timing struct {
	Name string
	Took time.Duration
}

// recorder holds the phases of one process.
type recorder struct {
	mu     sync.Mutex
	last   time.Time
	phases []Timing
}

var current atomic.Pointer[recorder]

// Enable starts recording; the first phase runs from now. It discards
// what an earlier Enable recorded.
func Enable() {
	current.Store(&recorder{last: time.Now()})
}

// Mark ends the phase called name: it took the time since the previous
// Mark (or Enable). It does nothing unless recording.
func Mark(name string) {
	r := current.Load()
	if r == nil {
		return
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.phases) < MaxMarks {
		r.phases = append(r.phases, Timing{Name: name, Took: now.Sub(r.last)})
	}
	r.last = now
}

// Disable stops recording and returns the phases recorded, in order;
// nil unless recording.
func Disable() []Timing {
	r := current.Swap(nil)
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.phases
}

// Write writes phases to w, one "name seconds" line each.
func Write(w io.Writer, phases []Timing) error {
	b := bufio.NewWriter(w)
	for _, t := range phases {
		fmt.Fprintf(b, "%s %.6f\n", t.Name, t.Took.Seconds())
	}
	return b.Flush()
}

// Read reads what Write wrote: one "name seconds" line per phase.
func Read(r io.Reader) ([]Timing, error) {
	var out []Timing
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		s, err := strconv.ParseFloat(v, 64)
		if !ok || name == "" || err != nil {
			return nil, fmt.Errorf("phase: line %q is not \"name seconds\"", sc.Text())
		}
		out = append(out, Timing{Name: name, Took: time.Duration(s * float64(time.Second))})
	}
	return out, sc.Err()
}
