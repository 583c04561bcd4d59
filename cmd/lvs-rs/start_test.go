package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/realserver"
)

// bigPlan is the change list of a start of services x perService dr real
// servers on an empty table.
func bigPlan(services, perService int) []director.Change {
	var out []director.Change
	for i := range services {
		s := ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}),
			Port: uint16(1000 + i), Scheduler: "wrr", Netmask: 32}
		out = append(out, director.Change{Kind: director.AddService, Service: s})
		for j := range perService {
			d := ipvs.Destination{Family: ipvs.Inet, Address: netip.AddrFrom4([4]byte{10, 1, byte(i), byte(j)}), Port: s.Port,
				Forward: ipvs.Route, Weight: uint32(j)}
			out = append(out, director.Change{Kind: director.AddDestination, Service: s, Destination: d})
		}
	}
	return out
}

// TestWriteChangesAsFmt: the change report is the lines fmt renders, for
// a director's changes and a real server's.
func TestWriteChangesAsFmt(t *testing.T) {
	dc := append(bigPlan(3, 2), director.Change{Kind: director.Bind}, director.Change{Kind: director.DeleteService})
	var want, got bytes.Buffer
	for _, c := range dc {
		fmt.Fprintf(&want, "%s: %s%s\n", roleDirector, "would ", c)
	}
	writeChanges(&got, roleDirector+": would ", dc)
	if got.String() != want.String() {
		t.Fatalf("director report:\n%s\nwant:\n%s", got.String(), want.String())
	}
	// A report of 11,000 lines (1.1 MB) goes out in many writes, each of
	// whole lines.
	want.Reset()
	for _, c := range bigPlan(1000, 10) {
		fmt.Fprintf(&want, "%s: %s\n", roleDirector, c)
	}
	w := &lineWriter{}
	writeChanges(w, roleDirector+": ", bigPlan(1000, 10))
	if w.String() != want.String() || w.writes < 2 || w.split {
		t.Fatalf("large director report: %d bytes in %d writes (a line split: %v), want the %d bytes fmt renders, in whole lines",
			w.Len(), w.writes, w.split, want.Len())
	}
	rc := []realserver.Change{{}}
	want.Reset()
	got.Reset()
	for _, c := range rc {
		fmt.Fprintf(&want, "%s: %s\n", roleRealServer, c)
	}
	writeChanges(&got, roleRealServer+": ", rc)
	if got.String() != want.String() {
		t.Fatalf("real server report %q, want %q", got.String(), want.String())
	}
}

// lineWriter counts the writes it is given and whether one of them did
// not end a line.
type lineWriter struct {
	bytes.Buffer
	writes int
	split  bool
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.writes++
	w.split = w.split || len(p) == 0 || p[len(p)-1] != '\n'
	return w.Buffer.Write(p)
}

// BenchmarkWriteChanges is the report of a start of 1,000 services of ten
// real servers.
func BenchmarkWriteChanges(b *testing.B) {
	changes := bigPlan(1000, 10)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		writeChanges(&buf, roleDirector+": ", changes)
	}
}
