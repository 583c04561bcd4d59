package metrics

import (
	"compress/gzip"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// Result label values.
const (
	resultSuccess = "success"
	resultError   = "error"
	resultFailure = "failure"
)

// maxScrapes bounds the scrapes served at once; more get 503.
const maxScrapes = 4

// durationBuckets spans a fast local check (1 ms) to a slow timeout (10 s).
var durationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Registry holds the daemon's metrics. Its methods are safe for
// concurrent use.
type Registry struct {
	mu                sync.Mutex // guards the families below
	checkDuration     *histogramVec
	checksSkipped     *vec
	transitions       *vec
	reconcileDuration *histogramVec
	reconciles        *vec
	driftRepairs      *vec
	netlinkErrors     *vec
	reloads           *vec
	lastReload        *vec
	lastReloadTime    *vec
	announced         *vec

	realServers *realServerCollector
	process     processCollector
	scrapes     chan struct{} // one token per scrape in flight
}

// New returns a Registry with every metric registered (counters with a
// fixed set of results start at 0).
func New() *Registry {
	r := &Registry{
		checkDuration: newHistogramVec("lvsrs_health_check_duration_seconds",
			"Duration of health checks, by check type and result.", durationBuckets, "type", "result"),
		checksSkipped: newVec("lvsrs_health_check_skipped_total",
			"Scheduled health checks that did not run or said nothing of the real server, by check type and reason.", typeCounter, "type", "reason"),
		transitions: newVec("lvsrs_health_check_transitions_total",
			"Real server state changes, by previous and new state.", typeCounter, "from", "to"),
		reconcileDuration: newHistogramVec("lvsrs_reconcile_duration_seconds",
			"Duration of reconcile passes (read the kernel, plan, apply).", durationBuckets),
		reconciles: newVec("lvsrs_reconcile_total",
			"Reconcile passes, by result (success or error).", typeCounter, "result"),
		driftRepairs: newVec("lvsrs_drift_repairs_total",
			"Changes made by hand that the daemon repaired, by kind of object.", typeCounter, "object"),
		netlinkErrors: newVec("lvsrs_netlink_errors_total",
			"Failed netlink operations, by operation and errno.", typeCounter, "op", "errno"),
		reloads: newVec("lvsrs_config_reload_total",
			"Configuration loads and reloads, by result (success or failure).", typeCounter, "result"),
		lastReload: newVec("lvsrs_config_last_reload_success",
			"Whether the last configuration load or reload was accepted (1) or rejected (0).", typeGauge),
		lastReloadTime: newVec("lvsrs_config_last_reload_success_timestamp_seconds",
			"When a configuration was last accepted, in seconds since the epoch.", typeGauge),
		announced: newVec("lvsrs_vip_announced",
			"Whether this director announces the VIP (its route in the announce table), 1, or withdraws it, 0, as of the last reconcile pass that succeeded.",
			typeGauge, "vip"),
		realServers: newRealServerCollector(),
		process:     newProcessCollector(),
		scrapes:     make(chan struct{}, maxScrapes),
	}
	// Metrics without labels exist from the start, as do the counters
	// with a fixed set of results.
	r.reconcileDuration.at()
	r.lastReload.at()
	r.lastReloadTime.at()
	r.reconciles.at(resultSuccess)
	r.reconciles.at(resultError)
	r.reloads.at(resultSuccess)
	r.reloads.at(resultFailure)
	return r
}

// WriteText returns every metric in the text exposition format, families
// in name order.
func (r *Registry) WriteText() string {
	var b strings.Builder
	writeGo(&b)
	r.mu.Lock()
	fams := map[string]func(*strings.Builder){
		r.checkDuration.name:     r.checkDuration.write,
		r.checksSkipped.name:     r.checksSkipped.write,
		r.transitions.name:       r.transitions.write,
		r.reconcileDuration.name: r.reconcileDuration.write,
		r.reconciles.name:        r.reconciles.write,
		r.driftRepairs.name:      r.driftRepairs.write,
		r.netlinkErrors.name:     r.netlinkErrors.write,
		r.reloads.name:           r.reloads.write,
		r.lastReload.name:        r.lastReload.write,
		r.lastReloadTime.name:    r.lastReloadTime.write,
		r.announced.name:         r.announced.write,
		realServerPrefix:         r.realServers.write,
	}
	for _, name := range sortedKeys(fams) {
		fams[name](&b)
	}
	r.mu.Unlock()
	r.process.write(&b)
	return b.String()
}

// Handler returns the /metrics handler for this registry: the text
// format, gzip-compressed when the scraper accepts it, at most
// maxScrapes at once.
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select {
		case r.scrapes <- struct{}{}:
			defer func() { <-r.scrapes }()
		default:
			http.Error(w, "too many scrapes in flight", http.StatusServiceUnavailable)
			return
		}
		text := r.WriteText()
		w.Header().Set("Content-Type", contentType)
		if !acceptsGzip(req) {
			w.Write([]byte(text))
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		gz := gzip.NewWriter(w)
		gz.Write([]byte(text))
		gz.Close()
	})
}

// acceptsGzip reports whether the request's Accept-Encoding lists gzip.
func acceptsGzip(req *http.Request) bool {
	for _, v := range req.Header.Values("Accept-Encoding") {
		for _, part := range strings.Split(v, ",") {
			enc, _, _ := strings.Cut(strings.TrimSpace(part), ";")
			if strings.EqualFold(enc, "gzip") {
				return true
			}
		}
	}
	return false
}

// ObserveCheck records one health check of type checkType ("tcp", "http",
// ...) that ended with result ("pass" or "fail") after d.
func (r *Registry) ObserveCheck(checkType, result string, d time.Duration) {
	r.mu.Lock()
	r.checkDuration.observe(d.Seconds(), checkType, result)
	r.mu.Unlock()
}

// CheckSkipped counts one scheduled health check of type checkType that
// gave no result, for reason: "late" (it could not start within its
// timeout after it was due: every worker busy), "overlap" (its previous
// run was still queued or running), "local" (it failed on the director
// itself: no source address, descriptor, buffer or process to be had).
func (r *Registry) CheckSkipped(checkType, reason string) {
	r.mu.Lock()
	r.checksSkipped.at(checkType, reason).v++
	r.mu.Unlock()
}

// Transition counts a real server changing state (the states of
// lvsrs_real_server_state).
func (r *Registry) Transition(from, to string) {
	r.mu.Lock()
	r.transitions.at(from, to).v++
	r.mu.Unlock()
}

// Reconciled records a reconcile pass that took d and ended with err.
func (r *Registry) Reconciled(d time.Duration, err error) {
	result := resultSuccess
	if err != nil {
		result = resultError
	}
	r.mu.Lock()
	r.reconcileDuration.observe(d.Seconds())
	r.reconciles.at(result).v++
	r.mu.Unlock()
}

// DriftRepaired counts one repaired object ("vip", "service",
// "real_server", "weight", ...).
func (r *Registry) DriftRepaired(object string) {
	r.mu.Lock()
	r.driftRepairs.at(object).v++
	r.mu.Unlock()
}

// NetlinkError counts a failed netlink operation op ("add_service", ...).
// The errno label is the name of the syscall.Errno found in err's chain
// ("ENOENT"), or "other".
func (r *Registry) NetlinkError(op string, err error) {
	errno := errnoName(err)
	r.mu.Lock()
	r.netlinkErrors.at(op, errno).v++
	r.mu.Unlock()
}

// NetlinkErrors counts each IPVS request that failed in err (a pass's
// error, whose failures may be joined or wrapped): every *ipvs.Error in
// its tree, under its operation ("add service" as add_service, "list
// destinations of" as list_destinations). Nothing for a nil err.
func (r *Registry) NetlinkErrors(err error) {
	switch e := err.(type) {
	case *ipvs.Error:
		r.NetlinkError(opLabel(e.Op), e.Err)
	case interface{ Unwrap() []error }:
		for _, err := range e.Unwrap() {
			r.NetlinkErrors(err)
		}
	case interface{ Unwrap() error }:
		r.NetlinkErrors(e.Unwrap())
	}
}

// opLabel renders an ipvs.Error's operation as the op label.
func opLabel(op string) string {
	return strings.ReplaceAll(strings.TrimSuffix(op, " of"), " ", "_")
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
	r.mu.Lock()
	defer r.mu.Unlock()
	if !ok {
		r.reloads.at(resultFailure).v++
		r.lastReload.at().v = 0
		return
	}
	r.reloads.at(resultSuccess).v++
	r.lastReload.at().v = 1
	r.lastReloadTime.at().v = float64(time.Now().UnixNano()) / 1e9
}

// SetAnnounced replaces lvsrs_vip_announced: a series for each VIP of
// vips, 1 when it maps to true (announced), 0 when to false (withdrawn).
// None for a director that announces nothing.
func (r *Registry) SetAnnounced(vips map[netip.Addr]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.announced.values)
	for v, on := range vips {
		x := 0.0
		if on {
			x = 1
		}
		r.announced.at(v.Unmap().String()).v = x
	}
}

// SetRealServers replaces the per-real-server snapshot: the next scrape
// shows exactly these real servers.
func (r *Registry) SetRealServers(rs []RealServerMetric) {
	r.realServers.set(rs)
}
