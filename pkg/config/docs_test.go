package config

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDocExamplesParse: every YAML example the user documentation shows
// (the README's yaml blocks, the .EX blocks of lvs-rs.yaml(5)) is a file
// the parser accepts, so no example teaches a key or value it refuses.
func TestDocExamplesParse(t *testing.T) {
	for _, d := range []struct {
		file  string
		block *regexp.Regexp
	}{
		{"../../README.md", regexp.MustCompile("(?s)```yaml\n(.*?)```")},
		{"../../packaging/man/lvs-rs.yaml.5", regexp.MustCompile(`(?s)\n\.EX\n(.*?)\.EE\n`)},
	} {
		b, err := os.ReadFile(d.file)
		if err != nil {
			t.Fatal(err)
		}
		blocks := d.block.FindAllStringSubmatch(string(b), -1)
		if len(blocks) == 0 {
			t.Errorf("%s: no YAML example found", d.file)
		}
		for i, m := range blocks {
			text := strings.NewReplacer(`\-`, "-", `\e`, `\`).Replace(m[1])
			if _, err := Parse(d.file, []byte(text)); err != nil {
				t.Errorf("%s: example %d refused: %v\n%s", d.file, i+1, err, text)
			}
		}
	}
}
