package director

import (
	"bytes"
	"encoding/json"
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

// TestRecordLayouts: a record reads the same in the layout encode writes
// (the desired state split off without decoding it, braces and quotes
// inside strings included) and indented, as older versions wrote it.
func TestRecordLayouts(t *testing.T) {
	d := DesiredFrom(web())
	d.Interface = `e}"]\`
	raw, err := encodeDesired(&d)
	if err != nil {
		t.Fatal(err)
	}
	_, owned := converged()
	want := recordOf(raw, owned)
	compact, err := want.encode()
	if err != nil {
		t.Fatal(err)
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, compact, "", "  "); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"compact": compact, "indented": indented.Bytes()} {
		dir := t.TempDir()
		s := state.Store{Dir: dir}
		if err := s.Write(Role, b); err != nil {
			t.Fatal(err)
		}
		got, ok, err := loadRecord(s)
		if err != nil || !ok {
			t.Fatalf("%s: %v, %v", name, ok, err)
		}
		gd, err := got.desired()
		if err != nil || gd == nil || gd.Interface != d.Interface || len(gd.Services) != len(d.Services) {
			t.Fatalf("%s: desired state %+v, %v", name, gd, err)
		}
		got.Desired, want.Desired = nil, nil
		if !sameRecord(got, want) {
			t.Fatalf("%s: read\n%+v\nwant\n%+v", name, got, want)
		}
		want.Desired = raw.bytes()
	}
}
