package director

import (
	"fmt"
	"io"
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
// in a second. Each column's block spans every line that has the column:
// the first header's two columns take part in columns 0 and 1 only.
type table struct {
	text  []byte
	ends  []int32 // end of each cell in text, tableCells per line
	width [tableCells - 1]int
	plain bool // every cell printable ASCII: widths are byte counts
}

// cell ends the cell appended to t.text since the last one.
func (t *table) cell() {
	start := 0
	if n := len(t.ends); n > 0 {
		start = int(t.ends[n-1])
	}
	for _, c := range t.text[start:] {
		if c < 0x20 || c >= 0x7f {
			t.plain = false
		}
	}
	t.ends = append(t.ends, int32(len(t.text)))
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
	t.cell()
}

// stats appends the ten counter cells.
func (t *table) stats(s ipvs.Stats) {
	for _, v := range [...]uint64{s.Connections, s.PacketsIn, s.PacketsOut, s.BytesIn, s.BytesOut, s.CPS, s.PPSIn, s.PPSOut, s.BPSIn, s.BPSOut} {
		t.human(v)
	}
}

// num appends a number cell.
func (t *table) num(v uint32) {
	t.text = strconv.AppendUint(t.text, uint64(v), 10)
	t.cell()
}

// str appends a text cell.
func (t *table) str(s string) {
	t.text = append(t.text, s...)
	t.cell()
}

// writeServices renders the IPVS line and the services table, byte for
// byte as writeServicesTabwriter does.
func (r *Report) writeServices(w io.Writer) error {
	n := 0
	for _, s := range r.Services {
		n += 1 + len(s.Destinations)
	}
	t := table{text: make([]byte, 0, 96*n+256), ends: make([]int32, 0, tableCells*(n+1)), plain: true}
	for _, h := range splitTabs(destinationHeader) {
		t.str(h)
	}
	for _, s := range r.Services {
		name, flags := serviceLine(s)
		t.str(name)
		t.str(s.Scheduler)
		t.str(flags)
		t.str("")
		t.str("")
		t.stats(s.Stats)
		for _, d := range s.Destinations {
			t.text = append(t.text, "  -> "...)
			if d.Address.IsValid() {
				t.text = netip.AddrPortFrom(d.Address, d.Port).AppendTo(t.text)
			} else {
				t.text = append(t.text, netip.AddrPort{}.String()...)
			}
			t.text = append(t.text, destinationExtras(d)...)
			if !d.Present {
				t.text = append(t.text, " (missing)"...)
			}
			t.cell()
			t.str(d.Forward.String())
			t.num(d.Weight)
			t.num(d.ActiveConns)
			t.num(d.InactiveConns)
			t.stats(d.Stats)
		}
	}
	if !t.plain {
		return r.writeServicesTabwriter(w)
	}
	head := splitTabs(serviceHeader)
	t.width[0], t.width[1] = len(head[0]), len(head[1])
	for i := 0; i < len(t.ends); i += tableCells {
		start := 0
		if i > 0 {
			start = int(t.ends[i-1])
		}
		for j := range tableCells - 1 {
			t.width[j] = max(t.width[j], int(t.ends[i+j])-start)
			start = int(t.ends[i+j])
		}
	}
	out := make([]byte, 0, len(t.text)+n*tableCells*4+256)
	out = fmt.Appendf(out, "IP Virtual Server version %s (size=%d): lvs-rs services on %s\n", r.IPVSVersion, r.ConnTableSize, r.Interface)
	out = pad(append(out, head[0]...), t.width[0]-len(head[0])+2)
	out = append(pad(append(out, head[1]...), t.width[1]-len(head[1])+2), head[2]...)
	out = append(out, '\n')
	for i := 0; i < len(t.ends); i += tableCells {
		start := 0
		if i > 0 {
			start = int(t.ends[i-1])
		}
		for j := range tableCells {
			end := int(t.ends[i+j])
			out = append(out, t.text[start:end]...)
			if j < tableCells-1 {
				out = pad(out, t.width[j]-(end-start)+2)
			}
			start = end
		}
		out = append(out, '\n')
	}
	_, err := w.Write(out)
	return err
}

// pad appends n spaces.
func pad(b []byte, n int) []byte {
	for range n {
		b = append(b, ' ')
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
