//go:build manpages

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestManPages checks that `lvs-rs man DIR` writes lvs-rs.8 and one page per
// visible subcommand, dated SOURCE_DATE_EPOCH, without the hidden man page.
func TestManPages(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000") // 2023-11-14
	dir := t.TempDir()
	if code, _, errb := invoke(t, "man", dir); code != exitOK {
		t.Fatalf("man: exit %d: %s", code, errb)
	}
	for _, page := range []string{"lvs-rs.8", "lvs-rs-start.8", "lvs-rs-stop.8", "lvs-rs-status.8", "lvs-rs-version.8", "lvs-rs-completion.8"} {
		b, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil {
			t.Errorf("%s: %v", page, err)
			continue
		}
		title := strings.ToUpper(strings.TrimSuffix(page, ".8"))
		if !strings.Contains(string(b), `.TH "`+title+`" "8" "Nov 2023"`) {
			t.Errorf("%s: no .TH header dated Nov 2023:\n%.200s", page, b)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "lvs-rs-man.8")); err == nil {
		t.Error("the hidden man command got a page")
	}
	root, _ := os.ReadFile(filepath.Join(dir, "lvs-rs.8"))
	for _, want := range []string{"EXIT STATUS", "LVS_RS_CONFIG", "/etc/lvs-rs/lvs-rs.yaml"} {
		if !strings.Contains(string(root), want) {
			t.Errorf("lvs-rs.8 lacks %q", want)
		}
	}
}
