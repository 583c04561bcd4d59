package reconcile

import (
	"context"
	"net"
	"time"

	"github.com/lvs-rs/lvs-rs/pkg/control"
	"github.com/lvs-rs/lvs-rs/pkg/metrics"
)

// The delays between attempts to listen on the metrics endpoint: the
// first retry after metricsRetryMin, doubling up to metricsRetryMax.
const (
	metricsRetryMin = 500 * time.Millisecond
	metricsRetryMax = 30 * time.Second
)

// serveMetrics serves the metrics endpoint on addr until ctx is done. A
// failure to listen (its address not up yet, the port taken) or to serve
// is logged once and retried with a growing delay, however long it
// lasts, and the endpoint's state is kept for status (see endpoint); the
// daemon runs on meanwhile.
func (l *Loop) serveMetrics(ctx context.Context, addr string) {
	retry := time.NewTimer(0)
	defer retry.Stop()
	<-retry.C
	wait := metricsRetryMin
	failing := ""
	for {
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp", addr)
		if err == nil {
			l.setEndpoint(control.MetricsStatus{Address: addr, Listening: true, Since: time.Now()})
			if failing != "" {
				l.log.Info("metrics endpoint listening", "address", addr)
			}
			failing, wait = "", metricsRetryMin
			err = metrics.ServeListener(ctx, ln, l.opts.Metrics)
		}
		if ctx.Err() != nil {
			return
		}
		switch {
		case failing == "":
			l.setEndpoint(control.MetricsStatus{Address: addr, Error: err.Error(), Since: time.Now()})
			l.log.Error("metrics endpoint not listening; retrying", "address", addr, "error", err)
		case failing != err.Error():
			l.setEndpoint(control.MetricsStatus{Address: addr, Error: err.Error(), Since: l.endpoint().Since})
			l.log.Warn("metrics endpoint still not listening; retrying", "address", addr, "error", err)
		}
		failing = err.Error()
		retry.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-retry.C:
		}
		wait = min(2*wait, metricsRetryMax)
	}
}

// setEndpoint records the metrics endpoint's state.
func (l *Loop) setEndpoint(m control.MetricsStatus) {
	l.mu.Lock()
	l.metrics = &m
	l.mu.Unlock()
}

// endpoint is the metrics endpoint's state (zero without one).
func (l *Loop) endpoint() control.MetricsStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.metrics == nil {
		return control.MetricsStatus{}
	}
	return *l.metrics
}
