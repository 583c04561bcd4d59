package control

import (
	"net/netip"
	"time"
)

// Status is the daemon's summary and one row per real server, as the
// Handler reports it and `lvs-rs status` shows it.
type Status struct {
	// PID is the daemon's process id.
	PID int `json:"pid"`
	// Started is when the daemon started.
	Started time.Time `json:"started"`
	// Config is the configuration file and the fate of its last load.
	Config ConfigStatus `json:"config"`
	// Reconcile describes the last pass of the reconcile loop.
	Reconcile ReconcileStatus `json:"reconcile"`
	// DriftRepairs counts the changes made by hand that the daemon undid.
	DriftRepairs uint64 `json:"drift_repairs"`
	// Metrics is the Prometheus endpoint (director.metrics); nil when
	// the file sets none.
	Metrics *MetricsStatus `json:"metrics,omitempty"`
	// RealServers has one row per (service, real server).
	RealServers []RealServer `json:"real_servers"`
}

// ConfigStatus is the configuration file and whether the last (re)load
// was accepted. A rejected reload leaves the daemon running on the last
// accepted file.
type ConfigStatus struct {
	// File is the configuration file's path.
	File string `json:"file"`
	// Accepted is false when the last load or reload was rejected.
	Accepted bool `json:"accepted"`
	// Loaded is when the running configuration was accepted.
	Loaded time.Time `json:"loaded"`
	// Rejection is the error of the last rejected reload,
	// FILE:LINE:COLUMN: field: problem; empty when Accepted.
	Rejection string `json:"rejection,omitempty"`
	// Rejected is when that reload was rejected; zero when Accepted.
	Rejected time.Time `json:"rejected,omitzero"`
}

// ReconcileStatus describes the last pass of the reconcile loop.
type ReconcileStatus struct {
	// Last is when the last pass ended; zero before the first.
	Last time.Time `json:"last,omitzero"`
	// Duration is how long the last pass took.
	Duration time.Duration `json:"duration_ns"`
	// Error is the last pass's error; empty when it succeeded. A pass
	// that fails on one object still makes every change that does not
	// depend on it.
	Error string `json:"error,omitempty"`
	// Warnings are what the passes leave undone on purpose, one line
	// each: a service of the file that another tool created, left alone
	// ("tcp 10.0.0.101:81: exists and was not created by lvs-rs: ...").
	Warnings []string `json:"warnings,omitempty"`
}

// MetricsStatus is the state of the daemon's metrics endpoint: listening,
// or not (yet), retried with a growing delay (up to 30 s) while the
// daemon runs, as when its address is not up yet.
type MetricsStatus struct {
	// Address is the endpoint's ADDRESS:PORT.
	Address string `json:"address"`
	// Listening is true while the endpoint serves.
	Listening bool `json:"listening"`
	// Error is the last failure to listen or serve; empty while
	// Listening.
	Error string `json:"error,omitempty"`
	// Since is when the endpoint began listening, or first failed since
	// it last listened.
	Since time.Time `json:"since,omitzero"`
}

// State is a real server's health state as status shows it.
type State string

// The states a real server can be in.
const (
	// StateUp: checks pass; the server has its (effective) weight.
	StateUp State = "up"
	// StateDown: checks fail; no new connections.
	StateDown State = "down"
	// StateDraining: removed from the file; weight 0 until idle or
	// drain_timeout, then deleted.
	StateDraining State = "draining"
	// StateDrained: drained by hand (`lvs-rs drain`) until `lvs-rs enable`.
	StateDrained State = "drained"
	// StateUnchecked: the service has no check; weight as written.
	StateUnchecked State = "unchecked"
	// StateSorry: the service's sorry server, in service while none of
	// its real servers is; not a real server that is up.
	StateSorry State = "sorry"
)

// States lists every State, in the order status documents them.
var States = []State{StateUp, StateDown, StateDraining, StateDrained, StateUnchecked, StateSorry}

// Valid reports whether s is one of States.
func (s State) Valid() bool {
	for _, v := range States {
		if s == v {
			return true
		}
	}
	return false
}

// Result is the outcome of a real server's last health check.
type Result string

// Check results; ResultNone before the first check (or without checks).
const (
	ResultNone Result = ""
	ResultPass Result = "pass"
	ResultFail Result = "fail"
)

// RealServer is one real server of one service.
type RealServer struct {
	// Service is the virtual service the real server belongs to.
	Service Service `json:"service"`
	// Address and Port are the real server's (Port 0 for a fwmark
	// service's real server that keeps the client's port).
	Address netip.Addr `json:"address"`
	Port    uint16     `json:"port"`
	// ConfiguredWeight is the weight in the file; EffectiveWeight the one
	// in the kernel (0 while down or draining, ramping during slow_start).
	ConfiguredWeight int `json:"configured_weight"`
	EffectiveWeight  int `json:"effective_weight"`
	// State is the health state.
	State State `json:"state"`
	// LastResult and Reason are the last check's outcome and why
	// ("connect: connection refused", "status 503", ...).
	LastResult Result `json:"last_result,omitempty"`
	Reason     string `json:"reason,omitempty"`
	// Consecutive counts the last checks in a row with LastResult.
	Consecutive int `json:"consecutive"`
	// Since is when the server entered State.
	Since time.Time `json:"since,omitzero"`
	// CheckDuration is how long the last check took.
	CheckDuration time.Duration `json:"check_duration_ns"`
}

// DrainRequest names the real server to drain or enable: an address, in
// one service (Service set) or in every service (Service zero), which for
// a drain includes the services a later reload adds (see ApplyDrain).
type DrainRequest struct {
	Address netip.Addr `json:"address"`
	Service Service    `json:"service,omitzero"`
}

// Matches reports whether the request names the real server addr of svc.
func (r DrainRequest) Matches(svc Service, addr netip.Addr) bool {
	return addr == r.Address && (r.Service.IsZero() || r.Service == svc)
}

// DrainResult lists the real servers a Drain or Enable applied to.
type DrainResult struct {
	Targets []DrainTarget `json:"targets"`
}

// DrainTarget is one real server a Drain or Enable applied to.
type DrainTarget struct {
	Service Service    `json:"service"`
	Address netip.Addr `json:"address"`
	// Changed is false when the server already was drained (Drain) or
	// not drained (Enable).
	Changed bool `json:"changed"`
}
