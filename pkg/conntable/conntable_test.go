package conntable

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A table as kernel 6.1 prints it: IPv4 in hex, IPv6 in colon form, a
// persistence template, a SIP persistence-engine entry.
const table = `Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP 0A000002 A4F2 0A000064 0050 0A00000B 0050 ESTABLISHED     899
UDP 0A000002 D431 0A000064 0035 0A00000C 0035 UDP             287
TCP 0A000002 0000 0A000064 0050 0A00000B 0050 NONE            359
TCP 2001:0db8:0000:0000:0000:0000:0000:0002 A4F3 2001:0db8:0000:0000:0000:0000:0000:0064 0050 2001:0db8:0000:0000:0000:0000:0000:000b 0050 SYN_RECV         57
UDP 0A000002 13C4 0A000065 13C4 0A00000B 13C4 UDP             170 sip abc@host
`

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

var parsed = []Conn{
	{Protocol: "TCP", State: "ESTABLISHED", Expires: 899, Client: ap("10.0.0.2:42226"), Virtual: ap("10.0.0.100:80"), Real: ap("10.0.0.11:80")},
	{Protocol: "UDP", State: "UDP", Expires: 287, Client: ap("10.0.0.2:54321"), Virtual: ap("10.0.0.100:53"), Real: ap("10.0.0.12:53")},
	{Protocol: "TCP", State: "NONE", Expires: 359, Client: ap("10.0.0.2:0"), Virtual: ap("10.0.0.100:80"), Real: ap("10.0.0.11:80")},
	{Protocol: "TCP", State: "SYN_RECV", Expires: 57, Client: ap("[2001:db8::2]:42227"), Virtual: ap("[2001:db8::64]:80"), Real: ap("[2001:db8::b]:80")},
	{Protocol: "UDP", State: "UDP", Expires: 170, Client: ap("10.0.0.2:5060"), Virtual: ap("10.0.0.101:5060"), Real: ap("10.0.0.11:5060"), PE: "sip abc@host"},
}

func TestParse(t *testing.T) {
	got, err := Parse(strings.NewReader(table))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(parsed, got, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); d != "" {
		t.Errorf("Parse (-want +got):\n%s", d)
	}
}

func TestParseBad(t *testing.T) {
	for _, line := range []string{
		"TCP 0A000002 A4F2 0A000064 0050 0A00000B 0050 ESTABLISHED",
		"TCP 0A0000 A4F2 0A000064 0050 0A00000B 0050 ESTABLISHED 1",
		"TCP 0A000002 XYZ 0A000064 0050 0A00000B 0050 ESTABLISHED 1",
		"TCP 0A000002 A4F2 0A000064 0050 0A00000B 0050 ESTABLISHED soon",
	} {
		if _, err := Parse(strings.NewReader(line + "\n")); err == nil {
			t.Errorf("Parse(%q) succeeded", line)
		}
	}
}

func TestRead(t *testing.T) {
	root := t.TempDir()
	if _, err := Read(root); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read without ip_vs_conn = %v, want ErrNotExist", err)
	}
	if err := os.MkdirAll(filepath.Join(root, "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(table, "\n")
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(root, "net", name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("ip_vs_conn", lines[0]+lines[1])
	got, err := Read(root)
	if err != nil || len(got) != 1 {
		t.Fatalf("Read = %v, %v; want one entry", got, err)
	}
	write("ip_vs_conn6", lines[0]+lines[4])
	got, err = Read(root)
	if err != nil || len(got) != 2 || got[1].Client != parsed[3].Client {
		t.Fatalf("Read with ip_vs_conn6 = %v, %v; want the IPv6 entry second", got, err)
	}
}

func TestSelect(t *testing.T) {
	svcs := []Service{
		{Protocol: "tcp", VIP: netip.MustParseAddr("10.0.0.100"), Port: 80},
		{FWMark: 7, VIPs: []netip.Addr{netip.MustParseAddr("10.0.0.101")}, Reals: []netip.Addr{netip.MustParseAddr("10.0.0.11")}},
	}
	got := Select(parsed, svcs)
	want := []Conn{parsed[0], parsed[2], parsed[4]}
	if d := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); d != "" {
		t.Errorf("Select (-want +got):\n%s", d)
	}
	if got := Select(parsed, nil); len(got) != 0 {
		t.Errorf("Select with no services = %v", got)
	}
}

func TestWriteTable(t *testing.T) {
	var b strings.Builder
	if err := WriteTable(&b, parsed[:1]); err != nil {
		t.Fatal(err)
	}
	want := "pro expire state       source         virtual       destination\n" +
		"TCP 14:59  ESTABLISHED 10.0.0.2:42226 10.0.0.100:80 10.0.0.11:80\n"
	if d := cmp.Diff(want, b.String()); d != "" {
		t.Errorf("table (-want +got):\n%s", d)
	}
}

// TestSelectFWMarkTemplate: a persistence template of a firewall-mark
// service, as the kernel prints it (protocol IP, the mark as its virtual
// address, port 0), is that service's, in IPv4 and IPv6; another mark's
// is not.
func TestSelectFWMarkTemplate(t *testing.T) {
	const tmpl = `Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
IP  0A000002 0000 00000007 0000 0A00000B 0000 NONE            359
IP  0A000002 0000 00000008 0000 0A00000B 0000 NONE            359
IP  2001:0db8:0000:0000:0000:0000:0000:0002 0000 0000:0007:0000:0000:0000:0000:0000:0000 0000 2001:0db8:0000:0000:0000:0000:0000:000b 0000 NONE 359
`
	conns, err := Parse(strings.NewReader(tmpl))
	if err != nil || len(conns) != 3 {
		t.Fatalf("Parse = %v, %v", conns, err)
	}
	svcs := []Service{
		{FWMark: 7, VIPs: []netip.Addr{netip.MustParseAddr("10.0.0.101")}, Reals: []netip.Addr{netip.MustParseAddr("10.0.0.11")}},
		{FWMark: 7, VIPs: []netip.Addr{netip.MustParseAddr("2001:db8::65")}, Reals: []netip.Addr{netip.MustParseAddr("2001:db8::b")}},
	}
	got := Select(conns, svcs)
	want := []Conn{conns[0], conns[2]}
	if d := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); d != "" {
		t.Errorf("Select (-want +got):\n%s", d)
	}
}

// TestSelectPortZero: a persistent port-0 (every port) service's
// connections carry the port the client reached (443, 80) and only its
// persistence template has port 0: all three are the service's; a UDP
// entry to the VIP, or a TCP one to another VIP, is not.
func TestSelectPortZero(t *testing.T) {
	const tbl = `Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP 0A000001 D431 0A000064 01BB 0A00000B 01BB ESTABLISHED 899
TCP 0A000001 D432 0A000064 0050 0A00000B 0050 ESTABLISHED 899
TCP 0A000001 0000 0A000064 0000 0A00000B 0000 NONE        359
UDP 0A000001 D433 0A000064 0035 0A00000B 0035 UDP         299
TCP 0A000001 D434 0A000065 0050 0A00000B 0050 ESTABLISHED 899
`
	conns, err := Parse(strings.NewReader(tbl))
	if err != nil || len(conns) != 5 {
		t.Fatalf("Parse = %v, %v", conns, err)
	}
	got := Select(conns, []Service{{Protocol: "tcp", VIP: netip.MustParseAddr("10.0.0.100"), Port: 0}})
	if d := cmp.Diff(conns[:3], got, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); d != "" {
		t.Errorf("Select, port-0 service (-want +got):\n%s", d)
	}
}

// writeProc writes a proc root whose ip_vs_conn is table.
func writeProc(t testing.TB, table string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "net", "ip_vs_conn"), []byte(table), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// TestEachSelects: Each hands over exactly what Select picks from Read,
// in table order, for services of every kind; fn's error stops it and is
// returned as it is.
func TestEachSelects(t *testing.T) {
	root := writeProc(t, table)
	svcs := []Service{
		{Protocol: "tcp", VIP: netip.MustParseAddr("10.0.0.100"), Port: 80},
		{FWMark: 7, VIPs: []netip.Addr{netip.MustParseAddr("10.0.0.101")}, Reals: []netip.Addr{netip.MustParseAddr("10.0.0.11")}},
	}
	all, err := Read(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []Conn
	if err := Each(root, NewSelector(svcs), func(c Conn) error { got = append(got, c); return nil }); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(Select(all, svcs), got, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); d != "" {
		t.Errorf("Each (-Select(Read) +Each):\n%s", d)
	}
	stop := errors.New("stop")
	n := 0
	if err := Each(root, nil, func(Conn) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("Each with fn failing: %v after %d entries, want fn's error after 1", err, n)
	}
	if err := Each(t.TempDir(), nil, func(Conn) error { return nil }); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Each without ip_vs_conn = %v, want ErrNotExist", err)
	}
}

// TestEachMemoryFlat: reading a table of 20,000 entries of which 20 are
// lvs-rs's allocates per selected entry, not per line: the table is read
// a line at a time and another tool's entry is dropped unparsed. (Read
// then Select held every entry: 20,000 of them, each with its line.)
func TestEachMemoryFlat(t *testing.T) {
	var b strings.Builder
	b.WriteString("Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n")
	for i := range 20000 {
		vip := 0x0b000001 // another tool's service
		if i%1000 == 0 {
			vip = 0x0a000064
		}
		fmt.Fprintf(&b, "TCP %08X %04X %08X 0050 0A00000B 0050 ESTABLISHED 899\n", 0xc0a80000+i, 1024+i%60000, vip)
	}
	root := writeProc(t, b.String())
	svcs := []Service{{Protocol: "tcp", VIP: netip.MustParseAddr("10.0.0.100"), Port: 80}}
	n := 0
	allocs := testing.AllocsPerRun(3, func() {
		n = 0
		if err := Each(root, NewSelector(svcs), func(Conn) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
	})
	if n != 20 {
		t.Fatalf("%d entries selected, want 20", n)
	}
	t.Logf("%.0f allocations", allocs)
	if allocs > 200 {
		t.Errorf("Each made %.0f allocations for a table of 20,000 lines and 20 selected entries; want fewer than 200", allocs)
	}
}

// TestJSONStream: JSON prints what encoding/json prints for the whole
// list, with no entry and with several.
func TestJSONStream(t *testing.T) {
	for _, conns := range [][]Conn{{}, parsed[:1], parsed} {
		var want, got strings.Builder
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string][]Conn{"connections": conns}); err != nil {
			t.Fatal(err)
		}
		j := NewJSON(&got)
		for _, c := range conns {
			if err := j.Write(c); err != nil {
				t.Fatal(err)
			}
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want.String(), got.String()); d != "" {
			t.Errorf("%d entries (-encoding/json +JSON):\n%s", len(conns), d)
		}
	}
}

// TestTableBlocks: a table longer than TableRows is printed as it goes,
// each block aligned on its own, the header once.
func TestTableBlocks(t *testing.T) {
	var b strings.Builder
	tb := NewTable(&b)
	for i := range TableRows + 1 {
		c := parsed[0]
		if i == TableRows {
			c = parsed[3] // wider: its block alone is wider
		}
		if err := tb.Write(c); err != nil {
			t.Fatal(err)
		}
		if i == TableRows-1 && strings.Count(b.String(), "\n") != TableRows+1 {
			t.Fatalf("after %d rows %d lines are printed, want the header and every row", TableRows, strings.Count(b.String(), "\n"))
		}
	}
	if err := tb.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != TableRows+2 || strings.Count(b.String(), "pro ") != 1 {
		t.Fatalf("%d lines, want the header and %d rows", len(lines), TableRows+1)
	}
	if want := "TCP 14:59  ESTABLISHED 10.0.0.2:42226 10.0.0.100:80 10.0.0.11:80"; lines[1] != want || lines[TableRows] != want {
		t.Errorf("first block's rows %q, %q; want %q", lines[1], lines[TableRows], want)
	}
	if want := "TCP 00:57  SYN_RECV [2001:db8::2]:42227 [2001:db8::64]:80 [2001:db8::b]:80"; lines[TableRows+1] != want {
		t.Errorf("last block %q, want %q", lines[TableRows+1], want)
	}
}
