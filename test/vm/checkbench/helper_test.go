package checkbench

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/pkg/health"
)

// helperEnv marks the child process that runs lvs-rs's checker;
// targetsEnv tells it how many real servers.
const (
	helperEnv  = "LVSRS_CHECKBENCH_HELPER"
	targetsEnv = "LVSRS_CHECKBENCH_TARGETS"
	// profileEnv (passed into the VM) makes the checker write a CPU
	// profile of its whole run, printed base64 between PPROF-BEGIN and
	// PPROF-END lines.
	profileEnv = "LVSRS_TEST_CHECKBENCH_PROFILE"
)

// TestCheckerHelper is not a test: TestCheckBench runs this binary again
// with only this function, in the director namespace, as the lvs-rs
// contender. It checks the workload's real servers with pkg/health (tcp,
// 1 s interval, 1 s timeout, default pools) until SIGTERM. SIGUSR1 marks
// the start of the measurement window: the checker's own scheduling lag
// (Observation.Lag, due time to start) is counted from then and printed
// as one "checkbench-lag" line when it stops.
func TestCheckerHelper(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("the lvs-rs contender of TestCheckBench; runs only as its child process")
	}
	n, err := strconv.Atoi(os.Getenv(targetsEnv))
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", targetsEnv, os.Getenv(targetsEnv))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	obs := &lagObserver{}
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	go func() {
		select {
		case <-usr1:
			obs.reset()
		case <-ctx.Done():
		}
	}()
	if os.Getenv(profileEnv) != "" {
		var prof bytes.Buffer
		if err := pprof.StartCPUProfile(&prof); err != nil {
			t.Fatal(err)
		}
		defer func() {
			pprof.StopCPUProfile()
			fmt.Printf("PPROF-BEGIN checker\n%s\nPPROF-END\n", base64.StdEncoding.EncodeToString(prof.Bytes()))
		}()
	}
	c := health.New(health.Options{Observer: obs})
	targets := make([]health.Target, 0, n)
	for i, rs := range realServers(n) {
		targets = append(targets, health.Target{
			ID: strconv.Itoa(i), Address: rs.Addr(), Port: rs.Port(),
			Spec: health.Spec{Type: health.TCP, Interval: time.Second, Timeout: time.Second},
		})
	}
	if err := c.Set(targets); err != nil {
		t.Fatal(err)
	}
	if err := c.Run(ctx); err != nil {
		t.Fatal(err)
	}
	p50, p99, runs := obs.percentiles()
	cn := c.Counters()
	fmt.Printf("checkbench-lag: own scheduling lag (due to start) p50 %s p99 %s over %d runs; totals: up %d down %d late %d overlap %d\n",
		ms(p50), ms(p99), runs, cn.Up, cn.Down, cn.Late, cn.Overlap)
}

// lagObserver keeps the Lag of every run since its last reset.
type lagObserver struct {
	mu   sync.Mutex
	on   bool
	lags []time.Duration
}

// Observe implements health.Observer.
func (o *lagObserver) Observe(ob health.Observation) {
	o.mu.Lock()
	if o.on {
		o.lags = append(o.lags, ob.Lag)
	}
	o.mu.Unlock()
}

// reset starts counting afresh.
func (o *lagObserver) reset() {
	o.mu.Lock()
	o.on, o.lags = true, o.lags[:0]
	o.mu.Unlock()
}

// percentiles returns p50, p99 and the number of runs observed.
func (o *lagObserver) percentiles() (p50, p99 time.Duration, n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	ls := slices.Clone(o.lags)
	return percentile(ls, 0.5), percentile(ls, 0.99), len(ls)
}
