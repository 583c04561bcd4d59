package config

import (
	"fmt"
	"strings"
	"testing"
)

// TestProblemsPastTheCapKeepOrder checks which problems are kept past
// maxProblems now that the validator checks each service as soon as the
// decoder has read it: the decoder's problems (here an unknown key in
// every service) still come first, and the validator's (a bad weight in
// every service) fill what is left, from the first service on.
func TestProblemsPastTheCapKeepOrder(t *testing.T) {
	const n = 700
	var b strings.Builder
	b.WriteString("virtual_servers:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {vip: 10.0.0.1, port: %d, colr: 1, real_servers: [{address: 10.0.1.1, weight: -1}]}\n", 1000+i)
	}
	_, err := Parse("f.yaml", []byte(b.String()))
	lines := problemLines(t, err)
	unknown, weight, lastWeight := 0, 0, -1
	for _, l := range lines {
		switch {
		case strings.Contains(l, ": unknown key"):
			unknown++
		case strings.Contains(l, ".weight: -1 is outside 0..65535"):
			weight++
			fmt.Sscanf(l, "f.yaml:%d:", &lastWeight)
		}
	}
	if unknown != n || weight != maxProblems-n {
		t.Errorf("%d unknown keys and %d bad weights kept; want %d and %d", unknown, weight, n, maxProblems-n)
	}
	if want := maxProblems - n + 1; lastWeight != want {
		t.Errorf("the last bad weight kept is on line %d; want %d (the first services')", lastWeight, want)
	}
	if want := fmt.Sprintf("f.yaml: %d more problems not shown", 2*n-maxProblems); lines[len(lines)-1] != want {
		t.Errorf("last line %q; want %q", lines[len(lines)-1], want)
	}
}

// TestDirectorOutlivesServices checks that the director's values, read
// before the services but checked after them, survive the reuse of the
// services' raw values' memory from one service to the next.
func TestDirectorOutlivesServices(t *testing.T) {
	doc := "director:\n  interface: eth0\n  reconcile_interval: 7s\n  metrics: 127.0.0.1:9100\n  sync: {state: master, interface: eth1, syncid: 3}\n" +
		"virtual_servers:\n"
	for i := range 600 {
		doc += fmt.Sprintf("  - {vip: 10.0.0.1, port: %d, scheduler: rr, real_servers: [{address: 10.0.1.1, port: %d}]}\n", 80+i, 80+i)
	}
	cfg, err := Parse("f.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Director
	if d.ReconcileInterval.String() != "7s" || d.Metrics.String() != "127.0.0.1:9100" || d.Sync == nil || d.Sync.SyncID != 3 || d.Sync.Interface != "eth1" {
		t.Errorf("director read as %+v", d)
	}
	if _, err := Parse("f.yaml", []byte(strings.Replace(doc, "7s", "7", 1))); err == nil || !strings.Contains(err.Error(), "f.yaml:3:23: director.reconcile_interval: \"7\" is not a duration") {
		t.Errorf("err = %v", err)
	}
}
