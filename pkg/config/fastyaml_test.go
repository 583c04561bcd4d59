package config

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// referenceYAML decodes data as Parse does without the fast path; ok is
// false when yaml.v3 refuses it or finds a second document.
func referenceYAML(data []byte) (doc *yaml.Node, ok bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	doc = new(yaml.Node)
	if err := dec.Decode(doc); err != nil {
		return doc, errors.Is(err, io.EOF)
	}
	var next yaml.Node
	return doc, errors.Is(dec.Decode(&next), io.EOF)
}

// treeDiff describes the first difference between node wi of want and
// node gi of got (and their descendants); "" when they are the same. An
// alias is compared by the position of the node it names.
func treeDiff(want, got *tree, wi, gi int32, path string) string {
	type fields struct {
		Kind         nodeKind
		Style        uint8
		Tag, Value   string
		Line, Column int32
		Kids         int
		AliasAt      [2]int32
	}
	f := func(t *tree, i int32) fields {
		n := t.nodes[i]
		x := fields{n.kind, n.style, t.tagOf(i), t.value(i), n.line, n.col, len(t.content(i)), [2]int32{}}
		if n.kind == aliasNode && n.off >= 0 {
			x.AliasAt = [2]int32{t.nodes[n.off].line, t.nodes[n.off].col}
		}
		return x
	}
	if f(want, wi) != f(got, gi) {
		return fmt.Sprintf("%s: %+v, want %+v", path, f(got, gi), f(want, wi))
	}
	wk, gk := want.content(wi), got.content(gi)
	for i := range wk {
		if d := treeDiff(want, got, wk[i], gk[i], fmt.Sprintf("%s[%d]", path, i)); d != "" {
			return d
		}
	}
	return ""
}

// yamlDiff describes the first difference between yaml.v3's node want
// and node gi of its conversion got (fromYAML), ignoring comments and
// anchor names; "" when they are the same.
func yamlDiff(want *yaml.Node, got *tree, gi int32, alias map[*yaml.Node]int32, path string) string {
	n := got.nodes[gi]
	value := want.Value
	if want.Kind != yaml.ScalarNode {
		value = "" // an alias keeps its name only in yaml.v3's tree
	}
	if kindOf(want.Kind) != n.kind || yaml.Style(n.style) != want.Style || got.tagOf(gi) != want.Tag ||
		got.value(gi) != value || int(n.line) != want.Line || int(n.col) != want.Column ||
		len(got.content(gi)) != len(want.Content) {
		return fmt.Sprintf("%s: %+v (value %q, tag %q), want %+v", path, n, got.value(gi), got.tagOf(gi), *want)
	}
	if got.yamlNode(gi).ShortTag() != want.ShortTag() && want.Kind != yaml.AliasNode {
		return fmt.Sprintf("%s: short tag %q, want %q", path, got.yamlNode(gi).ShortTag(), want.ShortTag())
	}
	if want.Anchor != "" {
		alias[want] = gi
	}
	if want.Kind == yaml.AliasNode {
		if target, ok := alias[want.Alias]; !ok || target != n.off {
			return fmt.Sprintf("%s: alias to node %d, want %d", path, n.off, target)
		}
	}
	for i, kid := range want.Content {
		if d := yamlDiff(kid, got, got.content(gi)[i], alias, fmt.Sprintf("%s[%d]", path, i)); d != "" {
			return d
		}
	}
	return ""
}

// checkFast requires that, when the fast path reads data, yaml.v3 reads
// it too, into the same tree (as fromYAML converts it); it reports whether
// the fast path read it. It also checks fromYAML against yaml.v3's tree.
func checkFast(t testing.TB, data []byte) bool {
	t.Helper()
	want, refOK := referenceYAML(data)
	conv := fromYAML(want)
	if d := yamlDiff(want, conv, 0, map[*yaml.Node]int32{}, "doc"); refOK && d != "" {
		t.Fatalf("fromYAML differs: %s\n%q", d, data)
	}
	got, ok := fastParse(data)
	if !ok {
		return false
	}
	if !refOK {
		t.Fatalf("the fast path reads what yaml.v3 refuses:\n%q", data)
	}
	if d := treeDiff(conv, got, 0, 0, "doc"); d != "" {
		t.Fatalf("fast path tree differs: %s\n%q", d, data)
	}
	return true
}

// fastHandled are documents the fast path must read (tricky ones
// included), and that checkFast compares with yaml.v3.
var fastHandled = []string{
	"",
	"\n\n",
	"# only a comment\n",
	"# one\n\n   # two\n",
	"a: 1\n",
	"a: 1",
	"---\na: 1\n",
	"# c\n---  # c\n\n  a: 1\n  b: 2\n",
	"a: b # comment\nc: d#e\n",
	"a:\nb:\n",
	"a:   \nb: # c\n  # c\nc: 1\n",
	"key with spaces: value with spaces\n",
	"a : b\n'q' : 1\n",
	"url: http://x.y/z\nt: a:b\n",
	"trailing: x   \nx: y  \n",
	"crlf: 1\r\nb:\r\n  - x\r\n  - y  \r\n",
	"- - x\n  - y\n-\n- a:\n  b: [x, y]\n- -\n",
	"- - - a\n    - b\n  - c\n- d\n",
	"a:\n- x\n- y\nb:\n  - z\nc: 3\n",
	"- a:\n  - x\n  b: 1\n- a:\n- b\n",
	"- # c\n  a: 1\n-  b: 2\n   c: 3\n",
	"v: [ a , b ]\nw: []\nx: [ ]\ny: ['a', \"b\", c d, -1, 1.5]\n",
	"n: 1\nhex: 0x1F\noct: 010\nbad: 09\nexp: 1e3\nneg: -12\nplus: +3\nf: .5\ninf: .inf\nninf: -.Inf\nnan: .NaN\n",
	"b: true\nc: False\nd: yes\ne: on\nf: n\nn: null\nt: ~\nu: Null\nts: 2001-12-14\nts2: 2001-12-14 21:59:43.10\n",
	"ip: 10.0.0.1\nip6: 2001:db8::1\nv: 1.2.3\nbig: 99999999999999999999\nus: 1_000\nbin: 0b101\no: 0o17\nnb: -0b11\n",
	"<<: 1\nk: '<<'\n",
	"'quoted key': 1\n\"dq key\": 2\n",
	"key: 'it''s'\nx: ''\ny: \"\"\nz: 'a # b'\nw: \"a: b\"\n",
	"a: '  spaced  '\n",
	"a:\n  b:\n    c:\n      d: 1\n  e: 2\nf: 3\n",
	"a:\n  x\n",
	"- x\n-   y\n",
	"scalar\n",
	"[a, b]\n",
	"- [a]\n- [b, c] # c\n",
	"-1: x\n-a: y\n",
	"a: -x\nb: x-\nc: --\n",
	"a: [-1, -.5, -a]\n",
	"a: b]\nc: d,e\nf: g}\n",
	"a: x'y\"z\n",
	"  a: 1\n  b: 2\n",
	"a: 1\n\n\n\nb: 2\n",
	"---\n- a\n",
	"--- # c\na: 1",
	"---a: 1\n",
	"a: ---\nb: ...\n",
	"a: {b: 1}\n",
	"a: {}\nb: { }\nc: {x: 1}\n",
	"a: { b: 1 , c: two words ,d: 'q', e: \"dq\" }\n",
	"a: {b: [x, y], c: {d: 1, e: [], f: {}}}\n",
	"a: [{b: 1}, {c: 2, d: [3]}, x, []]\n",
	"- {address: 10.0.0.11, weight: 10}\n- {address: 2001:db8::1, port: 80}\n",
	"check: {type: http, path: /healthz, expect_status: \"200-399\", host: www.example.com}\n",
	"command: [\"/usr/lib/check\", \"{address}\", \"{port}\"]\ntunnel: {type: gue, port: 6080, flags: [csum]}\n",
	"t: {tcp: 900s, tcp_fin: 120s, udp: 300s}   # c\n",
	"{a: 1}\n",
	"[{a: 1}]\n",
	"a: {'k': v, \"k2\": v2, -1: x, -a: y}\n",
	"a: {k: v} # c\n",
	"a: {k: true, n: null, i: 07, f: 1.5, ip: 10.0.0.1, t: ~}\n",
	"a: {k : v}\n",
	"a: {'k' : v}\n",
	"a: {k: x y z}\n",
	"a: [2001:db8::1, x:y, 'a:b', '::1']\n",
	"a: [a:b]\n",
	"a: {k: fe80::1:2, v: a:b:c}\n",
}

// fastDeclined are documents outside the subset (or wrong).
var fastDeclined = []string{
	"\ta: 1\n",
	"a:\tb\n",
	"a: é\n",
	"\ufeffa: 1\n",
	"a: 1\rb: 2\n",
	"a: &x 1\nb: *x\n",
	"a: !!str 1\n",
	"a: |\n  x\n",
	"a: >\n  x\n",
	"a: b\n  c\n",
	"- a\n  b\n",
	"a: 'x\n  y'\n",
	"a: \"x\\ty\"\n",
	"a: [x,\n  y]\n",
	"? a\n: b\n",
	"a: {b: 1\n",
	"a: {b: 1,\n  c: 2}\n",
	"a: {b}\n",
	"a: {b, c: 1}\n",
	"a: {b:1}\n",
	"a: {b: }\n",
	"a: {b: 1,}\n",
	"a: {b: c: d}\n",
	"a: {[b]: 1}\n",
	"a: {{b: 1}: 2}\n",
	"a: {b: 1}x\n",
	"a: {b: 1}: c\n",
	"{a: 1}: b\n",
	"a: {? b: 1}\n",
	"a: {b: &x 1}\n",
	"a: {b: 1} c\n",
	"a: {b: 1}}\n",
	"a: [b: 1]\n",
	"a: {b: x:}\n",
	"a: {b: c:,d: 1}\n",
	"a: {b: x:#}\n",
	"a: {b:c: 1}\n",
	"a: [x:, y]\n",
	"a: {b: x:: y}\n",
	"%YAML 1.2\n---\na: 1\n",
	"a: 1\n...\n",
	"...\n",
	"# c\n... # c\n",
	"a: 1\n---\nb: 2\n",
	"---\n",
	"--- a\n",
	"a: b: c\n",
	"a: - b\n",
	"a:\n  b: 1\n c: 2\n",
	"a: 1\n  b: 2\n",
	"- a\nb: 1\n",
	"a\nb\n",
	"a: [b, ]\n",
	"a: [b]x\n",
	"a: 'b'c\n",
	"a: 'b'#c\n",
	"a: [::1]\n",
	"a: [#]\n",
	": a\n",
	"a: @b\n",
	"a: `b\n",
	"a: %b\n",
	strings.Repeat("k", 1100) + ": v\n",
	strings.Repeat("- ", 300) + "x\n",
}

func TestFastParseHandled(t *testing.T) {
	for _, doc := range fastHandled {
		if !checkFast(t, []byte(doc)) {
			t.Errorf("the fast path declines %q", doc)
		}
	}
}

func TestFastParseDeclined(t *testing.T) {
	for _, doc := range fastDeclined {
		if _, ok := fastParse([]byte(doc)); ok {
			t.Errorf("the fast path reads %q", doc)
		}
	}
}

func TestFastParseBenchShapes(t *testing.T) {
	for _, s := range [][2]int{{1, 1}, {10, 1000}, {100, 100}, {1000, 10}} {
		if !checkFast(t, benchYAML(s[0], s[1])) {
			t.Errorf("the fast path declines the %dx%d bench config", s[0], s[1])
		}
		if !checkFast(t, benchFlowYAML(s[0], s[1])) {
			t.Errorf("the fast path declines the %dx%d bench config in flow style", s[0], s[1])
		}
	}
}

// TestFastParseTestdata runs the files under testdata (example.yaml has
// anchors: yaml.v3 reads it), and every string constant of this package's
// tests (the configurations they embed among them), through both parsers.
func TestFastParseTestdata(t *testing.T) {
	handled := 0
	for _, doc := range fastCorpus(t) {
		if checkFast(t, []byte(doc)) {
			handled++
		}
	}
	if handled < 100 {
		t.Fatalf("the fast path reads only %d documents", handled)
	}
}

// fastCorpus returns the YAML files under testdata and the string
// literals of this package's test files.
func fastCorpus(t testing.TB) []string {
	var out []string
	files, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	tests, _ := filepath.Glob("*_test.go")
	fset := token.NewFileSet()
	for _, f := range tests {
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil {
					out = append(out, s)
				}
			}
			return true
		})
	}
	return out
}

// TestPlainTag checks plainTag against yaml.v3's resolver.
func TestPlainTag(t *testing.T) {
	values := []string{"", "<<", "a", "tcp", "true", "no", "~", "0", "7", "07", "09", "10", "123456789012345678",
		"1234567890123456789", "99999999999999999999", "-1", "+1", "1.5", ".5", "1e3", "0x1F", "0o7", "0b1", "1_0",
		"10.0.0.1", "1.2.3", "yes", "on", "off", "n", "Y", "tRue", "nULL", "~x", "null ", "False", "FALSE", ".NaN", "+.INF", "1..2.3", "1.2.", ".1.2", "2001-12-14", "2001:db8::1", "10.0.0.1/24", ".inf", "-.inf", "1.2.3.4.5"}
	for _, v := range values {
		checkPlainTag(t, v)
	}
}

func checkPlainTag(t testing.TB, v string) {
	t.Helper()
	n := yaml.Node{Kind: yaml.ScalarNode, Value: v}
	want := n.ShortTag()
	if v == "<<" {
		want = "!!merge"
	}
	if got := plainTag(v); got != want {
		t.Fatalf("plainTag(%q) = %s, want %s", v, got, want)
	}
}

// FuzzFastParse checks that whatever the fast path reads, yaml.v3 reads
// into the same tree, and that plainTag resolves as yaml.v3 does.
func FuzzFastParse(f *testing.F) {
	for _, doc := range append(append(fastHandled, fastDeclined...), string(benchYAML(2, 3))) {
		f.Add([]byte(doc))
	}
	for _, doc := range fastCorpus(f) {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFast(t, data)
		checkPlainTag(t, string(data))
	})
}

// BenchmarkParseBench1000x10 measures Parse of the bench's 1,000 x 10
// configuration, and its YAML stage through either parser.
func BenchmarkParseBench1000x10(b *testing.B) {
	data := benchYAML(1000, 10)
	// Parse of the file as written, and of the same table in flow style.
	for _, f := range []struct {
		name string
		data []byte
	}{{"Parse", data}, {"ParseFlowStyle", benchFlowYAML(1000, 10)}} {
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := Parse("bench.yaml", f.data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("YAMLv3", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			if _, ok := referenceYAML(data); !ok {
				b.Fatal("yaml.v3 refuses the bench config")
			}
		}
	})
	b.Run("FastYAML", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			if _, ok := fastParse(data); !ok {
				b.Fatal("the fast path declines the bench config")
			}
		}
	})
}
