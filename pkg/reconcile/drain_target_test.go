package reconcile

import (
	"net/netip"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/pkg/control"
)

// TestRedrainAfterExceptionStartsNow: a host drained in every service, then enabled in one service (an
// exception), then drained again in that service later: the re-drain is a
// new drain of a real server that was serving, and its drain_timeout must
// count from it, not from the host-wide drain made long before.
func TestRedrainAfterExceptionStartsNow(t *testing.T) {
	file, stateDir, k := shortDrainFiles(t)
	lp, ctx, _ := runLoopOn(t, file, stateDir, k)
	host := netip.MustParseAddr("127.0.0.3")
	svc := control.Service{Proto: "tcp", VIP: netip.MustParseAddr("10.0.0.100"), Port: 80}
	k.setConns(80, "127.0.0.3", 4)
	if _, err := lp.Drain(ctx, control.DrainRequest{Address: host}); err != nil {
		t.Fatal(err)
	}
	if _, err := lp.Enable(ctx, control.DrainRequest{Address: host, Service: svc}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3500 * time.Millisecond) // serving again, longer than drain_timeout
	if w := k.weights(80)["127.0.0.3"]; w != 3 {
		t.Fatalf("enabled: weight %d", w)
	}
	redrained := time.Now()
	if _, err := lp.Drain(ctx, control.DrainRequest{Address: host, Service: svc}); err != nil {
		t.Fatal(err)
	}
	_, since, _ := control.LoadDrainsSince(stateDir)
	t.Logf("drains.json since: %v (re-drained at %v)", since, redrained.UTC())
	time.Sleep(500 * time.Millisecond)
	if _, present := k.weights(80)["127.0.0.3"]; !present {
		t.Fatalf("127.0.0.3, busy, re-drained %v ago with drain_timeout 3s, already deleted: its timeout counted from the host-wide drain",
			time.Since(redrained).Round(100*time.Millisecond))
	}
}

// TestHostDrainKeepsServiceDrainTime: a real server drained in one service, then its host drained in every
// service: the real server was already draining; its drain_timeout must
// not start over.
func TestHostDrainKeepsServiceDrainTime(t *testing.T) {
	file, stateDir, k := shortDrainFiles(t)
	lp, ctx, _ := runLoopOn(t, file, stateDir, k)
	host := netip.MustParseAddr("127.0.0.3")
	svc := control.Service{Proto: "tcp", VIP: netip.MustParseAddr("10.0.0.100"), Port: 80}
	k.setConns(80, "127.0.0.3", 4)
	drained := time.Now()
	if _, err := lp.Drain(ctx, control.DrainRequest{Address: host, Service: svc}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	res, err := lp.Drain(ctx, control.DrainRequest{Address: host})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("host drain targets: %+v", res.Targets)
	waitUntil(t, "127.0.0.3 deleted", func() (bool, string) {
		_, present := k.weights(80)["127.0.0.3"]
		if present && time.Since(drained) > 4500*time.Millisecond {
			t.Fatalf("127.0.0.3 drained %v ago (drain_timeout 3s) still in the kernel: the host-wide drain restarted its timeout",
				time.Since(drained).Round(100*time.Millisecond))
		}
		return !present, ""
	})
}
