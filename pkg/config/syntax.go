package config

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
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
// never exposed and is reported as 1.
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
	return p, "invalid YAML: " + msg
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

// scanText finds the first byte that yaml.v3 would refuse before parsing
// (invalid UTF-8, a control character), so that the message has a
// position; yaml.v3 reports those without one. UTF-16 documents (with a
// byte order mark) are left to yaml.v3.
func scanText(data []byte) (p pos, problem string, bad bool) {
	if len(data) >= 2 && (data[0] == 0xFF && data[1] == 0xFE || data[0] == 0xFE && data[1] == 0xFF) {
		return pos{}, "", false
	}
	text := string(data)
	for off, r := range text {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(text[off:], "\uFFFD"):
			return positionOf(text, off), "invalid YAML: the file is not valid UTF-8", true
		case r == '\uFEFF' && off == 0:
			// a byte order mark
		case !printable(r):
			return positionOf(text, off), fmt.Sprintf("invalid YAML: control character %U is not allowed", r), true
		}
	}
	return pos{}, "", false
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
