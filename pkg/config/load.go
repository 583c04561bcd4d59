package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"
)

// Load reads the configuration file at path and returns it parsed,
// validated and resolved (see Parse).
//
// A file that cannot be read gives a wrapped error from the os package, so
// errors.Is(err, fs.ErrNotExist) tells a missing file apart; a file with
// problems gives Errors.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(path, data)
}

// Parse parses, validates and resolves one configuration document. file
// names the source in messages and becomes Config.Source.
//
// Every problem is reported, not only the first: the error is then Errors,
// sorted by position, each rendering as "FILE:LINE:COLUMN: field: problem".
// A file with nothing in it (only whitespace and comments, or a lone
// null) is refused at 1:1: it is most likely one caught between being
// truncated and rewritten, and read as no services it would unbind every
// VIP. A configuration without services says so: virtual_servers: [].
func Parse(file string, data []byte) (*Config, error) {
	ps := &problems{file: file}
	// Text the fast path reads is printable ASCII: scanText would find
	// nothing in it.
	t, fast := fastParse(data)
	if !fast {
		if p, problem, bad := scanText(data); bad {
			ps.add(p, problem)
			return nil, ps.err()
		}
		doc := new(yaml.Node)
		dec := yaml.NewDecoder(bytes.NewReader(data))
		if err := dec.Decode(doc); err != nil && !errors.Is(err, io.EOF) {
			ps.add(syntaxError(err, data))
			return nil, ps.err()
		}
		checkRest(dec, data, ps)
		t = fromYAML(doc)
	}
	raw := decodeDocument(t, ps)
	cfg := validate(raw, ps)
	if err := ps.err(); err != nil {
		return nil, err
	}
	cfg.Source = file
	return cfg, nil
}

// checkRest reports a second YAML document ("---" and more): a file holds
// one configuration. Empty documents after it (a trailing "---") are fine.
func checkRest(dec *yaml.Decoder, data []byte, ps *problems) {
	for {
		var next yaml.Node
		err := dec.Decode(&next)
		switch {
		case errors.Is(err, io.EOF):
			return
		case err != nil:
			ps.add(syntaxError(err, data))
			return
		case len(next.Content) > 0 && !(next.Content[0].Kind == yaml.ScalarNode && next.Content[0].ShortTag() == "!!null" && next.Content[0].Value == ""):
			ps.add(pos{line: int32(next.Line), col: int32(next.Column)}, "a second YAML document; the file must hold exactly one configuration")
			return
		}
	}
}
