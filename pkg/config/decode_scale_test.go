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

// TestAliasedMappingsOnce checks the decoder's path for documents with
// aliases (mappings memoized): a duplicate key in an anchored real server
// used twice is one problem, at the anchor; and an anchored mapping that
// merges a long list is expanded once however often it is used, so that
// the work bound (maxWork) does not count the list again at every use.
// (TestParseBad covers a merge of a mapping into itself, which only an
// alias can write.)
func TestAliasedMappingsOnce(t *testing.T) {
	doc := "virtual_servers:\n  - vip: 10.0.0.1\n    port: 80\n    real_servers:\n      - &rs {address: 10.0.0.2, weight: 1, weight: 2}\n  - vip: 10.0.0.3\n    port: 80\n    real_servers: [*rs]\n"
	_, err := Parse("f.yaml", []byte(doc))
	want := []string{`f.yaml:5:44: virtual_servers[0].real_servers[0].weight: duplicate key (first at line 5)`}
	if diff := cmpDiff(want, problemLines(t, err)); diff != "" {
		t.Fatalf("problems (-want +got):\n%s", diff)
	}

	// Read at every use, *rs would cost merges*uses > maxWork.
	const merges, uses = 1000, 3000
	var b strings.Builder
	b.WriteString("x-a: &a {weight: 3}\nx-rs: &rs {address: 10.0.0.2, <<: [*a")
	b.WriteString(strings.Repeat(", *a", merges-1))
	b.WriteString("]}\nvirtual_servers:\n")
	for i := range uses {
		fmt.Fprintf(&b, "  - {vip: 10.0.0.1, port: %d, real_servers: [*rs]}\n", 1+i)
	}
	if merges*uses <= maxWork {
		t.Fatal("the document is too small to tell")
	}
	cfg, err := Parse("f.yaml", []byte(b.String()))
	if err != nil {
		t.Fatalf("%.500v", err)
	}
	if n := len(cfg.VirtualServers); n != uses || cfg.VirtualServers[n-1].RealServers[0].Weight != 3 {
		t.Fatalf("%d services read; want %d, each with a real server of weight 3", n, uses)
	}
}

// TestIntegerSpellings checks that integers read the way yaml.v3 resolves
// them, on both sides of the decoder's plain-decimal shortcut: 19 digits
// or more are left to yaml.v3; a leading zero, which yaml.v3 reads as
// octal, is refused.
func TestIntegerSpellings(t *testing.T) {
	for _, tc := range []struct {
		text string
		want int
	}{
		{"80", 80}, {"0o120", 80}, {"0x50", 80}, {"8_0", 80}, {"+80", 80}, {"0", 0}, {"0o0", 0}, {"0x0", 0},
	} {
		doc := "virtual_servers: [{vip: 10.0.0.1, port: 80, real_servers: [{address: 10.0.0.2, weight: " + tc.text + "}]}]"
		c, err := Parse("f.yaml", []byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", tc.text, err)
		}
		if got := c.VirtualServers[0].RealServers[0].Weight; got != tc.want {
			t.Errorf("weight %s = %d, want %d", tc.text, got, tc.want)
		}
	}
	for _, tc := range []struct{ text, want string }{
		{"123456789012345678", "123456789012345678 is outside 0..65535"},
		{"1234567890123456789", "1234567890123456789 is outside 0..65535"},
		{"9223372036854775808", "9223372036854775808 is outside 0..65535"},
		{"99999999999999999999", "99999999999999999999 is outside 0..65535"},
		{"1e3", "must be an integer, got 1e3"},
		{"0120", "0120 has a leading zero, which YAML reads as octal (80); write 120, or 0o120 if octal was meant"},
		{"0000000000000000000120", "0000000000000000000120 has a leading zero, which YAML reads as octal (80); write 120, or 0o120 if octal was meant"},
		{"0_000_000_000_000_000_000_000_000_000_009", "0_000_000_000_000_000_000_000_000_000_009 has a leading zero; write 9"},
		{"0x", `must be an integer, got "0x"`},
		{"８０", `must be an integer, got "８０"`},
	} {
		doc := "virtual_servers: [{vip: 10.0.0.1, port: 80, real_servers: [{address: 10.0.0.2, weight: " + tc.text + "}]}]"
		_, err := Parse("f.yaml", []byte(doc))
		want := []string{"f.yaml:1:88: virtual_servers[0].real_servers[0].weight: " + tc.want}
		if diff := cmpDiff(want, problemLines(t, err)); diff != "" {
			t.Errorf("weight %s (-want +got):\n%s", tc.text, diff)
		}
	}
}
