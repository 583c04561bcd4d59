package metrics

import (
	"errors"
	"net/http"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sys/unix"
)

// Result label values.
const (
	resultSuccess = "success"
	resultError   = "error"
	resultFailure = "failure"
)

// durationBuckets spans a fast local check (1 ms) to a slow timeout (10 s).
var durationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Registry holds the daemon's metrics. Its methods are safe for
// concurrent use.
type Registry struct {
	reg *prometheus.Registry

	checkDuration     *prometheus.HistogramVec
	transitions       *prometheus.CounterVec
	reconcileDuration prometheus.Histogram
	reconciles        *prometheus.CounterVec
	driftRepairs      *prometheus.CounterVec
	netlinkErrors     *prometheus.CounterVec
	reloads           *prometheus.CounterVec
	lastReload        prometheus.Gauge
	lastReloadTime    prometheus.Gauge
	realServers       *realServerCollector
}

// New returns a Registry with every metric registered (counters with a
// fixed set of results start at 0).
func New() *Registry {
	r := &Registry{
		reg: prometheus.NewRegistry(),
		checkDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "lvsrs_health_check_duration_seconds", Buckets: durationBuckets,
			Help: "Duration of health checks, by check type and result.",
		}, []string{"type", "result"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lvsrs_health_check_transitions_total",
			Help: "Real server state changes, by previous and new state.",
		}, []string{"from", "to"}),
		reconcileDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "lvsrs_reconcile_duration_seconds", Buckets: durationBuckets,
			Help: "Duration of reconcile passes (read the kernel, plan, apply).",
		}),
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lvsrs_reconcile_total",
			Help: "Reconcile passes, by result (success or error).",
		}, []string{"result"}),
		driftRepairs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lvsrs_drift_repairs_total",
			Help: "Changes made by hand that the daemon repaired, by kind of object.",
		}, []string{"object"}),
		netlinkErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lvsrs_netlink_errors_total",
			Help: "Failed netlink operations, by operation and errno.",
		}, []string{"op", "errno"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lvsrs_config_reload_total",
			Help: "Configuration loads and reloads, by result (success or failure).",
		}, []string{"result"}),
		lastReload: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "lvsrs_config_last_reload_success",
			Help: "Whether the last configuration load or reload was accepted (1) or rejected (0).",
		}),
		lastReloadTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "lvsrs_config_last_reload_success_timestamp_seconds",
			Help: "When a configuration was last accepted, in seconds since the epoch.",
		}),
		realServers: newRealServerCollector(),
	}
	r.reconciles.WithLabelValues(resultSuccess)
	r.reconciles.WithLabelValues(resultError)
	r.reloads.WithLabelValues(resultSuccess)
	r.reloads.WithLabelValues(resultFailure)
	r.reg.MustRegister(
		r.checkDuration, r.transitions, r.reconcileDuration, r.reconciles,
		r.driftRepairs, r.netlinkErrors, r.reloads, r.lastReload, r.lastReloadTime,
		r.realServers,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return r
}

// Gatherer returns the registry to gather from (for tests and handlers).
func (r *Registry) Gatherer() prometheus.Gatherer { return r.reg }

// Handler returns the /metrics handler for this registry.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	})
}

// ObserveCheck records one health check of type checkType ("tcp", "http",
// ...) that ended with result ("pass" or "fail") after d.
func (r *Registry) ObserveCheck(checkType, result string, d time.Duration) {
	r.checkDuration.WithLabelValues(checkType, result).Observe(d.Seconds())
}

// Transition counts a real server changing state (the states of
// lvsrs_real_server_state).
func (r *Registry) Transition(from, to string) {
	r.transitions.WithLabelValues(from, to).Inc()
}

// Reconciled records a reconcile pass that took d and ended with err.
func (r *Registry) Reconciled(d time.Duration, err error) {
	r.reconcileDuration.Observe(d.Seconds())
	result := resultSuccess
	if err != nil {
		result = resultError
	}
	r.reconciles.WithLabelValues(result).Inc()
}

// DriftRepaired counts one repaired object ("vip", "service",
// "real_server", "weight", ...).
func (r *Registry) DriftRepaired(object string) {
	r.driftRepairs.WithLabelValues(object).Inc()
}

// NetlinkError counts a failed netlink operation op ("add_service", ...).
// The errno label is the name of the syscall.Errno found in err's chain
// ("ENOENT"), or "other".
func (r *Registry) NetlinkError(op string, err error) {
	r.netlinkErrors.WithLabelValues(op, errnoName(err)).Inc()
}

func errnoName(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if name := unix.ErrnoName(errno); name != "" {
			return name
		}
	}
	return "other"
}

// Reloaded records a configuration load or reload: accepted (ok) or
// rejected.
func (r *Registry) Reloaded(ok bool) {
	if !ok {
		r.reloads.WithLabelValues(resultFailure).Inc()
		r.lastReload.Set(0)
		return
	}
	r.reloads.WithLabelValues(resultSuccess).Inc()
	r.lastReload.Set(1)
	r.lastReloadTime.SetToCurrentTime()
}

// SetRealServers replaces the per-real-server snapshot: the next scrape
// shows exactly these real servers.
func (r *Registry) SetRealServers(rs []RealServerMetric) {
	r.realServers.set(rs)
}
