package conntable

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchTable writes a proc root whose ip_vs_conn holds n entries spread
// over the services of benchServices (every seventh VIP), plus as many of
// another tool's service, and returns it.
func benchTable(tb testing.TB, n int) string {
	tb.Helper()
	var b strings.Builder
	b.WriteString("Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n")
	for i := range n {
		v := (i * 7) % 1000
		fmt.Fprintf(&b, "TCP %08X %04X %08X %04X %08X %04X ESTABLISHED     899\n", 0xc0a80000+i, 1024+i%60000, 0x0a000000+v, 80, 0x0a0a0000+v, 80)
		fmt.Fprintf(&b, "TCP %08X %04X %08X %04X %08X %04X ESTABLISHED     899\n", 0xc0a80000+i, 1024+i%60000, 0x0b000000+v, 80, 0x0a0a0000+v, 80)
	}
	dir := tb.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "net"), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "net", "ip_vs_conn"), []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// benchServices is a director of 1,000 services, 10.0.x.y:80.
func benchServices() []Service {
	var svcs []Service
	for i := range 1000 {
		svcs = append(svcs, Service{Protocol: "tcp", VIP: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), Port: 80})
	}
	return svcs
}

// BenchmarkReadSelect: status --connections on a director of 1,000
// services whose table holds 200,000 of their entries and 200,000 of
// another tool's, printed as a table: the whole table read, then
// selected, then printed (as before Each), and Each printing as it reads.
func BenchmarkReadSelect(b *testing.B) {
	root, svcs := benchTable(b, 200000), benchServices()
	b.Run("ReadThenSelect", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			all, err := Read(root)
			if err != nil {
				b.Fatal(err)
			}
			got := Select(all, svcs)
			if len(got) != 200000 {
				b.Fatalf("%d selected", len(got))
			}
			if err := WriteTable(io.Discard, got); err != nil {
				b.Fatal(err)
			}
		}
	})
	// What status --connections does: each selected entry printed as the
	// table is read.
	b.Run("Each", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			t := NewTable(io.Discard)
			n := 0
			err := Each(root, NewSelector(svcs), func(c Conn) error { n++; return t.Write(c) })
			if err == nil {
				err = t.Close()
			}
			if err != nil || n != 200000 {
				b.Fatalf("%d selected, %v", n, err)
			}
		}
	})
}
