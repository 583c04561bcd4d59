package config

import "gopkg.in/yaml.v3"

// This file reads the fast path's block structure. Each reader starts
// with the cursor on its first character and ends with it on the first
// character of the next content line (or at the end): the caller looks at
// that line's column to decide whether its collection goes on. A line
// indented deeper than the keys or entries of the innermost collection
// then open is not handled (a mapping refuses it, a sequence leaves it to
// its parents, and the top refuses anything left): after a scalar, yaml.v3
// would read it as more of the scalar, or refuse it.

// enter goes one node deeper, failing the parse past fastMaxDepth, and
// reports whether it can go on; each enter is paired with a deferred
// leave.
func (p *fastParser) enter() bool {
	if p.depth++; p.depth > fastMaxDepth {
		p.fail()
	}
	return !p.bad
}

// leave comes back up from a node enter went into.
func (p *fastParser) leave() { p.depth-- }

// block reads the node at the cursor: a block sequence, a block mapping,
// a flow collection or a scalar.
func (p *fastParser) block() int32 {
	defer p.leave()
	if !p.enter() {
		return 0
	}
	if p.entry() {
		return p.sequence()
	}
	if c := p.src[p.at]; c == '[' || c == '{' {
		n := p.flow()
		p.endValue()
		return n
	}
	start := p.at
	n := p.scalar(inBlock)
	if p.colon() {
		if p.at-start > fastMaxKey {
			p.fail()
		}
		return p.mapping(n)
	}
	p.endValue()
	return n
}

// colon reports whether the cursor, after spaces, is at the ':' that ends
// a key (followed by a space or the end of the line).
func (p *fastParser) colon() bool {
	p.skipSpaces()
	return p.at < p.le && p.src[p.at] == ':' && (p.at+1 == p.le || p.src[p.at+1] == ' ')
}

// endValue ends a scalar or flow value: nothing but a comment may follow
// on its line.
func (p *fastParser) endValue() {
	p.endLine()
	p.more()
}

// mapping reads a block mapping whose first key, key, has been read; the
// cursor is at the key's ':'.
func (p *fastParser) mapping(key int32) int32 {
	k := p.t.nodes[key]
	c := int(k.col) - 1
	m := p.node(mappingNode, tagMap, int(k.line), int(k.col))
	base := len(p.stack)
	for !p.bad {
		p.stack = append(p.stack, key)
		p.stack = append(p.stack, p.mappingValue(c))
		if p.eof || p.col() < c {
			break
		}
		if p.col() > c {
			p.fail() // deeper than the keys
			break
		}
		start := p.at
		if key = p.scalar(inBlock); !p.colon() || p.at-start > fastMaxKey {
			p.fail() // not a key
		}
	}
	p.collect(m, base)
	return m
}

// mappingValue reads the value after a key of the mapping at column c;
// the cursor is at the key's ':'.
func (p *fastParser) mappingValue(c int) int32 {
	line, column := p.line, p.col()+2 // where yaml.v3 puts an empty value
	p.at++
	if !p.atLineEnd() {
		return p.inline()
	}
	switch {
	case !p.more():
	case p.col() > c:
		return p.block()
	case p.col() == c && p.entry():
		return p.sequence() // a sequence indented as the key
	}
	return p.node(scalarNode, tagNull, line, column)
}

// inline reads a value on the line of its key: a scalar or a flow
// collection.
func (p *fastParser) inline() int32 {
	var n int32
	switch {
	case p.entry():
		p.fail() // yaml.v3 refuses a sequence there
	case p.src[p.at] == '[' || p.src[p.at] == '{':
		n = p.flow()
	default:
		n = p.scalar(inBlock)
		if p.colon() {
			p.fail() // yaml.v3 refuses a mapping there
		}
	}
	p.endValue()
	return n
}

// sequence reads a block sequence; the cursor is at its first '-'.
func (p *fastParser) sequence() int32 {
	c := p.col()
	s := p.node(sequenceNode, tagSeq, p.line, c+1)
	base := len(p.stack)
	for !p.bad {
		line := p.line
		p.at++
		var item int32
		switch {
		case !p.atLineEnd():
			item = p.block()
		case p.more() && p.col() > c:
			item = p.block()
		default:
			item = p.node(scalarNode, tagNull, line, c+2)
		}
		p.stack = append(p.stack, item)
		if p.eof || p.col() != c || !p.entry() {
			break
		}
	}
	p.collect(s, base)
	return s
}

// flow reads the node at the cursor inside, or at the start of, a flow
// collection on one line: a flow sequence, a flow mapping or a scalar.
func (p *fastParser) flow() int32 {
	defer p.leave()
	if !p.enter() {
		return 0
	}
	switch p.src[p.at] {
	case '[':
		return p.flowCollection(sequenceNode, tagSeq, ']')
	case '{':
		return p.flowCollection(mappingNode, tagMap, '}')
	}
	return p.scalar(inFlow)
}

// flowCollection reads a flow sequence ("[a, b]": kind sequenceNode,
// closed by end ']') or a flow mapping ("{key: value, ...}": mappingNode,
// '}') on one line; the cursor is at its opening character.
func (p *fastParser) flowCollection(kind nodeKind, tag uint8, end byte) int32 {
	c := p.node(kind, tag, p.line, p.col()+1)
	p.t.nodes[c].style = uint8(yaml.FlowStyle)
	base := len(p.stack)
	p.at++
	p.flowItems(end)
	p.collect(c, base)
	return c
}

// flowItems reads the entries of a flow collection, separated by ',', up
// to and past its closing character end (']' or '}': then each entry is
// a key, ": " and a value); the cursor is after the opening one. The
// entries' nodes are pushed on the stack.
func (p *fastParser) flowItems(end byte) {
	p.skipSpaces()
	if p.at < p.le && p.src[p.at] == end {
		p.at++
		return
	}
	for !p.bad {
		p.skipSpaces()
		if p.at == p.le || end == '}' && !p.flowKey() {
			p.fail()
			return
		}
		p.stack = append(p.stack, p.flow())
		p.skipSpaces()
		if p.at < p.le && p.src[p.at] == ',' {
			p.at++
			continue
		}
		if p.at < p.le && p.src[p.at] == end {
			p.at++
			return
		}
		p.fail()
	}
}

// flowKey reads a flow mapping's key and the ": " after it, pushes the
// key's node and leaves the cursor on the value; false when there is none.
func (p *fastParser) flowKey() bool {
	start := p.at
	key := p.scalar(inFlowKey)
	p.skipSpaces()
	if p.bad || p.at+1 >= p.le || p.src[p.at] != ':' || p.src[p.at+1] != ' ' || p.at-start > fastMaxKey {
		return false
	}
	p.at += 2
	p.skipSpaces()
	if p.at == p.le {
		return false
	}
	p.stack = append(p.stack, key)
	return true
}
