package director

import "testing"

// TestSeenSet: a set reused through reset, small (a scan) and past
// seenFrom (a map, kept by reset for the next large set), reports each key
// new once and knows nothing of the sets before it.
func TestSeenSet(t *testing.T) {
	var s seenSet[int]
	for round, n := range []int{3, seenFrom + 5, 2, 3 * seenFrom, seenFrom, seenFrom + 1} {
		s.reset(n)
		for k := range n {
			if !s.add(k) {
				t.Fatalf("round %d (%d keys): %d reported seen before it was added", round, n, k)
			}
		}
		for k := range n {
			if s.add(k) {
				t.Fatalf("round %d (%d keys): %d reported new twice", round, n, k)
			}
		}
		if !s.add(-1) {
			t.Fatalf("round %d: a key never added reported seen", round)
		}
	}
}
