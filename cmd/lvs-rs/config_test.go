package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestEmptyConfigExits2: a config file with nothing in it (caught between
// being truncated and rewritten) makes start exit 2 at FILE:1:1 for either
// role, before anything is made; an explicit virtual_servers: [] is a
// director without services.
func TestEmptyConfigExits2(t *testing.T) {
	for _, body := range []string{"", "# rewritten soon\n\n"} {
		cfg := writeFile(t, body)
		for _, role := range []string{roleDirector, roleRealServer} {
			stateDir := filepath.Join(t.TempDir(), "state")
			code, out, errs := invoke(t, "start", "--role", role, "--config", cfg, "--dry-run", "--state-dir", stateDir)
			want := cfg + ":1:1: the file is empty (nothing but whitespace and comments); write virtual_servers: [] for a configuration with no services\n"
			if code != exitUsage || errs != want {
				t.Errorf("%q, %s: exit %d, stdout %q, stderr %q; want %d, %q", body, role, code, out, errs, exitUsage, want)
			}
			if _, err := os.Stat(stateDir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%q, %s: the state directory exists after bad input (%v)", body, role, err)
			}
		}
	}
}
