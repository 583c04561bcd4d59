package config

import "strconv"

// fieldPath is the path of a value being decoded, kept in pieces like pos
// so that the values that are right cost no string: a list item is its
// list's path and index until a message renders it.
type fieldPath struct {
	field string // the rendered part
	item  int32  // 1 + the index of a list item under field; 0 for none
}

// top is the path of the document itself.
var top fieldPath

// pathOf returns the path named by the rendered string s.
func pathOf(s string) fieldPath { return fieldPath{field: s} }

// String renders the path.
func (p fieldPath) String() string { return pos{field: p.field, item: p.item}.name() }

// isTop reports whether p is the document itself.
func (p fieldPath) isTop() bool { return p.field == "" && p.item == 0 }

// at returns the position of n, written at p.
func (p fieldPath) at(n *cnode) pos {
	return pos{field: p.field, item: p.item, line: n.line, col: n.col}
}

// keyAt returns the position of n, the value of key under p.
func (p fieldPath) keyAt(n *cnode, key string) pos {
	return pos{field: p.field, item: p.item, key: key, line: n.line, col: n.col}
}

// sub returns the path of key name under p, rendered (one string for a
// block of keys).
func (p fieldPath) sub(name string) fieldPath {
	if p.item == 0 {
		return fieldPath{field: joinField(p.field, name)}
	}
	var buf [24]byte
	b := strconv.AppendInt(append(buf[:0], '['), int64(p.item-1), 10)
	b = append(b, "]."...)
	return fieldPath{field: p.field + string(b) + name}
}

// index returns the path of item i of the list at p.
func (p fieldPath) index(i int) fieldPath {
	if p.item != 0 {
		p = pathOf(p.String())
	}
	return fieldPath{field: p.field, item: int32(i) + 1}
}
