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

// block reads the node at the cursor: a block sequence, a block mapping,
// a flow collection or a scalar.
func (p *fastParser) block() int32 {
	if p.depth++; p.depth > fastMaxDepth {
		p.fail()
	}
	defer func() { p.depth-- }()
	if p.bad {
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
	if p.depth++; p.depth > fastMaxDepth {
		p.fail()
	}
	defer func() { p.depth-- }()
	if p.bad {
		return 0
	}
	switch p.src[p.at] {
	case '[':
		return p.flowSequence()
	case '{':
		return p.flowMapping()
	}
	return p.scalar(inFlow)
}

// flowSequence reads a flow sequence on one line; the cursor is at its
// '['.
func (p *fastParser) flowSequence() int32 {
	s := p.node(sequenceNode, tagSeq, p.line, p.col()+1)
	p.t.nodes[s].style = uint8(yaml.FlowStyle)
	base := len(p.stack)
	p.at++
	p.skipSpaces()
	if p.at < p.le && p.src[p.at] == ']' {
		p.at++
		return s
	}
	for !p.bad {
		p.skipSpaces()
		if p.at == p.le {
			p.fail()
			break
		}
		p.stack = append(p.stack, p.flow())
		p.skipSpaces()
		if p.at < p.le && p.src[p.at] == ',' {
			p.at++
			continue
		}
		if p.at < p.le && p.src[p.at] == ']' {
			p.at++
			break
		}
		p.fail()
	}
	p.collect(s, base)
	return s
}

// flowMapping reads a flow mapping on one line ("{key: value, ...}", each
// key a scalar followed by ": "); the cursor is at its '{'.
func (p *fastParser) flowMapping() int32 {
	m := p.node(mappingNode, tagMap, p.line, p.col()+1)
	p.t.nodes[m].style = uint8(yaml.FlowStyle)
	base := len(p.stack)
	p.at++
	p.skipSpaces()
	if p.at < p.le && p.src[p.at] == '}' {
		p.at++
		return m
	}
	for !p.bad {
		p.skipSpaces()
		if p.at == p.le {
			p.fail()
			break
		}
		start := p.at
		key := p.scalar(inFlowKey)
		p.skipSpaces()
		if p.bad || p.at+1 >= p.le || p.src[p.at] != ':' || p.src[p.at+1] != ' ' || p.at-start > fastMaxKey {
			p.fail()
			break
		}
		p.at += 2
		p.skipSpaces()
		if p.at == p.le {
			p.fail()
			break
		}
		p.stack = append(p.stack, key, p.flow())
		p.skipSpaces()
		if p.at < p.le && p.src[p.at] == ',' {
			p.at++
			continue
		}
		if p.at < p.le && p.src[p.at] == '}' {
			p.at++
			break
		}
		p.fail()
	}
	p.collect(m, base)
	return m
}
