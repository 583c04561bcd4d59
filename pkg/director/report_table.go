package director

import (
	"fmt"
	"io"
	"math"
	"net/netip"
	"strconv"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// tableCells is the number of cells of every line of the services table
// but the first header (which has 3).
const tableCells = 15

// table lays out the services table as text/tabwriter does with
// minwidth 0, tabwidth 0, padding 2 and padchar ' ' (see
// writeServicesTabwriter), without its per-cell work: every cell is
// appended to one buffer, the widths found in one pass, the lines padded
// in a second and written in chunks. Each column's block spans every line
// that has the column: the first header's two columns take part in
// columns 0 and 1 only.
type table struct {
	text  []byte
	lens  []uint16 // length of each cell in text, tableCells per line
	mark  int      // end of the last cell in text
	width [tableCells - 1]int
	plain bool // every cell printable ASCII and shorter than 64 KiB: widths are byte counts
}

// cell ends the cell appended to t.text since the last one.
func (t *table) cell() {
	c := t.text[t.mark:]
	for _, b := range c {
		if b < 0x20 || b >= 0x7f {
			t.plain = false
		}
	}
	if len(c) > math.MaxUint16 {
		t.plain = false
	}
	t.lens = append(t.lens, uint16(len(c)))
	t.mark = len(t.text)
}

// digits ends a cell of digits and units appended since the last one:
// printable ASCII, and short.
func (t *table) digits() {
	t.lens = append(t.lens, uint16(len(t.text)-t.mark))
	t.mark = len(t.text)
}

// human appends a counter as human does.
func (t *table) human(v uint64) {
	unit := byte(0)
	switch {
	case v >= 100_000_000_000:
		v, unit = v/1_000_000_000, 'G'
	case v >= 100_000_000:
		v, unit = v/1_000_000, 'M'
	case v >= 100_000:
		v, unit = v/1_000, 'K'
	}
	t.text = strconv.AppendUint(t.text, v, 10)
	if unit != 0 {
		t.text = append(t.text, unit)
	}
	t.digits()
}

// stats appends the ten counter cells.
func (t *table) stats(s *ipvs.Stats) {
	for _, v := range [...]uint64{s.Connections, s.PacketsIn, s.PacketsOut, s.BytesIn, s.BytesOut, s.CPS, s.PPSIn, s.PPSOut, s.BPSIn, s.BPSOut} {
		t.human(v)
	}
}

// num appends a number cell.
func (t *table) num(v uint32) {
	t.text = strconv.AppendUint(t.text, uint64(v), 10)
	t.digits()
}

// str appends a text cell.
func (t *table) str(s string) {
	t.text = append(t.text, s...)
	t.cell()
}

// addrPort appends a and port as netip.AddrPort's String does.
func (t *table) addrPort(a netip.Addr, port uint16) {
	if a.IsValid() {
		t.text = netip.AddrPortFrom(a, port).AppendTo(t.text)
	} else {
		t.text = append(t.text, netip.AddrPort{}.String()...)
	}
}

// service appends a service's name cell as serviceLine renders it.
func (t *table) service(s *ServiceRow) {
	if s.FWMark != 0 {
		t.text = strconv.AppendUint(append(t.text, "FWM  "...), uint64(s.FWMark), 10)
		if s.Family == ipvs.Inet6 {
			t.text = append(t.text, " IPv6"...)
		}
	} else {
		p := s.Protocol.String()
		for i := 0; i < len(p); i++ {
			c := p[i]
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			t.text = append(t.text, c)
		}
		t.text = pad(t.text, 4-len(p))
		t.text = append(t.text, ' ')
		t.addrPort(s.Address, s.Port)
	}
	if !s.Present {
		t.text = append(t.text, " (missing)"...)
	}
	t.cell()
}

// tableChunk is how much of the table writeServices holds before writing
// it out.
const tableChunk = 32 << 10

// writeServices renders the IPVS line and the services table, byte for
// byte as writeServicesTabwriter does.
func (r *Report) writeServices(w io.Writer) error {
	n := 0
	for _, s := range r.Services {
		n += 1 + len(s.Destinations)
	}
	// About 40 bytes a line without counters: grown (copied once) when
	// they are larger.
	t := table{text: make([]byte, 0, 48*n+256), lens: make([]uint16, 0, tableCells*(n+1)), plain: true}
	for _, h := range splitTabs(destinationHeader) {
		t.str(h)
	}
	for i := range r.Services {
		s := &r.Services[i]
		t.service(s)
		t.str(s.Scheduler)
		t.str(serviceFlags(s))
		t.str("")
		t.str("")
		t.stats(&s.Stats)
		for j := range s.Destinations {
			d := &s.Destinations[j]
			t.text = append(t.text, "  -> "...)
			t.addrPort(d.Address, d.Port)
			if d.Tunnel != "" || d.UpperThreshold != 0 || d.LowerThreshold != 0 {
				t.text = append(t.text, destinationExtras(*d)...)
			}
			if !d.Present {
				t.text = append(t.text, " (missing)"...)
			}
			t.cell()
			t.str(d.Forward.String())
			t.num(d.Weight)
			t.num(d.ActiveConns)
			t.num(d.InactiveConns)
			t.stats(&d.Stats)
		}
	}
	if !t.plain {
		return r.writeServicesTabwriter(w)
	}
	head := splitTabs(serviceHeader)
	t.width[0], t.width[1] = len(head[0]), len(head[1])
	for i := 0; i < len(t.lens); i += tableCells {
		for j := range tableCells - 1 {
			t.width[j] = max(t.width[j], int(t.lens[i+j]))
		}
	}
	out := make([]byte, 0, tableChunk+1024)
	out = fmt.Appendf(out, "IP Virtual Server version %s (size=%d): lvs-rs services on %s\n", r.IPVSVersion, r.ConnTableSize, r.Interface)
	out = pad(append(out, head[0]...), t.width[0]-len(head[0])+2)
	out = append(pad(append(out, head[1]...), t.width[1]-len(head[1])+2), head[2]...)
	out = append(out, '\n')
	start := 0
	for i := 0; i < len(t.lens); i += tableCells {
		for j := range tableCells {
			end := start + int(t.lens[i+j])
			out = append(out, t.text[start:end]...)
			if j < tableCells-1 {
				out = pad(out, t.width[j]-(end-start)+2)
			}
			start = end
		}
		out = append(out, '\n')
		if len(out) >= tableChunk {
			if _, err := w.Write(out); err != nil {
				return err
			}
			out = out[:0]
		}
	}
	_, err := w.Write(out)
	return err
}

// spaces are what pad appends from.
var spaces = [64]byte{' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ',
	' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ',
	' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ',
	' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '}

// pad appends n spaces (none when n <= 0).
func pad(b []byte, n int) []byte {
	for n > len(spaces) {
		b = append(b, spaces[:]...)
		n -= len(spaces)
	}
	if n > 0 {
		b = append(b, spaces[:n]...)
	}
	return b
}

// splitTabs splits a header at its tabs.
func splitTabs(s string) []string {
	var out []string
	for {
		i := 0
		for i < len(s) && s[i] != '\t' {
			i++
		}
		out = append(out, s[:i])
		if i == len(s) {
			return out
		}
		s = s[i+1:]
	}
}
