package reconcile

import (
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/control"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// TestDrainDespiteFailureElsewhere: while every pass fails on a service
// the kernel refuses for good (another VIP's), drain and enable of a real
// server of a healthy service succeed: their pass goes past the failure
// and the kernel holds the weight they asked for (0, then the configured
// 2). Before, they returned the pass's error (lvs-rs drain exited 1)
// though the weight was applied. When their own edit is refused, they
// still return the error.
func TestDrainDespiteFailureElsewhere(t *testing.T) {
	l2 := listen(t, "127.0.0.2:0")
	lp, k, ctx := runLoop(t, announcedConfig(portOfListener(l2), false))
	k.setRefuse(func(op ipvs.Op) error {
		if op.Service.Port == 81 && (op.Kind == ipvs.OpNewService || op.Kind == ipvs.OpNewDestination) {
			return unix.ENOENT
		}
		return nil
	})
	writeConfig(t, lp.opts.File, announcedConfig(portOfListener(l2), true))
	lp.Reload()
	waitUntil(t, "the reload's pass to fail", func() (bool, string) {
		st, _ := lp.Status(ctx)
		return strings.Contains(st.Reconcile.Error, "10.0.0.200:81"), st.Reconcile.Error
	})
	k.setConns(80, "127.0.0.2", 3) // busy: drained, it stays at weight 0
	req := control.DrainRequest{Address: netip.MustParseAddr("127.0.0.2")}
	if _, err := lp.Drain(ctx, req); err != nil {
		t.Fatalf("drain with a failure elsewhere: %v (kernel weights %v)", err, k.weights(80))
	}
	if w, ok := k.weights(80)["127.0.0.2"]; !ok || w != 0 {
		t.Fatalf("after drain: kernel weights %v, want 127.0.0.2 at 0", k.weights(80))
	}
	if res, err := lp.Drain(ctx, req); err != nil || len(res.Targets) != 1 || res.Targets[0].Changed {
		t.Fatalf("the same drain again: %+v, %v; want it unchanged (applied already)", res, err)
	}
	if st, _ := lp.Status(ctx); st.Reconcile.Error == "" {
		t.Fatal("the passes succeed: the test proves nothing")
	}
	if _, err := lp.Enable(ctx, req); err != nil {
		t.Fatalf("enable with a failure elsewhere: %v (kernel weights %v)", err, k.weights(80))
	}
	if w := k.weights(80)["127.0.0.2"]; w != 2 {
		t.Fatalf("after enable: kernel weights %v, want 127.0.0.2 at 2", k.weights(80))
	}
	// Its own edit refused: the error, and the weight unchanged.
	k.setRefuse(func(op ipvs.Op) error {
		if op.Service.Port == 81 && (op.Kind == ipvs.OpNewService || op.Kind == ipvs.OpNewDestination) ||
			op.Kind == ipvs.OpUpdateDestination {
			return unix.EPERM
		}
		return nil
	})
	if _, err := lp.Drain(ctx, req); err == nil {
		t.Fatalf("drain whose edit the kernel refused succeeded (kernel weights %v)", k.weights(80))
	}
	if w := k.weights(80)["127.0.0.2"]; w != 2 {
		t.Fatalf("kernel weights %v after a refused drain, want 127.0.0.2 still at 2", k.weights(80))
	}
}
