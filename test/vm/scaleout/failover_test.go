package scaleout

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/nlretry"
	"github.com/vishvananda/netlink"
)

// nFlows is how many long-lived connections the failover runs carry.
const nFlows = 64

// TestFailover takes one of two directors away under 64 established
// connections and checks every one keeps working, answered by the same
// real server: with connection sync, mh and sloppy_tcp (BIRD stopped,
// then failback; separately the director's link down), without sync but
// with mh and sloppy_tcp, with sync alone (wrr, sloppy_tcp off), and a
// negative control (no sync, wrr, sloppy_tcp off) that must break some.
func TestFailover(t *testing.T) {
	mh := variant{sync: true, scheduler: "mh", sloppy: 1}
	for _, tc := range []struct {
		name     string
		v        variant
		linkDown bool // else BIRD is stopped
		failback bool
		broken   bool // the negative control: some connection must break
	}{
		{name: "sync/bird-stopped", v: mh, failback: true},
		{name: "sync/link-down", v: mh, linkDown: true},
		{name: "mh-sloppy-without-sync/bird-stopped", v: variant{scheduler: "mh", sloppy: 1}},
		// Only the synced entries can keep these: wrr picks anew and
		// without sloppy_tcp a mid-stream packet is never scheduled.
		{name: "sync-only/wrr-no-sloppy/bird-stopped", v: variant{sync: true, scheduler: "wrr"}},
		{name: "negative-control/wrr-no-sync-no-sloppy", v: variant{scheduler: "wrr"}, broken: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, tc.v)
			up := waitNexthops(t, c.router, clusterVIP, 90*time.Second, dirIPs[0], dirIPs[1])
			t.Logf("the router has the ECMP route via both directors %v after BIRD started", up.Round(time.Millisecond))
			if out, err := c.lvsrsErr(c.dirs[0], "status", "--role", "director"); err != nil {
				t.Fatalf("status of d1 after start: %v\n%s", err, out)
			}

			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			snif := [2]*sniffer{sniff(t, ctx, c.dirs[0], clusterVIP), sniff(t, ctx, c.dirs[1], clusterVIP)}
			start := time.Now()
			fs := dialFlows(t, ctx, c.client, netip.AddrPortFrom(clusterVIP, 80).String(), nFlows)
			// At least 3 packets after the handshake, then the sync
			// daemon's queue is flushed within 2 s.
			waitTrips(t, fs, start, 4, 60*time.Second)
			time.Sleep(2500 * time.Millisecond)

			before := time.Now()
			on1, on2 := snif[0].carried(start, before), snif[1].carried(start, before)
			rsOf := map[uint16]string{}
			for _, f := range fs {
				_, _, rss := f.state()
				if len(rss) != 1 {
					t.Fatalf("flow %d answered by %v before the failover", f.port, rss)
				}
				rsOf[f.port] = rss[0]
				if on1[f.port] == on2[f.port] {
					t.Fatalf("flow %d: carried by d1 %v, by d2 %v: want exactly one", f.port, on1[f.port], on2[f.port])
				}
			}
			if len(on1) == 0 || len(on2) == 0 {
				t.Fatalf("flows per director: d1 %d, d2 %d: the router does not spread them", len(on1), len(on2))
			}
			t.Logf("%d flows: %d through d1, %d through d2; real servers %v", len(fs), len(on1), len(on2), countRS(rsOf))

			// Take d1 away.
			away := time.Now()
			if tc.linkDown {
				l, err := c.dirs[0].Handle().LinkByName("eth0")
				c.must(err)
				c.must(c.dirs[0].Handle().LinkSetDown(l))
			} else {
				c.birds[0].stop()
			}
			gone := waitNexthops(t, c.router, clusterVIP, 30*time.Second, dirIPs[1])
			withdrawn := away.Add(gone)
			t.Logf("d1 taken away (%s): the router withdrew its nexthop after %v", map[bool]string{true: "link down", false: "BIRD stopped"}[tc.linkDown], gone.Round(time.Millisecond))

			if tc.broken {
				expectBroken(t, fs, on1)
				return
			}
			waitTrips(t, fs, withdrawn, 3, 60*time.Second)
			checkSameRS(t, fs, rsOf)
			moved := snif[1].carried(withdrawn, time.Now())
			for port := range on1 {
				if !moved[port] {
					t.Fatalf("flow %d of d1 did not reach d2 after the withdrawal", port)
				}
			}
			first, last := failoverTimes(fs, on1, withdrawn)
			t.Logf("FAILOVER: all %d established connections survived; %d moved to d2; route withdrawn -> first round trip on a moved flow %v, every moved flow answered within %v",
				len(fs), len(on1), first.Round(time.Millisecond), last.Round(time.Millisecond))

			if !tc.failback {
				return
			}
			c.birds[0].start()
			back := waitNexthops(t, c.router, clusterVIP, 60*time.Second, dirIPs[0], dirIPs[1])
			returned := time.Now()
			t.Logf("failback: d1's nexthop back after %v", back.Round(time.Millisecond))
			waitTrips(t, fs, returned, 3, 60*time.Second)
			checkSameRS(t, fs, rsOf)
			if n := len(snif[0].carried(returned, time.Now())); n == 0 {
				t.Fatal("after the failback no flow goes through d1 again")
			} else {
				t.Logf("FAILBACK: all %d connections survived, %d through d1 again", len(fs), n)
			}

			// stop withdraws: d2's route leaves table 100 and the router's
			// route follows.
			cancel()
			c.lvsrs(c.dirs[1], "stop", "--role", "director")
			if rs := announced(t, c, 1); len(rs) != 0 {
				t.Fatalf("d2's table 100 after stop: %v", rs)
			}
			waitNexthops(t, c.router, clusterVIP, 30*time.Second, dirIPs[0])
		})
	}
}

// announced lists director i's routes in table 100 with lvs-rs's
// protocol (250).
func announced(t *testing.T, c *cluster, i int) []netlink.Route {
	t.Helper()
	rs, err := nlretry.Dump(func() ([]netlink.Route, error) {
		return c.dirs[i].Handle().RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: 100, Protocol: 250},
			netlink.RT_FILTER_TABLE|netlink.RT_FILTER_PROTOCOL)
	})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// checkSameRS fails the test unless every flow works and was answered
// only by the real server it had before the failover.
func checkSameRS(t *testing.T, fs []*flow, rsOf map[uint16]string) {
	t.Helper()
	for _, f := range fs {
		err, _, rss := f.state()
		if err != nil {
			t.Fatalf("established connection broken: %v", err)
		}
		if len(rss) != 1 || rss[0] != rsOf[f.port] {
			t.Fatalf("flow %d answered by %v, before by %s", f.port, rss, rsOf[f.port])
		}
	}
}

// expectBroken waits (bounded) for at least one of d1's flows to break by
// a reset or a timeout, as it must without sync, mh and sloppy_tcp.
func expectBroken(t *testing.T, fs []*flow, on1 map[uint16]bool) {
	t.Helper()
	deadline := time.Now().Add(replyWait + 10*time.Second)
	for time.Now().Before(deadline) {
		var broken []string
		for _, f := range fs {
			if err, _, _ := f.state(); err != nil {
				how := "timeout"
				if errors.Is(err, syscall.ECONNRESET) {
					how = "reset"
				} else if !isTimeout(err) {
					how = err.Error()
				}
				broken = append(broken, fmt.Sprintf("%d (d1 %v): %s", f.port, on1[f.port], how))
			}
		}
		if len(broken) > 0 {
			time.Sleep(2 * time.Second) // let the others show too
			t.Logf("NEGATIVE CONTROL: %d of %d connections broke, e.g. %s", countBroken(fs), len(fs), strings.Join(broken[:min(3, len(broken))], "; "))
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("negative control: no connection broke without sync, mh and sloppy_tcp: the failover test cannot fail")
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func countBroken(fs []*flow) int {
	n := 0
	for _, f := range fs {
		if err, _, _ := f.state(); err != nil {
			n++
		}
	}
	return n
}

// failoverTimes returns, over the flows that were on d1, the shortest
// and the longest time from the withdrawal to the flow's first answer
// received after it.
func failoverTimes(fs []*flow, on1 map[uint16]bool, withdrawn time.Time) (first, last time.Duration) {
	var ds []time.Duration
	for _, f := range fs {
		if !on1[f.port] {
			continue
		}
		_, trips, _ := f.state()
		for _, tr := range trips {
			if tr.got.After(withdrawn) {
				ds = append(ds, tr.got.Sub(withdrawn))
				break
			}
		}
	}
	if len(ds) == 0 {
		return 0, 0
	}
	return slices.Min(ds), slices.Max(ds)
}

func countRS(rsOf map[uint16]string) map[string]int {
	out := map[string]int{}
	for _, rs := range rsOf {
		out[rs]++
	}
	return out
}
