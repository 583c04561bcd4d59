package reconcile

import (
	"fmt"
	"testing"
	"time"
)

// TestTransitionConvergesItsServiceOnly: a health transition makes a pass
// of the one service whose real server changed (its real servers are
// listed, the other service's are not), and the next full pass still
// comes reconcile_interval after the last one, not pushed back by it.
func TestTransitionConvergesItsServiceOnly(t *testing.T) {
	l2 := listen(t, "127.0.0.2:0")
	const interval = 3 * time.Second
	cfg := fmt.Sprintf(`director:
  interface: eth0
  reconcile_interval: %s
virtual_servers:
  - vip: 10.0.0.100
    port: 80
    check: {type: tcp, interval: 100ms, timeout: 50ms, rise: 1, fall: 1}
    real_servers:
      - {address: 127.0.0.2, weight: 2, check: {port: %d}}
  - vip: 10.0.0.100
    port: 81
    real_servers:
      - {address: 127.0.0.5, weight: 5}
`, interval, portOfListener(l2))
	lp, k, _ := runLoop(t, cfg)
	// Right after a full pass, so that none is due while the transition's
	// pass runs.
	full := counts(lp).nextFull
	waitUntil(t, "the next full pass", func() (bool, string) {
		next := counts(lp).nextFull
		return next.After(full), fmt.Sprint(next)
	})
	full = counts(lp).nextFull
	d80, d81 := k.dumpsOf(80), k.dumpsOf(81)

	l2.Close()
	waitWeights(t, k, map[string]int{"127.0.0.2": 0})
	if got := k.dumpsOf(81); got != d81 {
		t.Errorf("the transition's pass listed the real servers of the other service (%d dumps, %d before)", got, d81)
	}
	if got := k.dumpsOf(80); got == d80 {
		t.Errorf("the transition's pass did not list its own service's real servers")
	}
	next := counts(lp).nextFull
	if !next.Equal(full) {
		t.Errorf("the next full pass moved from %v to %v", full, next)
	}
	// The full pass still comes, and lists both.
	waitUntil(t, "a full pass", func() (bool, string) {
		return k.dumpsOf(81) > d81, fmt.Sprint(k.dumpsOf(81), " dumps of 81")
	})
}
