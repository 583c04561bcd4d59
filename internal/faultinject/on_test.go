//go:build faultinject

package faultinject

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCrashAtFile: with LVS_RS_CRASH_AFTER_FILE the count is read again
// before each write: none while the file is absent, then the number it
// holds.
func TestCrashAtFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	crashFile, crashAfter = path, 3
	t.Cleanup(func() { crashFile, crashAfter = "", 0 })
	if k := crashAt(); k != 0 {
		t.Fatalf("without the file: %d, want 0", k)
	}
	if err := os.WriteFile(path, []byte("17\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if k := crashAt(); k != 17 {
		t.Fatalf("with 17 in the file: %d", k)
	}
	crashFile = ""
	if k := crashAt(); k != 3 {
		t.Fatalf("without LVS_RS_CRASH_AFTER_FILE: %d, want LVS_RS_CRASH_AFTER's 3", k)
	}
}
