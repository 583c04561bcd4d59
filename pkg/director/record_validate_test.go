package director

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/state"
)

// TestRecordSysctlKeysValidated: a tampered record cannot make lvs-rs
// write outside /proc/sys; it is refused as damaged, naming the file.
func TestRecordSysctlKeysValidated(t *testing.T) {
	dir := t.TempDir()
	rec := `{"version":2,"sysctls":[{"key":"net/ipv4/../../../../etc/shadow","prior":"x","wrote":"1"}]}`
	if err := os.WriteFile(filepath.Join(dir, Role+".json"), []byte(rec), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := loadRecord(state.Store{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, Role+".json")) {
		t.Fatalf("loadRecord = %v, want a damaged-record error naming the file", err)
	}
}
