package main

import (
	"context"
	"os"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvs-rs/lvs-rs/pkg/reconcile"
)

// fakeBeat is a loop's heartbeat as a test drives it.
type fakeBeat struct {
	mu   sync.Mutex
	at   time.Time
	idle bool
}

func (b *fakeBeat) set(at time.Time, idle bool) {
	b.mu.Lock()
	b.at, b.idle = at, idle
	b.mu.Unlock()
}

func (b *fakeBeat) beat() (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.at, b.idle
}

// pings runs pingWhileLive with WatchdogSec every and b's heartbeat
// while drive runs (in the bubble), and returns the times of the pings.
func pings(t *testing.T, every time.Duration, b *fakeBeat, drive func()) []time.Time {
	t.Helper()
	var mu sync.Mutex
	var at []time.Time
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		pingWhileLive(ctx, every, b.beat, func() {
			mu.Lock()
			at = append(at, time.Now())
			mu.Unlock()
		})
	}()
	drive()
	cancel()
	<-done
	return at
}

// killedAt returns when systemd, with WatchdogSec every, kills a service
// that sent pings from start until end (zero: never).
func killedAt(pings []time.Time, start, end time.Time, every time.Duration) time.Time {
	last := start
	for _, p := range pings {
		if p.Sub(last) >= every {
			return last.Add(every)
		}
		last = p
	}
	if end.Sub(last) >= every {
		return last.Add(every)
	}
	return time.Time{}
}

// TestWatchdogStopsForStuckLoop: a loop stuck in a pass (no progress
// since it left its idle wait) stops the pings once it has made none for
// reconcile.StallLimit, so systemd kills it within StallLimit plus
// WatchdogSec; an independent ticker pinged forever.
func TestWatchdogStopsForStuckLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const every = 30 * time.Second
		start := time.Now()
		b := &fakeBeat{at: start} // busy since start, never again
		got := pings(t, every, b, func() { time.Sleep(10 * time.Minute) })
		if len(got) == 0 || got[0].Sub(start) > every/2 {
			t.Fatalf("pings %v: want pings while the pass is young", got)
		}
		for _, p := range got {
			if p.Sub(start) >= reconcile.StallLimit {
				t.Fatalf("ping %s after the loop's last progress, want none after %s (pings %d)",
					p.Sub(start), reconcile.StallLimit, len(got))
			}
		}
		kill := killedAt(got, start, start.Add(10*time.Minute), every)
		if kill.IsZero() || kill.Sub(start) > reconcile.StallLimit+every {
			t.Errorf("a loop stuck from the start is killed after %s, want within %s", kill.Sub(start), reconcile.StallLimit+every)
		}
	})
}

// TestWatchdogKeepsBusyLoop: a loop busy without pause, each step of its
// passes taking up to 55 s (a host lock held 30 s, a converge close to
// its 60 s deadline), and one idle for an hour between passes, keep the
// pings going: systemd never kills a healthy daemon.
func TestWatchdogKeepsBusyLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const every = 30 * time.Second
		start := time.Now()
		b := &fakeBeat{at: start}
		got := pings(t, every, b, func() {
			for i := range 40 {
				// Steps of 55 s, 30 s, 5 s, ...: progress at each.
				time.Sleep([]time.Duration{55 * time.Second, 30 * time.Second, 5 * time.Second}[i%3])
				b.set(time.Now(), false)
			}
			b.set(time.Now(), true) // idle: waits for a trigger for an hour
			time.Sleep(time.Hour)
			b.set(time.Now(), false) // and a pass again
			time.Sleep(50 * time.Second)
		})
		end := time.Now()
		if kill := killedAt(got, start, end, every); !kill.IsZero() {
			t.Errorf("a busy, progressing loop killed after %s (%d pings)", kill.Sub(start), len(got))
		}
	})
}

// TestWatchdogLimit: the rule. Alive while idle however long, or busy with
// progress less than the limit ago; the limit is StallLimit, or
// WatchdogSec when the unit sets a longer one, and StallLimit exceeds
// the loop's longest step between progress marks: a converge
// (its 60 s deadline) and the host lock (30 s).
func TestWatchdogLimit(t *testing.T) {
	now := time.Now()
	if reconcile.StallLimit <= 60*time.Second {
		t.Errorf("StallLimit %s: a converge within its 60 s deadline would be taken for a hang", reconcile.StallLimit)
	}
	for _, c := range []struct {
		every, ago time.Duration
		idle, live bool
	}{
		{30 * time.Second, time.Hour, true, true},
		{30 * time.Second, 45 * time.Second, false, true},
		{30 * time.Second, reconcile.StallLimit - time.Second, false, true},
		{30 * time.Second, reconcile.StallLimit, false, false},
		{30 * time.Second, time.Hour, false, false},
		{10 * time.Minute, 5 * time.Minute, false, true},
		{10 * time.Minute, 10 * time.Minute, false, false},
	} {
		if got := loopLive(now.Add(-c.ago), c.idle, now, watchdogLimit(c.every)); got != c.live {
			t.Errorf("WatchdogSec %s, progress %s ago, idle %v: live %v, want %v", c.every, c.ago, c.idle, got, c.live)
		}
	}
}

// TestWatchdogEnv: the interval is WATCHDOG_USEC, for this process only
// (WATCHDOG_PID), as go-systemd's SdWatchdogEnabled reads it; none
// without it.
func TestWatchdogEnv(t *testing.T) {
	for _, c := range []struct {
		usec, pid string
		want      time.Duration
	}{
		{"", "", 0},
		{"30000000", strconv.Itoa(os.Getpid()), 30 * time.Second},
		{"30000000", "", 30 * time.Second},
		{"30000000", strconv.Itoa(os.Getpid() + 1), 0},
		{"x", "", 0},
	} {
		t.Setenv("WATCHDOG_USEC", c.usec)
		t.Setenv("WATCHDOG_PID", c.pid)
		if got := watchdogInterval(); got != c.want {
			t.Errorf("WATCHDOG_USEC=%q WATCHDOG_PID=%q: %s, want %s", c.usec, c.pid, got, c.want)
		}
	}
}
