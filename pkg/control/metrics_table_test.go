package control

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestWriteTableMetrics: the metrics endpoint's line, when the file sets
// one: listening, starting, or failing and retried.
func TestWriteTableMetrics(t *testing.T) {
	now := time.Date(2026, 1, 2, 4, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		m    *MetricsStatus
		want string
	}{
		{nil, ""},
		{&MetricsStatus{Address: "10.0.0.1:9597", Listening: true, Since: now.Add(-time.Hour)},
			"metrics: 10.0.0.1:9597, listening since 2026-01-02T03:04:05Z (1h0m0s ago)\n"},
		{&MetricsStatus{Address: "10.0.0.1:9597"}, "metrics: 10.0.0.1:9597, starting\n"},
		{&MetricsStatus{Address: "10.0.0.1:9597", Error: "listen tcp 10.0.0.1:9597: bind: cannot assign requested address", Since: now.Add(-time.Minute)},
			"metrics: 10.0.0.1:9597, NOT listening since 2026-01-02T04:03:05Z (1m0s ago), retrying: listen tcp 10.0.0.1:9597: bind: cannot assign requested address\n"},
	} {
		st := Status{PID: 1, Config: ConfigStatus{File: "f.yaml", Accepted: true, Loaded: now}, Metrics: c.m}
		var buf bytes.Buffer
		if err := st.WriteTable(&buf, now); err != nil {
			t.Fatal(err)
		}
		_, rest, _ := strings.Cut(buf.String(), "drift repairs: 0\n")
		got, _, _ := strings.Cut(rest, "SERVICE")
		if got != c.want {
			t.Errorf("metrics %+v: line %q, want %q", c.m, got, c.want)
		}
	}
}
