package conntable

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
)

// TableRows is how many rows of a table are aligned together: a table
// is written in blocks of this many rows, each aligned on its own, so
// that printing a table holds one block in memory, not the table.
const TableRows = 1000

// WriteTable prints conns the way "ipvsadm -Lnc" does: protocol, expiry
// as mm:ss, state, client, virtual and real server.
func WriteTable(w io.Writer, conns []Conn) error {
	t := NewTable(w)
	for _, c := range conns {
		if err := t.Write(c); err != nil {
			return err
		}
	}
	return t.Close()
}

// Table prints entries one at a time the way WriteTable does: a header,
// then rows aligned in blocks of TableRows.
type Table struct {
	w    io.Writer
	tw   *tabwriter.Writer
	rows int
	buf  []byte
}

// NewTable returns a Table writing to w; nothing is written before the
// first Write or Close.
func NewTable(w io.Writer) *Table { return &Table{w: w} }

// Write prints c's row (after the header, for the first).
func (t *Table) Write(c Conn) error {
	if t.tw == nil {
		t.tw = tabwriter.NewWriter(t.w, 0, 8, 1, ' ', 0)
		fmt.Fprintln(t.tw, "pro\texpire\tstate\tsource\tvirtual\tdestination")
	}
	// The first columns are padded to their headings' widths, so that a
	// block without the heading lines up with the first where it can.
	b := cell(append(t.buf[:0], c.Protocol...), 0, 3)
	start := len(b)
	b = cell(twoDigits(append(twoDigits(b, c.Expires/60), ':'), c.Expires%60), start, 6)
	start = len(b)
	b = cell(append(b, c.State...), start, 5)
	b = append(c.Client.AppendTo(b), '\t')
	b = append(c.Virtual.AppendTo(b), '\t')
	b = append(c.Real.AppendTo(b), '\n')
	t.buf = b
	if _, err := t.tw.Write(b); err != nil {
		return err
	}
	if t.rows++; t.rows%TableRows == 0 {
		return t.tw.Flush()
	}
	return nil
}

// cell pads the cell that starts at b[start] to width and ends it.
func cell(b []byte, start, width int) []byte {
	for len(b)-start < width {
		b = append(b, ' ')
	}
	return append(b, '\t')
}

// twoDigits appends n in decimal, at least two digits.
func twoDigits(b []byte, n int) []byte {
	if n < 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(n), 10)
}

// Close prints what is left, the header alone for a table without rows.
func (t *Table) Close() error {
	if t.tw == nil {
		t.tw = tabwriter.NewWriter(t.w, 0, 8, 1, ' ', 0)
		fmt.Fprintln(t.tw, "pro\texpire\tstate\tsource\tvirtual\tdestination")
	}
	return t.tw.Flush()
}

// JSON prints entries one at a time as {"connections": [entry, ...]},
// indented by two spaces, as encoding/json's Encoder with SetIndent("",
// "  ") prints the whole list.
type JSON struct {
	w io.Writer
	n int
}

// NewJSON returns a JSON writing to w; nothing is written before the
// first Write or Close.
func NewJSON(w io.Writer) *JSON { return &JSON{w: w} }

// Write prints c as the list's next element.
func (j *JSON) Write(c Conn) error {
	b, err := json.MarshalIndent(c, "    ", "  ")
	if err != nil {
		return err
	}
	sep := ",\n    "
	if j.n == 0 {
		sep = "{\n  \"connections\": [\n    "
	}
	j.n++
	if _, err := io.WriteString(j.w, sep); err != nil {
		return err
	}
	_, err = j.w.Write(b)
	return err
}

// Close ends the list and the object.
func (j *JSON) Close() error {
	end := "\n  ]\n}\n"
	if j.n == 0 {
		end = "{\n  \"connections\": []\n}\n"
	}
	_, err := io.WriteString(j.w, end)
	return err
}
