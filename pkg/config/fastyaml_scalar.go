package config

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// This file reads the fast path's scalars, all on one line.

// Where a scalar is read: the plain ones end differently.
type scalarAt uint8

const (
	inBlock   scalarAt = iota // a block's key or value
	inFlow                    // a value in a flow collection
	inFlowKey                 // a key in a flow mapping
)

// scalar reads the scalar at the cursor, plain or quoted, and leaves the
// cursor after it. In a flow collection, a plain scalar ends at ',', ']'
// or '}' (a key also at ": ").
func (p *fastParser) scalar(at scalarAt) int32 {
	switch p.src[p.at] {
	case '\'':
		return p.singleQuoted()
	case '"':
		return p.doubleQuoted()
	}
	return p.plain(at)
}

// plain reads a plain scalar. In a block, it ends at a ':' followed by a
// space or the end of the line, at a comment (" #"), or at the end of
// the line; its trailing spaces are not part of it. In a flow collection
// it ends at ',', ']' or '}', a key also at a ':' followed by a space; a
// value may hold a ':' followed by a letter, a digit or another ':' (an
// IPv6 address); any other ':' or indicator there is not handled.
func (p *fastParser) plain(at scalarAt) int32 {
	start := p.at
	flow := at != inBlock
	if !p.plainStart(flow) {
		p.fail()
	}
	src := p.src[:p.le]
	stops := uint8(blockStop)
	if flow {
		stops = flowStop | flowEnd
	}
	i, end := start, start
scan:
	for i < len(src) {
		c := src[i]
		if charClass[c]&stops == 0 {
			i++
			end = i
			continue
		}
		switch {
		case c == ' ':
			if i+1 < len(src) && src[i+1] == '#' {
				break scan
			}
			i++
			continue
		case charClass[c]&flowEnd != 0 && flow:
			break scan
		case c == ':' && at == inFlowKey && i+1 < len(src) && src[i+1] == ' ':
			break scan
		case c == ':' && at == inFlow && i+1 < len(src) && inWord(src[i+1]):
			// Part of a value ("2001:db8::1"), as for yaml.v3.
		case flow:
			p.fail()
			break scan
		case c == ':' && (i+1 == len(src) || src[i+1] == ' '):
			break scan
		}
		i++
		end = i
	}
	p.at = i
	return p.scalarNode(plainTagID(p.src[start:end]), p.line, start-p.ls+1, start, end-start)
}

// Classes of characters, as bits of charClass.
const (
	indicator = 1 << iota // no plain scalar starts with it
	blockStop             // may end a plain scalar in a block: ' ', ':'
	flowStop              // not handled in a plain scalar of a flow, or ' '
	flowEnd               // ends a plain scalar in a flow: ',', ']', '}'
	numStart              // may start a number: "+-.0123456789"
)

// charClass is the classes of each byte.
var charClass = func() (t [256]uint8) {
	set := func(chars string, class uint8) {
		for i := 0; i < len(chars); i++ {
			t[chars[i]] |= class
		}
	}
	set("?:,[]{}#&*!|>'\"%@`", indicator)
	set(" :", blockStop)
	set(" :?[{}#", flowStop)
	set(",]}", flowEnd)
	set("+-.0123456789", numStart)
	return t
}()

// inWord reports whether c is a letter, a digit or ':'.
func inWord(c byte) bool {
	return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z' || c == ':'
}

// plainStart reports whether a plain scalar may start at the cursor:
// not at an indicator, except '-' followed by a character that is no
// space (in a flow, by a letter, a digit or a '.').
func (p *fastParser) plainStart(flow bool) bool {
	c := p.src[p.at]
	if c != '-' {
		return charClass[c]&indicator == 0
	}
	if p.at+1 == p.le {
		return false
	}
	next := p.src[p.at+1]
	if flow {
		return next == '.' || next >= '0' && next <= '9' || next|0x20 >= 'a' && next|0x20 <= 'z'
	}
	return next != ' '
}

// singleQuoted reads a single-quoted scalar (” stands for ').
func (p *fastParser) singleQuoted() int32 {
	start, i, doubled := p.at, p.at+1, false
	for {
		j := strings.IndexByte(p.src[i:p.le], '\'')
		if j < 0 {
			p.fail() // on more than one line, or not closed
			return 0
		}
		i += j
		if i+1 < p.le && p.src[i+1] == '\'' {
			doubled = true
			i += 2
			continue
		}
		break
	}
	p.at = i + 1
	n := p.quotedNode(start, start+1, i, yaml.SingleQuotedStyle)
	if doubled {
		c := &p.t.nodes[n]
		c.off, c.n = int32(len(p.t.extra)), -1
		p.t.extra = append(p.t.extra, strings.ReplaceAll(p.src[start+1:i], "''", "'"))
	}
	return n
}

// doubleQuoted reads a double-quoted scalar without escapes.
func (p *fastParser) doubleQuoted() int32 {
	start := p.at
	j := strings.IndexByte(p.src[start+1:p.le], '"')
	if j < 0 || strings.IndexByte(p.src[start+1:start+1+j], '\\') >= 0 {
		p.fail() // on more than one line, not closed, or with escapes
		return 0
	}
	p.at = start + 2 + j
	return p.quotedNode(start, start+1, start+1+j, yaml.DoubleQuotedStyle)
}

// quotedNode makes the node of a quoted scalar that starts at start,
// with the value src[from:to].
func (p *fastParser) quotedNode(start, from, to int, style yaml.Style) int32 {
	n := p.node(scalarNode, tagStr, p.line, start-p.ls+1)
	c := &p.t.nodes[n]
	c.off, c.n, c.style = int32(from), int32(to-from), uint8(style)
	return n
}

// plainTag is the tag yaml.v3 resolves for a plain scalar: "!!merge" for
// "<<", else what Node.ShortTag resolves (its resolver's table of words,
// then numbers and timestamps), computed here without its allocations for
// the common shapes: words, decimal integers, dotted addresses.
func plainTag(v string) string {
	if id := plainTagID(v); id != tagOther {
		return tagNames[id]
	}
	n := yaml.Node{Kind: yaml.ScalarNode, Value: v}
	return n.ShortTag()
}

// plainTagID is plainTag as a tag number.
func plainTagID(v string) uint8 {
	switch v {
	case "", "~", "null", "Null", "NULL":
		return tagNull
	case "true", "True", "TRUE", "false", "False", "FALSE":
		return tagBool
	case "<<":
		return tagMerge
	}
	if charClass[v[0]]&numStart == 0 {
		return tagStr
	}
	switch numberShape(v) {
	case shapeInt:
		return tagInt
	case shapeDotted:
		return tagStr
	}
	n := yaml.Node{Kind: yaml.ScalarNode, Value: v}
	return tagID(n.ShortTag())
}

// Shapes of plain scalars that numberShape tells apart.
const (
	shapeOther  = iota
	shapeInt    // a decimal integer that fits an int64, without sign or leading zero
	shapeDotted // digits in three or more groups separated by single dots (an IPv4 address): neither a number nor a timestamp
)

// numberShape returns the shape of v, in one pass.
func numberShape(v string) int {
	dots, digits := 0, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && digits > 0:
			dots++
			digits = 0
		default:
			return shapeOther
		}
	}
	switch {
	case dots == 0 && len(v) <= 18 && (v[0] != '0' || len(v) == 1):
		return shapeInt
	case dots >= 2 && digits > 0:
		return shapeDotted
	}
	return shapeOther
}
