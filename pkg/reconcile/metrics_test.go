package reconcile

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/metrics"
)

// refusingAdds is memKernel refusing, while refuse is set, every service
// addition as the kernel does (an *ipvs.Error wrapping ENOENT: a missing
// scheduler module); the real servers of a service that is not there are
// not attempted.
type refusingAdds struct {
	*memKernel
	refuse atomic.Bool
}

func (r *refusingAdds) Apply(ctx context.Context, ops []ipvs.Op) []error {
	if !r.refuse.Load() {
		return r.memKernel.Apply(ctx, ops)
	}
	errs := make([]error, len(ops))
	for i, op := range ops {
		switch {
		case op.Kind == ipvs.OpNewService:
			errs[i] = &ipvs.Error{Op: op.Kind.String(), Object: op.Service.String(), Err: unix.ENOENT}
		case op.OnDestination() && !r.has(op.Service.Key()):
			errs[i] = ipvs.ErrNotAttempted
		default:
			errs[i] = r.memKernel.Apply(ctx, ops[i:i+1])[0]
		}
	}
	return errs
}

func (r *refusingAdds) has(k ipvs.ServiceKey) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.ContainsFunc(r.services, func(s ipvs.ServiceExtended) bool { return s.Key() == k })
}

// TestPassMetrics: a running loop's metrics count the IPVS requests its
// passes fail (lvsrs_netlink_errors_total, documented and never fed
// before) and say which VIPs the director announces (lvsrs_vip_announced):
// 10.0.0.100, served, 1; 10.0.0.101, whose only real server is down, 0.
func TestPassMetrics(t *testing.T) {
	closed := listen(t, "127.0.0.3:0")
	down := portOfListener(closed)
	closed.Close()
	text := fmt.Sprintf(`director:
  interface: eth0
  reconcile_interval: 1s
  announce: {table: 100}
virtual_servers:
  - vip: 10.0.0.100
    port: 80
    scheduler: wrr
    real_servers:
      - {address: 127.0.0.2, weight: 1}
  - vip: 10.0.0.101
    port: 80
    scheduler: wrr
    check: {type: tcp, interval: 100ms, timeout: 50ms, rise: 1, fall: 1}
    real_servers:
      - {address: 127.0.0.3, weight: 1, check: {port: %d}}
`, down)
	dir := t.TempDir()
	file, stateDir := filepath.Join(dir, "lvs-rs.yaml"), filepath.Join(dir, "state")
	writeConfig(t, file, text)
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	k := &refusingAdds{memKernel: newMemKernel()}
	reg := metrics.New()
	lp, err := New(Options{Config: cfg, File: file, StateDir: stateDir,
		Director: director.Options{StateDir: stateDir, Kernel: k}, IPVS: k, Metrics: reg,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	_, _, stop := goRun(t, lp)
	defer stop()
	// has waits for lines among the metrics; it shows the lvsrs_vip_,
	// lvsrs_netlink_ and lvsrs_reconcile_total lines it saw.
	has := func(lines ...string) func() (bool, string) {
		return func() (bool, string) {
			text := reg.WriteText()
			var seen []string
			for _, l := range strings.Split(text, "\n") {
				for _, p := range []string{"lvsrs_vip_", "lvsrs_netlink_", "lvsrs_reconcile_total"} {
					if strings.HasPrefix(l, p) {
						seen = append(seen, l)
					}
				}
			}
			for _, l := range lines {
				if !slices.Contains(seen, l) {
					return false, strings.Join(seen, "; ")
				}
			}
			return true, ""
		}
	}
	waitUntil(t, "the announced VIPs", has(`lvsrs_vip_announced{vip="10.0.0.100"} 1`, `lvsrs_vip_announced{vip="10.0.0.101"} 0`))

	// A service deleted by hand whose addition the kernel now refuses.
	k.refuse.Store(true)
	k.mu.Lock()
	k.services = slices.DeleteFunc(k.services, func(s ipvs.ServiceExtended) bool { return s.Address.String() == "10.0.0.100" })
	k.mu.Unlock()
	lp.Kick()
	waitUntil(t, "the refused addition counted", func() (bool, string) {
		ok, seen := has(`lvsrs_reconcile_total{result="error"} 0`)()
		return !ok && strings.Contains(seen, `lvsrs_netlink_errors_total{errno="ENOENT",op="add_service"} `), seen
	})
}
