package config

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Error is one problem in a configuration, located in its source.
//
// It renders as "FILE:LINE:COLUMN: field: problem". Parts that are unknown
// are left out: Line 0 means "no position" (command-line flags, or a YAML
// syntax error whose line yaml.v3 does not expose), File "" means the
// configuration did not come from a file, and Field "" means the problem
// is not about one field (a YAML syntax error, the document as a whole).
type Error struct {
	File   string // the file name as given to Load or Parse; "" for flags
	Line   int    // 1-based; 0 when unknown
	Column int    // 1-based; 0 when unknown
	// Field is the path of the offending value, such as
	// "virtual_servers[0].real_servers[1].weight", or a flag such as "--vip".
	Field   string
	Problem string // what is wrong, in one line
}

// Error renders e as "FILE:LINE:COLUMN: field: problem".
func (e Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		if e.File != "" {
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(max(e.Column, 1)))
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Problem)
	return b.String()
}

// Errors is every problem found in one configuration, sorted by position.
// Load, Parse and the flag constructors return it (as an error) whenever
// there is at least one problem.
type Errors []Error

// Error renders every problem on its own line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the individual problems, so that errors.As can find an
// Error inside Errors.
func (es Errors) Unwrap() []error {
	errs := make([]error, len(es))
	for i, e := range es {
		errs[i] = e
	}
	return errs
}

// sorted returns es ordered by position (problems without a position keep
// their order and come first), with exact repetitions removed: an alias
// used twice can make the same value wrong twice at the same place.
func (es Errors) sorted() Errors {
	out := make(Errors, 0, len(es))
	seen := map[Error]bool{}
	for _, e := range es {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	return out
}

// pos is where a value sits: its field path and, for a file, its position.
//
// The path is kept in pieces (field, then the list item, then the key) and
// rendered by name only when a message needs it: a file of thousands of
// values builds no path string for the values that are right.
type pos struct {
	field     string // the path, or its start when item or key is set
	key       string // a key under field (and item); "" for none
	item      int32  // 1 + the index of a list item under field; 0 for none
	line, col int32
}

// name renders p's field path, such as
// "virtual_servers[0].real_servers[1].weight".
func (p pos) name() string {
	s := p.field
	if p.item > 0 {
		s = itemPath(s, int(p.item)-1)
	}
	if p.key != "" {
		s = joinField(s, p.key)
	}
	return s
}

// itemPath renders item i of the list at path: "path[i]".
func itemPath(path string, i int) string {
	var buf [24]byte
	b := append(buf[:0], '[')
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, ']')
	return path + string(b)
}

// child returns the position of a value one level below p, at the same
// place (used for values that are missing from a mapping).
func (p pos) child(name string) pos {
	return pos{field: joinField(p.name(), name), line: p.line, col: p.col}
}

// joinField appends name to a field path.
func joinField(path, name string) string {
	if path == "" {
		return name
	}
	if strings.HasPrefix(name, "[") {
		return path + name
	}
	return path + "." + name
}

// maxProblems is how many problems one configuration reports at most; a
// file that has more is not worth reading further, and aliases could
// otherwise multiply one mistake into millions of lines.
const maxProblems = 1000

// problems collects the Errors of one configuration.
type problems struct {
	file    string
	errs    Errors
	dropped int // problems beyond maxProblems
}

// add records a problem at p.
func (ps *problems) add(p pos, problem string) {
	if len(ps.errs) >= maxProblems {
		ps.dropped++
		return
	}
	ps.errs = append(ps.errs, Error{File: ps.file, Line: int(p.line), Column: int(p.col), Field: p.name(), Problem: problem})
}

// addAlways records a problem at p even beyond maxProblems: for the
// problems that explain why reading stopped.
func (ps *problems) addAlways(p pos, problem string) {
	ps.errs = append(ps.errs, Error{File: ps.file, Line: int(p.line), Column: int(p.col), Field: p.name(), Problem: problem})
}

// mark returns how far ps is, for rewind.
func (ps *problems) mark() [2]int { return [2]int{len(ps.errs), ps.dropped} }

// rewind forgets the problems added since mark m.
func (ps *problems) rewind(m [2]int) {
	clear(ps.errs[m[0]:])
	ps.errs, ps.dropped = ps.errs[:m[0]], m[1]
}

// absorb appends the problems of o after those of ps, as if they had been
// added to ps in the first place: past maxProblems they are counted, not
// kept.
func (ps *problems) absorb(o *problems) {
	for _, e := range o.errs {
		if len(ps.errs) >= maxProblems {
			ps.dropped++
			continue
		}
		ps.errs = append(ps.errs, e)
	}
	ps.dropped += o.dropped
}

// err returns the collected problems as an error, or nil when there are none.
func (ps *problems) err() error {
	if len(ps.errs) == 0 {
		return nil
	}
	errs := ps.errs.sorted()
	for i := range errs {
		// Fields and problems may hold slices of the file's text.
		errs[i].Field, errs[i].Problem = strings.Clone(errs[i].Field), strings.Clone(errs[i].Problem)
	}
	if ps.dropped > 0 {
		errs = append(errs, Error{File: ps.file, Problem: fmt.Sprintf("%d more problems not shown", ps.dropped)})
	}
	return errs
}
