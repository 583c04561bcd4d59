package vmtest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// cpioEntry is one parsed newc entry.
type cpioEntry struct {
	name string
	mode uint32
	data []byte
}

// readNewc parses a newc archive up to its trailer, checking the magic,
// the 4-byte alignment and the name sizes as the kernel does.
func readNewc(t *testing.T, r io.Reader) []cpioEntry {
	t.Helper()
	br := bufio.NewReader(r)
	var off int64
	read := func(n int64) []byte {
		t.Helper()
		b := make([]byte, n)
		if _, err := io.ReadFull(br, b); err != nil {
			t.Fatalf("cpio: short read at %d: %v", off, err)
		}
		off += n
		return b
	}
	align := func() {
		if rem := off % 4; rem != 0 {
			if pad := read(4 - rem); !bytes.Equal(pad, make([]byte, len(pad))) {
				t.Fatalf("cpio: non-zero padding at %d", off)
			}
		}
	}
	var out []cpioEntry
	for {
		hdr := read(110)
		if string(hdr[:6]) != "070701" {
			t.Fatalf("cpio: bad magic %q at %d", hdr[:6], off-110)
		}
		field := func(i int) uint32 {
			v, err := strconv.ParseUint(string(hdr[6+8*i:14+8*i]), 16, 32)
			if err != nil {
				t.Fatalf("cpio: field %d: %v", i, err)
			}
			return uint32(v)
		}
		mode, size, namesize := field(1), field(6), field(11)
		name := read(int64(namesize))
		if name[len(name)-1] != 0 {
			t.Fatalf("cpio: name %q not NUL-terminated", name)
		}
		align()
		e := cpioEntry{name: string(name[:len(name)-1]), mode: mode, data: read(int64(size))}
		align()
		if e.name == "TRAILER!!!" {
			return out
		}
		out = append(out, e)
	}
}

func TestCPIORoundTrip(t *testing.T) {
	var buf bytes.Buffer
	c := newCPIOWriter(&buf)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.Dir("lvsrs", 0o755))
	must(c.Bytes("lvsrs/args", 0o644, []byte("-test.v=true\n")))
	must(c.Bytes("lvsrs/empty", 0o600, nil))
	must(c.Bytes("lvsrs/odd", 0o755, []byte("12345"))) // needs padding
	must(c.Close())
	if buf.Len()%4 != 0 {
		t.Errorf("archive length %d is not 4-aligned", buf.Len())
	}
	got := readNewc(t, &buf)
	want := []cpioEntry{
		{"lvsrs", 0o040755, nil},
		{"lvsrs/args", 0o100644, []byte("-test.v=true\n")},
		{"lvsrs/empty", 0o100600, nil},
		{"lvsrs/odd", 0o100755, []byte("12345")},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i].name != want[i].name || got[i].mode != want[i].mode || !bytes.Equal(got[i].data, want[i].data) {
			t.Errorf("entry %d = %q %o %q, want %q %o %q", i, got[i].name, got[i].mode, got[i].data, want[i].name, want[i].mode, want[i].data)
		}
	}
}

func TestCPIORejectsAbsoluteNames(t *testing.T) {
	c := newCPIOWriter(io.Discard)
	if err := c.Dir("/bin", 0o755); err == nil {
		t.Error("absolute name accepted")
	}
}

func TestCPIOShortFileFails(t *testing.T) {
	c := newCPIOWriter(io.Discard)
	if err := c.File("f", 0o644, 10, bytes.NewReader([]byte("abc"))); err == nil {
		t.Error("a reader shorter than the declared size was accepted")
	}
}

// TestInitrdConcatenation: a gzip'd base followed by the per-run archive,
// the second starting 4-aligned after zero padding (what the kernel needs).
func TestInitrdConcatenation(t *testing.T) {
	dir := t.TempDir()
	var raw bytes.Buffer
	bc := newCPIOWriter(&raw)
	if err := bc.Bytes("init", 0o755, []byte("#!/bin/sh\n")); err != nil {
		t.Fatal(err)
	}
	if err := bc.Close(); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw.Bytes())
	zw.Close()
	base := filepath.Join(dir, "base.cpio.gz")
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := os.WriteFile(base, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	td := filepath.Join(dir, "testdata")
	os.MkdirAll(filepath.Join(td, "sub"), 0o755)
	write("testdata/sub/x.yaml", "a: 1\n")
	in := initrdInput{
		base: base, test: write("test.bin", "TEST"), lvsrs: write("lvs-rs", "LVSRS"), baseline: write("lvs-rs-old", "OLD"),
		testdata: td, args: []byte("-test.v=true\n"), env: []byte("CI=true\n"), nonce: "abc",
	}
	out := filepath.Join(dir, "initrd.img")
	if err := writeInitrd(out, in); err != nil {
		t.Fatal(err)
	}
	img, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	second := (gz.Len() + 3) / 4 * 4
	if !bytes.Equal(img[:gz.Len()], gz.Bytes()) || !bytes.Equal(img[gz.Len():second], make([]byte, second-gz.Len())) {
		t.Fatalf("base not copied verbatim and zero-padded to %d", second)
	}
	files := map[string]string{}
	for _, e := range readNewc(t, bytes.NewReader(img[second:])) {
		files[e.name] = string(e.data)
	}
	for name, want := range map[string]string{
		"lvsrs/test": "TEST", "bin/lvs-rs": "LVSRS", "bin/lvs-rs-baseline": "OLD", "lvsrs/args": "-test.v=true\n",
		"lvsrs/env": "CI=true\n", "lvsrs/nonce": "abc\n", "lvsrs/pkg/testdata/sub/x.yaml": "a: 1\n",
	} {
		if got, ok := files[name]; !ok || got != want {
			t.Errorf("%s = %q (present %v), want %q", name, got, ok, want)
		}
	}
	if _, ok := files["lvsrs/pkg/testdata/sub"]; !ok {
		t.Errorf("testdata directory entries missing: %v", keys(files))
	}
}

func keys(m map[string]string) string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	return fmt.Sprint(s)
}
