package config

import "gopkg.in/yaml.v3"

// The decoder reads a compact tree rather than yaml.v3's Node tree: one
// array of small nodes without pointers (a single allocation the garbage
// collector never scans), children as runs of indices in a second array,
// and values as ranges of one text. A configuration of 10,000 real
// servers is some 60,000 nodes; as yaml.Node values (and their strings
// and Content slices) they would be scanned again in every collection
// while the heap grows.
//
// The fast path (fastyaml.go) builds the tree directly; files it leaves
// to yaml.v3 are parsed into a yaml.Node tree and converted (fromYAML).

// nodeKind is the kind of a node, as yaml.Kind.
type nodeKind uint8

// The kinds of nodes; 0 is no node (an empty document).
const (
	documentNode nodeKind = iota + 1
	sequenceNode
	mappingNode
	scalarNode
	aliasNode
)

// Tags the decoder tells apart, in the short form yaml.v3 gives them.
const (
	tagNone uint8 = iota // ""
	tagNull
	tagBool
	tagInt
	tagFloat
	tagStr
	tagMap
	tagSeq
	tagMerge
	tagTimestamp
	tagBinary
	tagOther // another tag, kept in tree.tags
)

// tagNames are the tags by number, up to tagOther.
var tagNames = [...]string{"", "!!null", "!!bool", "!!int", "!!float", "!!str", "!!map", "!!seq", "!!merge", "!!timestamp", "!!binary"}

// tagID returns the number of tag.
func tagID(tag string) uint8 {
	for i, name := range tagNames {
		if name == tag {
			return uint8(i)
		}
	}
	return tagOther
}

// cnode is one node of a tree. For a scalar, off and n locate its value
// in the tree's text (or, when n < 0, off is an index in extra); for a
// document or a collection they locate its children in kids; for an
// alias, off is the node it names (-1 for none).
type cnode struct {
	kind      nodeKind
	style     uint8 // yaml.Style
	tag       uint8
	line, col int32
	off, n    int32
}

// tree is a parsed document. Node 0 is the document node (or no node,
// for an empty document). It holds no pointer but its text, so that a
// tree costs the garbage collector almost nothing.
type tree struct {
	src   string           // the text values are cut from
	nodes []cnode          // the nodes
	kids  []int32          // the children of every collection, in runs
	extra []string         // values that are not a slice of src
	tags  map[int32]string // tags numbered tagOther, by node
}

// kind returns the kind of node i.
func (t *tree) kind(i int32) nodeKind { return t.nodes[i].kind }

// value returns the value of node i.
func (t *tree) value(i int32) string {
	n := &t.nodes[i]
	if n.kind != scalarNode {
		return ""
	}
	if n.n < 0 {
		return t.extra[n.off]
	}
	return t.src[n.off : n.off+n.n]
}

// content returns the children of node i.
func (t *tree) content(i int32) []int32 {
	n := &t.nodes[i]
	switch n.kind {
	case documentNode, sequenceNode, mappingNode:
		return t.kids[n.off : n.off+n.n : n.off+n.n]
	}
	return nil
}

// tagOf returns node i's tag as written in the tree.
func (t *tree) tagOf(i int32) string {
	if n := &t.nodes[i]; n.tag != tagOther {
		return tagNames[n.tag]
	}
	return t.tags[i]
}

// shortTag returns the number of node i's tag as yaml.Node.ShortTag
// resolves it (tagOther for any tag it does not number).
func (t *tree) shortTag(i int32) uint8 {
	n := &t.nodes[i]
	switch {
	case n.kind == aliasNode:
		if n.off < 0 {
			return tagNone
		}
		return t.shortTag(n.off)
	case n.kind == 0:
		return tagNull
	case n.kind == documentNode:
		return tagNone
	case n.tag != tagNone && n.tag != tagOther:
		return n.tag
	}
	// An unusual tag ("", "!", or another): as yaml.v3 resolves it.
	y := t.yamlNode(i)
	return tagID(y.ShortTag())
}

// yamlNode returns a yaml.Node with node i's kind, style, tag and value,
// for yaml.v3 to resolve or decode it.
func (t *tree) yamlNode(i int32) *yaml.Node {
	kinds := [...]yaml.Kind{0, yaml.DocumentNode, yaml.SequenceNode, yaml.MappingNode, yaml.ScalarNode, yaml.AliasNode}
	n := &t.nodes[i]
	return &yaml.Node{Kind: kinds[n.kind], Style: yaml.Style(n.style), Tag: t.tagOf(i), Value: t.value(i)}
}

// resolve follows aliases to the node they name.
func (t *tree) resolve(i int32) int32 {
	for j := 0; t.nodes[i].kind == aliasNode && t.nodes[i].off >= 0 && j < 8; j++ {
		i = t.nodes[i].off
	}
	return i
}

// isNull reports whether node i is an empty value ("", "~", "null").
func (t *tree) isNull(i int32) bool {
	return t.nodes[i].kind == scalarNode && t.shortTag(i) == tagNull
}

// fromYAML converts yaml.v3's tree of a document (the zero Node for an
// empty one) into a tree. Values are copied into one text; comments and
// anchor names are left out.
func fromYAML(doc *yaml.Node) *tree {
	c := converter{anchors: map[*yaml.Node]int32{}}
	c.t.nodes = make([]cnode, 0, 64)
	c.node(doc)
	c.t.src = string(c.text)
	return &c.t
}

// converter is the state of fromYAML.
type converter struct {
	t       tree
	text    []byte
	stack   []int32
	anchors map[*yaml.Node]int32
}

// kindOf returns the nodeKind of k.
func kindOf(k yaml.Kind) nodeKind {
	switch k {
	case yaml.DocumentNode:
		return documentNode
	case yaml.SequenceNode:
		return sequenceNode
	case yaml.MappingNode:
		return mappingNode
	case yaml.ScalarNode:
		return scalarNode
	case yaml.AliasNode:
		return aliasNode
	}
	return 0
}

// node converts n and its descendants, and returns n's index.
func (c *converter) node(n *yaml.Node) int32 {
	id := int32(len(c.t.nodes))
	c.t.nodes = append(c.t.nodes, cnode{kind: kindOf(n.Kind), style: uint8(n.Style), tag: tagID(n.Tag),
		line: int32(n.Line), col: int32(n.Column)})
	if c.t.nodes[id].tag == tagOther {
		if c.t.tags == nil {
			c.t.tags = map[int32]string{}
		}
		c.t.tags[id] = n.Tag
	}
	if n.Anchor != "" {
		c.anchors[n] = id
	}
	switch n.Kind {
	case yaml.ScalarNode:
		c.t.nodes[id].off, c.t.nodes[id].n = int32(len(c.text)), int32(len(n.Value))
		c.text = append(c.text, n.Value...)
	case yaml.AliasNode:
		target, ok := c.anchors[n.Alias]
		if !ok {
			target = -1
		}
		c.t.nodes[id].off = target
	case yaml.DocumentNode, yaml.SequenceNode, yaml.MappingNode:
		base := len(c.stack)
		for _, kid := range n.Content {
			k := c.node(kid)
			c.stack = append(c.stack, k)
		}
		c.t.nodes[id].off, c.t.nodes[id].n = int32(len(c.t.kids)), int32(len(c.stack)-base)
		c.t.kids = append(c.t.kids, c.stack[base:]...)
		c.stack = c.stack[:base]
	}
	return id
}
