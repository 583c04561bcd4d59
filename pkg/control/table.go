package control

import (
	"fmt"
	"io"
	"net/netip"
	"text/tabwriter"
	"time"
)

// WriteTable renders the status for people: the daemon, its configuration
// and last reconcile, then one line per real server. Ages are relative to
// now.
func (s Status) WriteTable(w io.Writer, now time.Time) error {
	fmt.Fprintf(w, "daemon: pid %d, running since %s\n", s.PID, stamp(s.Started, now))
	fmt.Fprintln(w, s.Config.line(now))
	fmt.Fprintln(w, s.Reconcile.line(now))
	fmt.Fprintf(w, "drift repairs: %d\n", s.DriftRepairs)
	if s.Metrics != nil {
		fmt.Fprintln(w, s.Metrics.line(now))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tREAL SERVER\tWEIGHT\tSTATE\tSINCE\tLAST CHECK")
	for _, r := range s.RealServers {
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\t%s\n", r.Service, r.endpoint(),
			r.EffectiveWeight, r.ConfiguredWeight, r.State, age(r.Since, now), r.lastCheck())
	}
	return tw.Flush()
}

func (c ConfigStatus) line(now time.Time) string {
	if c.Accepted {
		return fmt.Sprintf("config: %s, accepted %s", c.File, stamp(c.Loaded, now))
	}
	return fmt.Sprintf("config: %s, reload REJECTED %s: %s\n  still running the file accepted %s",
		c.File, stamp(c.Rejected, now), c.Rejection, stamp(c.Loaded, now))
}

func (m MetricsStatus) line(now time.Time) string {
	switch {
	case m.Listening:
		return fmt.Sprintf("metrics: %s, listening since %s", m.Address, stamp(m.Since, now))
	case m.Error == "":
		return fmt.Sprintf("metrics: %s, starting", m.Address)
	}
	return fmt.Sprintf("metrics: %s, NOT listening since %s, retrying: %s", m.Address, stamp(m.Since, now), m.Error)
}

func (r ReconcileStatus) line(now time.Time) string {
	var s string
	switch {
	case r.Last.IsZero():
		return "reconcile: not yet"
	case r.Error != "":
		s = fmt.Sprintf("reconcile: %s, took %s, FAILED: %s", stamp(r.Last, now), r.Duration, r.Error)
	default:
		s = fmt.Sprintf("reconcile: %s, took %s, ok", stamp(r.Last, now), r.Duration)
	}
	for _, w := range r.Warnings {
		s += "\n  warning: " + w
	}
	return s
}

// endpoint is ADDRESS:PORT, or ADDRESS alone when the port is 0.
func (r RealServer) endpoint() string {
	if r.Port == 0 {
		return r.Address.String()
	}
	return netip.AddrPortFrom(r.Address, r.Port).String()
}

// lastCheck is "pass x7 (1.5ms)" or "fail x3 (1s): reason".
func (r RealServer) lastCheck() string {
	if r.LastResult == ResultNone {
		return "-"
	}
	out := fmt.Sprintf("%s x%d (%s)", r.LastResult, r.Consecutive, r.CheckDuration)
	if r.Reason != "" {
		out += ": " + r.Reason
	}
	return out
}

// stamp is "2026-01-02T03:04:05Z (5m0s ago)", or "-" for a zero time.
func stamp(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339) + " (" + age(t, now) + ")"
}

// age is how long before now t was, to the second.
func age(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t).Round(time.Second)
	if d < 0 {
		d = 0
	}
	return d.String() + " ago"
}
