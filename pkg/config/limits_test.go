package config

import (
	"fmt"
	"strings"
	"testing"
)

// aliasBomb returns a small document whose aliases describe n*n real
// servers, each with a problem.
func aliasBomb(n int) string {
	var b strings.Builder
	b.WriteString("x-r: &r {address: 10.0.0.2, weight: -1}\nx-l: &l [*r")
	b.WriteString(strings.Repeat(", *r", n-1))
	b.WriteString("]\nx-s: &s {vip: 10.0.0.1, port: 80, real_servers: *l}\nvirtual_servers: [*s")
	b.WriteString(strings.Repeat(", *s", n-1))
	b.WriteString("]\n")
	return b.String()
}

func TestParseAliasBomb(t *testing.T) {
	// The stop message below is the bound at work: reading stops at
	// maxItems instead of expanding 4,000,000 real servers.
	_, err := Parse("f.yaml", []byte(aliasBomb(2000)))
	lines := problemLines(t, err)
	if len(lines) > maxProblems+2 {
		t.Errorf("%d problems reported; want at most %d", len(lines), maxProblems+2)
	}
	found := false
	for _, l := range lines {
		found = found || strings.HasSuffix(l, ": more than 100000 virtual and real servers in all (counting each use of an alias); stopped reading here")
	}
	if !found {
		t.Errorf("no stop message in %d lines; last: %q", len(lines), lines[len(lines)-1])
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "f.yaml: ") || !strings.HasSuffix(last, "more problems not shown") {
		t.Errorf("last line %q; want the count of problems not shown", last)
	}
}

func TestParseMergeChain(t *testing.T) {
	// Each anchor merges the previous one and adds a key: the merged
	// mappings grow quadratically until the work bound stops reading.
	const n = 3000
	var b strings.Builder
	b.WriteString("x-0: &a0 {k0: 0}\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "x-%d: &a%d {<<: *a%d, k%d: 0}\n", i, i, i-1, i)
	}
	fmt.Fprintf(&b, "virtual_servers: [{<<: *a%d, vip: 10.0.0.1, port: 80}]\n", n-1)
	_, err := Parse("f.yaml", []byte(b.String()))
	lines := problemLines(t, err)
	const want = "virtual_servers[0]: the file expands to too much through aliases and merge keys (<<); stopped reading here"
	found := false
	for _, l := range lines {
		found = found || strings.HasSuffix(l, want)
	}
	if !found {
		t.Errorf("%q not among:\n%s", want, strings.Join(lines[:min(5, len(lines))], "\n"))
	}
}
