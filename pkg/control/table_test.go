package control

import (
	"bytes"
	"testing"
	"time"
)

func TestWriteTable(t *testing.T) {
	st := sampleStatus(t)
	now := st.Started.Add(time.Hour)
	var buf bytes.Buffer
	if err := st.WriteTable(&buf, now); err != nil {
		t.Fatal(err)
	}
	want := `daemon: pid 4242, running since 2026-01-02T03:04:05Z (1h0m0s ago)
config: /etc/lvs-rs/lvs-rs.yaml, reload REJECTED 2026-01-02T03:05:05Z (59m0s ago): /etc/lvs-rs/lvs-rs.yaml:4:10: virtual_servers[0].vip: "10.0.0.300" is not an IP address
  still running the file accepted 2026-01-02T03:04:05Z (1h0m0s ago)
reconcile: 2026-01-02T03:06:05Z (58m0s ago), took 3ms, ok
drift repairs: 2
SERVICE            REAL SERVER   WEIGHT  STATE  SINCE       LAST CHECK
tcp:10.0.0.100:80  10.0.0.11:80  3/3     up     1h0m0s ago  pass x7 (1.5ms)
fwmark:10          10.0.0.11     0/1     down   1h0m0s ago  fail x3 (0s): connect: connection refused
`
	if buf.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", buf.String(), want)
	}

	st = Status{PID: 1, Config: ConfigStatus{File: "f.yaml", Accepted: true, Loaded: now},
		Reconcile: ReconcileStatus{Last: now, Duration: time.Second, Error: "add service tcp:10.0.0.1:80: EINVAL"}}
	buf.Reset()
	st.WriteTable(&buf, now)
	want = `daemon: pid 1, running since -
config: f.yaml, accepted 2026-01-02T04:04:05Z (0s ago)
reconcile: 2026-01-02T04:04:05Z (0s ago), took 1s, FAILED: add service tcp:10.0.0.1:80: EINVAL
drift repairs: 0
SERVICE  REAL SERVER  WEIGHT  STATE  SINCE  LAST CHECK
`
	if buf.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", buf.String(), want)
	}

	// A service of the file another tool created, left alone: one
	// warning line under the reconcile line.
	st.Reconcile = ReconcileStatus{Last: now, Duration: time.Second,
		Warnings: []string{"tcp 10.0.0.101:81: exists and was not created by lvs-rs: left alone (delete it by hand, or drop it from the config)"}}
	buf.Reset()
	st.WriteTable(&buf, now)
	want = `daemon: pid 1, running since -
config: f.yaml, accepted 2026-01-02T04:04:05Z (0s ago)
reconcile: 2026-01-02T04:04:05Z (0s ago), took 1s, ok
  warning: tcp 10.0.0.101:81: exists and was not created by lvs-rs: left alone (delete it by hand, or drop it from the config)
drift repairs: 0
SERVICE  REAL SERVER  WEIGHT  STATE  SINCE  LAST CHECK
`
	if buf.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", buf.String(), want)
	}
}
