package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// parserProblem reports whether msg comes from yaml.v3's parser stage.
// Unlike its scanner stage, the parser reports a 0-based line.
func parserProblem(msg string) bool {
	switch msg {
	case "did not find expected <stream-start>",
		"did not find expected <document start>",
		"found undefined tag handle",
		"did not find expected node content",
		"did not find expected '-' indicator",
		"did not find expected key",
		"did not find expected ',' or ']'",
		"did not find expected ',' or '}'",
		"found duplicate %YAML directive",
		"found incompatible YAML document",
		"found duplicate %TAG directive":
		return true
	}
	return false
}

// syntaxError locates a yaml.v3 error ("yaml: line N: problem"). yaml.v3
// leaves the line out exactly when it is the first one, except for an
// alias to an unknown anchor, which is looked up in data. The column is
// never exposed and is reported as 1, except for the parser stage's
// errors and the scanner's of laterProblem, located by parserProblemAt
// (a tab in the indentation at the tab).
func syntaxError(err error, data []byte) (pos, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	p := pos{line: 1, col: 1}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		num, text, _ := strings.Cut(rest, ": ")
		if n, convErr := strconv.Atoi(num); convErr == nil && n > 0 {
			p.line, msg = int32(n), text
			if parserProblem(msg) {
				p.line++
			}
		}
	} else if name, ok := strings.CutPrefix(msg, "unknown anchor '"); ok {
		p = findAlias(data, strings.TrimSuffix(name, "' referenced"))
	}
	switch {
	case parserProblem(msg):
		p = parserProblemAt(data, err, int(p.line))
	case laterProblem(msg):
		p = parserProblemAt(data, err, int(p.line))
		if msg == tabIndent || msg == tabBlock {
			p.col = tabColumn(data, int(p.line), p.col)
		}
	}
	return p, "invalid YAML: " + msg
}

// yaml.v3's problems with a tab in a line's indentation, and in a block
// scalar's.
const (
	tabIndent = "found a tab character that violates indentation"
	tabBlock  = "found a tab character where an indentation space is expected"
)

// laterProblem reports whether msg is one of yaml.v3's scanner problems
// that it names by the line where the scalar before the problem starts
// (the line before a tab-indented one; the first line of a block
// scalar, or of a quoted scalar for an escape on a later line): they are located as the parser
// stage's are, at the first line whose end gives the same error.
func laterProblem(msg string) bool {
	switch msg {
	case tabIndent, tabBlock,
		"found unknown escape character",
		"did not find expected hexdecimal number",
		"found invalid Unicode character escape code":
		return true
	}
	return false
}

// tabColumn returns the column (from 1) of the first tab in the
// indentation of line (from 1) of data, or col when there is none.
func tabColumn(data []byte, line int, col int32) int32 {
	text := string(data)
	for i := 1; i < line; i++ {
		j := strings.IndexByte(text, '\n')
		if j < 0 {
			return col
		}
		text = text[j+1:]
	}
	for i := 0; i < len(text) && (text[i] == ' ' || text[i] == '\t'); i++ {
		if text[i] == '\t' {
			return int32(i + 1)
		}
	}
	return col
}

// parserProblemAt locates err, an error of yaml.v3's parser stage in
// data (or a scanner error of laterProblem, named the same way). Its message names the line of the context (the start of the
// enclosing block or flow: line 2 for a bad indentation at line 286 of a
// list) unless that is line 1, and never the problem's own line, which is
// at or after the line named, from. The problem's line is the first whose
// end, data cut there, makes yaml.v3 give the very same error: the line
// where the fast path stopped when it is that one, else the first found
// by bisection. Its column is where the fast path stopped on that line,
// else that of the line's first character that is not a blank.
func parserProblemAt(data []byte, err error, from int) pos {
	var ends []int // ends[i] is the offset past line i+1
	for off := 0; ; {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			ends = append(ends, len(data))
			break
		}
		off += i + 1
		ends = append(ends, off)
	}
	last := len(ends)
	if from < 1 || from > last {
		return pos{line: int32(from), col: 1} // lines broken by CR alone
	}
	same := func(line int) bool {
		e := yamlError(data[:ends[line-1]])
		return e != nil && e.Error() == err.Error()
	}
	failLine, failCol := fastFailure(data)
	line := failLine
	if line < from || line > last || !same(line) || line > from && same(line-1) {
		// The last line always gives err: it ends data.
		line = from + sort.Search(last-from, func(i int) bool { return same(from + i) })
	}
	if line == failLine {
		return pos{line: int32(line), col: int32(failCol)}
	}
	start := 0
	if line > 1 {
		start = ends[line-2]
	}
	text := string(data[start:ends[line-1]])
	blanks := len(text) - len(strings.TrimLeft(text, " \t"))
	return pos{line: int32(line), col: int32(utf8.RuneCountInString(text[:blanks]) + 1)}
}

// yamlError returns the first error yaml.v3 gives reading data's
// documents one after the other, as Parse does; nil for none.
func yamlError(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// findAlias returns the position of the first alias "*name" in data, or
// no position when it cannot be found.
func findAlias(data []byte, name string) pos {
	text := string(data)
	for off := 0; ; {
		i := strings.Index(text[off:], "*"+name)
		if i < 0 {
			return pos{}
		}
		start, end := off+i, off+i+1+len(name)
		off = end
		if end < len(text) && !strings.ContainsRune(" \t\r\n,]}", rune(text[end])) {
			continue // a longer name
		}
		if start > 0 && !strings.ContainsRune(" \t\r\n,[{:-?", rune(text[start-1])) {
			continue // inside a scalar
		}
		return positionOf(text, start)
	}
}

// positionOf returns the line and column (counted in characters) of byte
// offset off in text.
func positionOf(text string, off int) pos {
	before := text[:off]
	line := strings.Count(before, "\n") + 1
	lineStart := strings.LastIndexByte(before, '\n') + 1
	return pos{line: int32(line), col: int32(utf8.RuneCountInString(before[lineStart:]) + 1)}
}

// scanText finds the first character that yaml.v3 would refuse before
// parsing (invalid UTF-8, a control character), so that the message has
// a position; yaml.v3 reports those without one. It also refuses the
// characters yaml.v3 reads as line breaks that editors do not show (see
// hiddenBreak). UTF-16 documents (with a byte order mark) are left to
// yaml.v3 but for those.
func scanText(data []byte) (p pos, problem string, bad bool) {
	if len(data) >= 2 && (data[0] == 0xFF && data[1] == 0xFE || data[0] == 0xFE && data[1] == 0xFF) {
		return scanUTF16(data)
	}
	text := string(data)
	for off, r := range text {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(text[off:], "\uFFFD"):
			return positionOf(text, off), "invalid YAML: the file is not valid UTF-8", true
		case r == '\uFEFF' && off == 0:
			// a byte order mark
		case hiddenBreak(r) != "":
			return positionOf(text, off), hiddenBreakProblem(r), true
		case !printable(r):
			return positionOf(text, off), fmt.Sprintf("invalid YAML: control character %U is not allowed", r), true
		}
	}
	return pos{}, "", false
}

// scanUTF16 is scanText for a UTF-16 document, data, which starts with
// its byte order mark: it finds the line breaks of hiddenBreak only.
func scanUTF16(data []byte) (p pos, problem string, bad bool) {
	units := make([]uint16, len(data)/2)
	for i := range units {
		if data[0] == 0xFF { // little endian
			units[i] = uint16(data[2*i]) | uint16(data[2*i+1])<<8
		} else {
			units[i] = uint16(data[2*i])<<8 | uint16(data[2*i+1])
		}
	}
	text := string(utf16.Decode(units))
	if off := strings.IndexFunc(text, func(r rune) bool { return hiddenBreak(r) != "" }); off >= 0 {
		r, _ := utf8.DecodeRuneInString(text[off:])
		return positionOf(text, off), hiddenBreakProblem(r), true
	}
	return pos{}, "", false
}

// hiddenBreak names r when yaml.v3 reads it as a line break although it
// is neither LF nor CR: most editors show none, so a key after one in a
// comment would take effect unseen, and lines would be numbered apart
// from the editor's. "" for any other character.
func hiddenBreak(r rune) string {
	switch r {
	case 0x85:
		return "next line"
	case 0x2028:
		return "line separator"
	case 0x2029:
		return "paragraph separator"
	}
	return ""
}

// hiddenBreakProblem refuses r, a hiddenBreak.
func hiddenBreakProblem(r rune) string {
	return fmt.Sprintf("invalid YAML: %U (%s) is not allowed: YAML reads it as a line break, which most editors do not show", r, hiddenBreak(r))
}

// printable reports whether YAML allows r in a document.
func printable(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r >= 0x20 && r <= 0x7E:
		return true
	case r == 0x85:
		return true
	case r >= 0xA0 && r <= 0xD7FF:
		return true
	case r >= 0xE000 && r <= 0xFFFD:
		return r != 0xFEFF
	case r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}
