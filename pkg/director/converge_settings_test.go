package director

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// newWave2Bed is a memBed whose kernel has the parameters wave2() sets, at
// values other than wave2's.
func newWave2Bed(t *testing.T) *memBed {
	b := newMemBed(t)
	for k, v := range map[string]string{redirAll: "1", redirEth0: "1", reuse: "1", sloppy: "0"} {
		b.k.sysctls[k] = v
	}
	return b
}

// TestWave2StartStatusStop: start applies every setting, status shows
// them with no drift and then each hand change as drift, stop restores the
// kernel exactly.
func TestWave2StartStatusStop(t *testing.T) {
	ctx := context.Background()
	b := newWave2Bed(t)
	before := b.k.snapshot()
	if _, err := Start(ctx, wave2(), b.opts()); err != nil {
		t.Fatal(err)
	}
	got := b.k.snapshot()
	for k, v := range map[string]string{ipf: "1", redirAll: "0", redirEth0: "0", reuse: "0", sloppy: "1"} {
		if got.Sysctls[k] != v {
			t.Errorf("sysctl %s = %q, want %q", k, got.Sysctls[k], v)
		}
	}
	if want := (ipvs.Timeouts{TCP: 600 * time.Second, TCPFin: 120 * time.Second, UDP: 60 * time.Second}); got.Timeouts != want {
		t.Errorf("timeouts %v, want %v", got.Timeouts, want)
	}
	if len(got.Daemons) != 2 || !sync1.Satisfies(got.Daemons[0]) || !sync1b.Satisfies(got.Daemons[1]) {
		t.Errorf("sync daemons %v", got.Daemons)
	}
	s := wave2Service()
	if diff := cmp.Diff(s, got.Services[s.Key()], cmpOpts); diff != "" {
		t.Errorf("service (-want +got):\n%s", diff)
	}
	// Added in config order (the fake appends; the kernel puts each at
	// the head, see test/vm/director).
	dests := wave2Dests()
	var list []ipvs.Destination
	for _, d := range b.k.dests[s.Key()] {
		list = append(list, d.Destination)
	}
	if diff := cmp.Diff(dests, list, cmpOpts); diff != "" {
		t.Errorf("destinations in list order (-want +got):\n%s", diff)
	}
	rep, err := Status(ctx, nil, b.opts())
	if err != nil || len(rep.Drift) != 0 {
		t.Fatalf("status after start: %v %q", err, rep.Drift)
	}
	if len(rep.Sysctls) != 5 || len(rep.Timeouts) != 2 || len(rep.Sync) != 2 || !rep.Sync[0].Owned || rep.Services[0].Flags != "mh-fallback,mh-port" ||
		rep.Services[0].Destinations[0].Tunnel != "gue port 6080 csum" || rep.Services[0].Destinations[0].UpperThreshold != 1000 {
		t.Fatalf("status rows: %+v", rep)
	}
	// By hand: one of each.
	b.k.sysctls[sloppy] = "0"
	b.k.timeouts.UDP = 300 * time.Second
	b.k.daemons = b.k.daemons[:1]
	rep, err = Status(ctx, nil, b.opts())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"sysctl net/ipv4/vs/sloppy_tcp is 0, want 1",
		"ipvs timeout udp is 300s, want 60s",
		"sync daemon backup on eth1 syncid 1 is not running",
	}
	if diff := cmp.Diff(want, rep.Drift); diff != "" {
		t.Fatalf("drift (-want +got):\n%s", diff)
	}
	var tb strings.Builder
	if err := rep.WriteTable(&tb); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"ipvs timeout tcp = 600s, want 600s (lvs-rs set it to 600s; it was 900s)",
		"sync daemon master on eth1 syncid 1: running, started by lvs-rs", "[gue port 6080 csum, thresholds 1000/800]"} {
		if !strings.Contains(tb.String(), line) {
			t.Errorf("table lacks %q:\n%s", line, tb.String())
		}
	}
	if _, err := Start(ctx, wave2(), b.opts()); err != nil {
		t.Fatal(err)
	}
	if _, err := Stop(ctx, b.opts()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, b.k.snapshot(), cmpOpts); diff != "" {
		t.Fatalf("stop did not restore the kernel (-before +after):\n%s", diff)
	}
}

// TestWave2StopLeavesWhatChangedSince: a timeout, a sysctl and a sync
// daemon changed by someone after start are left as they are, with a
// warning each, and forgotten.
func TestWave2StopLeavesWhatChangedSince(t *testing.T) {
	ctx := context.Background()
	b := newWave2Bed(t)
	if _, err := Start(ctx, wave2(), b.opts()); err != nil {
		t.Fatal(err)
	}
	b.k.sysctls[reuse] = "2"
	b.k.timeouts.TCP = 7 * time.Second
	b.k.daemons[1].Interface = "eth9"
	res, err := Stop(ctx, b.opts())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 3 {
		t.Fatalf("warnings %q", res.Warnings)
	}
	if b.k.sysctls[reuse] != "2" || b.k.timeouts.TCP != 7*time.Second || b.k.timeouts.UDP != 300*time.Second ||
		len(b.k.daemons) != 1 || b.k.daemons[0].Interface != "eth9" {
		t.Fatalf("kernel after stop: %+v %v %v", b.k.sysctls, b.k.timeouts, b.k.daemons)
	}
	if _, ok := b.record(); ok {
		t.Fatal("a record is left")
	}
}

// TestWave2ForeignSyncDaemon: a sync daemon lvs-rs did not start stops
// start with EEXIST, is never recorded, and stop leaves it running.
func TestWave2ForeignSyncDaemon(t *testing.T) {
	ctx := context.Background()
	b := newWave2Bed(t)
	other := ipvs.Daemon{State: ipvs.DaemonBackup, Interface: "eth7", SyncID: 9}
	b.k.daemons = []ipvs.Daemon{other}
	_, err := Start(ctx, wave2(), b.opts())
	if !errors.Is(err, unix.EEXIST) || !strings.Contains(err.Error(), "backup on eth1 syncid 1") {
		t.Fatalf("start: %v", err)
	}
	if r, _ := b.record(); slices.ContainsFunc(r.Daemons, func(d ipvs.Daemon) bool { return d.State == ipvs.DaemonBackup }) {
		t.Fatalf("foreign daemon's state recorded: %v", r.Daemons)
	}
	if _, err := Stop(ctx, b.opts()); err != nil {
		t.Fatal(err)
	}
	if len(b.k.daemons) != 1 || b.k.daemons[0] != other {
		t.Fatalf("daemons after stop: %v", b.k.daemons)
	}
}

// TestWave2CrashAtEveryWrite kills start after each of its writes; a
// second start converges and stop restores the kernel exactly.
func TestWave2CrashAtEveryWrite(t *testing.T) {
	ctx := context.Background()
	probe := newWave2Bed(t)
	if _, err := Start(ctx, wave2(), probe.opts()); err != nil {
		t.Fatal(err)
	}
	n := probe.k.writes
	for k := 1; k <= n; k++ {
		b := newWave2Bed(t)
		before := b.k.snapshot()
		b.k.crashAfter = k
		if !crashing(func() { Start(ctx, wave2(), b.opts()) }) {
			t.Fatalf("crash after write %d: start did not reach it", k)
		}
		b.k.crashAfter = 0
		if _, err := Start(ctx, wave2(), b.opts()); err != nil {
			t.Fatalf("crash after write %d: start again: %v", k, err)
		}
		if rep, err := Status(ctx, nil, b.opts()); err != nil || len(rep.Drift) != 0 {
			t.Fatalf("crash after write %d: status: %v %v", k, err, rep.Drift)
		}
		if _, err := Stop(ctx, b.opts()); err != nil {
			t.Fatalf("crash after write %d: stop: %v", k, err)
		}
		if diff := cmp.Diff(before, b.k.snapshot(), cmpOpts); diff != "" {
			t.Fatalf("crash after write %d: stop did not restore (-before +after):\n%s", k, diff)
		}
	}
}
