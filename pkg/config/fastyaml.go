package config

import (
	"strings"
	"unsafe"
)

// The fast path reads the common subset of YAML that configuration files
// are written in, and builds the very tree fromYAML makes of yaml.v3's
// (kinds, styles, tags, values, lines and columns). Anything outside the subset (and
// anything yaml.v3 would refuse) is "not handled", and yaml.v3 reads the
// file as before, so its results and its messages never change.
//
// The subset: one document, with an optional leading "---"; block
// mappings and block sequences (also "- key: value" and "- - x"), nested
// by spaces; keys and values that are single-line plain scalars or
// single-line quoted scalars (double-quoted ones without escapes); values
// that are single-line flow sequences and flow mappings of such scalars
// and of each other ("[a, 'b']", "{type: tcp, port: 80}", "[{a: 1}]",
// each key of a flow mapping followed by ": "); comments and blank lines;
// LF or CRLF line breaks. Not handled, among others: tabs, bytes outside
// printable ASCII, anchors, aliases, tags, block scalars, multi-line
// scalars or flows, a flow mapping's key without a value, "? " keys,
// directives, document markers after the first line of content.
//
// The tree is three allocations (nodes, children, and rarely values that
// are not a slice of the file) for 60,000 nodes, where yaml.v3 makes five
// per node.

const (
	// fastMaxDepth bounds the nesting the fast path follows.
	fastMaxDepth = 200
	// fastMaxKey bounds a key's length: yaml.v3 refuses implicit keys
	// longer than 1024 characters.
	fastMaxKey = 1000
)

// fastParser is the state of one fast-path read.
type fastParser struct {
	src string
	// The current line is src[ls:le] (without its line break), the
	// cursor is at src[at]; the next line starts at src[next].
	ls, le, at, next int
	line             int  // number of the current line, from 1
	eof              bool // no line left (or bad)
	bad              bool // not handled: leave the file to yaml.v3
	depth            int  // nesting of block
	// Where the read stopped when bad: line and column from 1.
	failLine, failCol int

	t     tree    // the tree being built
	stack []int32 // children of the collections being read
}

// fastParse reads data through the fast path. It returns the tree yaml.v3
// would give (through fromYAML; no node for a document without content),
// or ok false when data is outside the subset. The tree's text is data
// itself, not a copy: it must not outlive data's use by Parse.
func fastParse(data []byte) (t *tree, ok bool) {
	p := fastRead(data)
	if p == nil || p.bad {
		return nil, false
	}
	return &p.t, true
}

// fastFailure returns where the fast path stopped reading data, which it
// does not handle: a line and a column from 1, or 0, 0 when it reads data
// or does not even start (a byte outside printable ASCII).
func fastFailure(data []byte) (line, col int) {
	if p := fastRead(data); p != nil && p.bad {
		return p.failLine, p.failCol
	}
	return 0, 0
}

// fastRead reads data through the fast path: nil when data has a byte
// outside its subset, else the parser, bad when the fast path does not
// handle data.
func fastRead(data []byte) *fastParser {
	nodes, fits := fastText(data)
	if !fits {
		return nil
	}
	p := &fastParser{src: unsafe.String(unsafe.SliceData(data), len(data))}
	p.t = tree{src: p.src, nodes: make([]cnode, 1, nodes+2), kids: make([]int32, 0, nodes+1)}
	if !p.nextContent(false) {
		return p
	}
	p.t.nodes[0] = cnode{kind: documentNode, line: int32(p.line), col: int32(p.col() + 1)}
	if p.marker() == '-' {
		p.at += 3
		p.endLine()
		if !p.nextContent(true) {
			p.fail() // an empty document: left to yaml.v3
			return p
		}
	}
	root := p.block()
	if !p.eof {
		p.fail() // content after the root's
	}
	if p.bad {
		return p
	}
	p.stack = append(p.stack, root)
	p.collect(0, 0)
	return p
}

// fastText reports whether every byte of data is printable ASCII, a
// space, a line feed, or a carriage return followed by a line feed. It
// also estimates how many nodes the fast path makes of data: two for
// each ':' and one for each '-', '[', '{' and ','.
func fastText(data []byte) (nodes int, ok bool) {
	// Eight bytes at a time: every byte the table accepts has the bit
	// 0x80 set, so a chunk without a refused byte keeps it in the AND of
	// its weights; a chunk that loses it (a '\r', or a refused byte) is
	// looked at byte by byte.
	sum, i := 0, 0
	for ; i+8 <= len(data); i += 8 {
		b := data[i : i+8 : i+8]
		w0, w1, w2, w3 := fastBytes[b[0]], fastBytes[b[1]], fastBytes[b[2]], fastBytes[b[3]]
		w4, w5, w6, w7 := fastBytes[b[4]], fastBytes[b[5]], fastBytes[b[6]], fastBytes[b[7]]
		if w0&w1&w2&w3&w4&w5&w6&w7&0x80 == 0 {
			n, ok := fastBytesAt(data, i, i+8)
			if !ok {
				return 0, false
			}
			sum += n
			continue
		}
		sum += int(w0) + int(w1) + int(w2) + int(w3) + int(w4) + int(w5) + int(w6) + int(w7)
	}
	n, ok := fastBytesAt(data, i, len(data))
	if !ok {
		return 0, false
	}
	return sum + n - 0x80*len(data), true
}

// fastBytesAt is fastText for data[from:to], but the sum of the bytes'
// weights in the table (0x80 each beside the nodes they count).
func fastBytesAt(data []byte, from, to int) (sum int, ok bool) {
	for i := from; i < to; i++ {
		c := data[i]
		w := fastBytes[c]
		if w == 0 {
			if c != '\r' || i+1 == len(data) || data[i+1] != '\n' {
				return 0, false
			}
			w = 0x80
		}
		sum += int(w)
	}
	return sum, true
}

// fastBytes is, for each byte, 0 when fastText refuses it, else 0x80 +
// the nodes it counts for.
var fastBytes = func() (t [256]uint8) {
	t['\n'] = 0x80
	for c := 0x20; c < 0x7F; c++ {
		t[c] = 0x80
	}
	t[':'] = 0x82
	t['-'], t['['], t['{'], t[','] = 0x81, 0x81, 0x81, 0x81
	return t
}()

// fail marks the input as not handled and ends the read; the first call
// records where.
func (p *fastParser) fail() {
	if !p.bad {
		p.failLine, p.failCol = p.line, p.col()+1
	}
	p.bad, p.eof = true, true
}

// col is the cursor's column, from 0.
func (p *fastParser) col() int {
	return p.at - p.ls
}

// nextLine moves to the next line, and reports false when there is none.
func (p *fastParser) nextLine() bool {
	if p.bad || p.next >= len(p.src) {
		p.eof = true
		return false
	}
	p.ls, p.at = p.next, p.next
	p.line++
	if i := strings.IndexByte(p.src[p.ls:], '\n'); i >= 0 {
		p.le, p.next = p.ls+i, p.ls+i+1
	} else {
		p.le, p.next = len(p.src), len(p.src)
	}
	if p.le > p.ls && p.src[p.le-1] == '\r' {
		p.le--
	}
	return true
}

// more moves the cursor to the next content (see nextContent); a
// document marker there is not handled.
func (p *fastParser) more() bool {
	return p.nextContent(true)
}

// nextContent moves the cursor to the first character of the next line
// that is neither blank nor a comment, and reports false when there is
// none. A document marker there ("---", "...") is not handled, except
// "---" when later is false (the first content of the file).
func (p *fastParser) nextContent(later bool) bool {
	for p.nextLine() {
		i := p.ls
		for i < p.le && p.src[i] == ' ' {
			i++
		}
		if i == p.le || p.src[i] == '#' {
			continue
		}
		p.at = i
		if m := p.marker(); m == '.' || m == '-' && later {
			p.fail()
			return false
		}
		return true
	}
	return false
}

// marker returns '-' or '.' when the cursor is at a document marker
// ("---" or "..." at the start of a line, followed by a blank or the end
// of the line), else 0.
func (p *fastParser) marker() byte {
	if p.at != p.ls || p.le-p.ls < 3 || p.le-p.ls > 3 && p.src[p.ls+3] != ' ' {
		return 0
	}
	switch p.src[p.ls : p.ls+3] {
	case "---":
		return '-'
	case "...":
		return '.'
	}
	return 0
}

// skipSpaces moves the cursor over spaces.
func (p *fastParser) skipSpaces() {
	for p.at < p.le && p.src[p.at] == ' ' {
		p.at++
	}
}

// atLineEnd reports whether nothing but a comment is left on the line,
// after spaces.
func (p *fastParser) atLineEnd() bool {
	p.skipSpaces()
	return p.at == p.le || p.src[p.at] == '#' && p.src[p.at-1] == ' '
}

// endLine requires that nothing but a comment is left on the line.
func (p *fastParser) endLine() {
	if !p.atLineEnd() {
		p.fail()
	}
}

// entry reports whether the cursor is at a block sequence entry ("-"
// followed by a space or the end of the line).
func (p *fastParser) entry() bool {
	return p.src[p.at] == '-' && (p.at+1 == p.le || p.src[p.at+1] == ' ')
}

// node adds a node and returns its index.
func (p *fastParser) node(kind nodeKind, tag uint8, line, column int) int32 {
	id := int32(len(p.t.nodes))
	p.t.nodes = append(p.t.nodes, cnode{kind: kind, tag: tag, line: int32(line), col: int32(column)})
	return id
}

// scalarNode adds a scalar node whose value is src[off:off+n], and returns
// its index.
func (p *fastParser) scalarNode(tag uint8, line, column, off, n int) int32 {
	id := int32(len(p.t.nodes))
	p.t.nodes = append(p.t.nodes, cnode{kind: scalarNode, tag: tag, line: int32(line), col: int32(column), off: int32(off), n: int32(n)})
	return id
}

// collect takes the children pushed on the stack since base as the
// children of node id.
func (p *fastParser) collect(id int32, base int) {
	n := &p.t.nodes[id]
	n.off, n.n = int32(len(p.t.kids)), int32(len(p.stack)-base)
	p.t.kids = append(p.t.kids, p.stack[base:]...)
	p.stack = p.stack[:base]
}
