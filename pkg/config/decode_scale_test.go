package config

import (
	"fmt"
	"strings"
	"testing"
)

// TestDuplicatesPastTheScan checks that duplicates are found both while
// the decoder and the validator look keys up by a scan and once they
// switch to a map (past indexFrom).
func TestDuplicatesPastTheScan(t *testing.T) {
	for _, n := range []int{3, indexFrom, indexFrom + 1, 3 * indexFrom} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var b strings.Builder
			for i := range n {
				fmt.Fprintf(&b, "x-k%d: 1\n", i)
			}
			fmt.Fprintf(&b, "x-k%d: 2\n", n-1)
			b.WriteString("virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    real_servers:\n")
			for i := range n {
				fmt.Fprintf(&b, "      - address: 10.0.1.%d\n", i+1)
			}
			fmt.Fprintf(&b, "      - address: 10.0.1.%d\n", n)
			_, err := Parse("f.yaml", []byte(b.String()))
			keyLine, rsLine := n+1, 2*n+6
			want := []string{
				fmt.Sprintf(`f.yaml:%d:1: x-k%d: duplicate key (first at line %d)`, keyLine, n-1, keyLine-1),
				fmt.Sprintf(`f.yaml:%d:18: virtual_servers[0].real_servers[%d].address: duplicate real server 10.0.1.%d:80 (first at line %d)`, rsLine, n, n, rsLine-1),
			}
			if diff := cmpDiff(want, problemLines(t, err)); diff != "" {
				t.Fatalf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAliasedMappingsOnce checks that a document with aliases still reads
// each mapping once however often it is used: a duplicate key in an
// anchored real server used twice is one problem, and a merge of a
// mapping into itself is caught.
func TestAliasedMappingsOnce(t *testing.T) {
	doc := "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    real_servers:\n      - &rs {address: 10.0.0.2, weight: 1, weight: 2}\n  - vip: 10.0.0.3\n    port: 80\n    real_servers: [*rs]\n"
	_, err := Parse("f.yaml", []byte(doc))
	want := []string{`f.yaml:5:44: virtual_servers[0].real_servers[0].weight: duplicate key (first at line 5)`}
	if diff := cmpDiff(want, problemLines(t, err)); diff != "" {
		t.Fatalf("problems (-want +got):\n%s", diff)
	}
}
