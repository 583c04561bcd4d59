package doctor

import (
	"fmt"
	"slices"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/config"
)

// mhTarget is the director's target of a file with an mh service checked
// by tcp, with flags and on_failure as given, announced or not.
func mhTarget(t *testing.T, announce bool, flags, onFailure string) Target {
	t.Helper()
	text := "director:\n  interface: eth0\n"
	if announce {
		text += "  announce: {table: 100}\n"
	}
	text += fmt.Sprintf(`virtual_servers:
  - vip: 10.0.0.100
    port: 80
    mode: dr
    scheduler: mh
    scheduler_flags: [%s]
    on_failure: %s
    check: {type: tcp}
    real_servers:
      - address: 10.0.0.21
      - address: 10.0.0.22
`, flags, onFailure)
	cfg, err := config.Parse("lvs-rs.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return DirectorTarget(cfg)
}

// TestMHTable: behind several directors (announce), an mh service with a
// check and on_failure: remove is a problem (a recovered real server goes
// back at the head of the kernel's list, changing this director's table);
// mh-fallback with quiesce is ok; a lone director is not checked.
func TestMHTable(t *testing.T) {
	remove := mhTarget(t, true, "mh-port", "remove")
	if !slices.ContainsFunc(Checks(remove), func(c Check) bool { return c.Name == NameMHTable }) {
		t.Fatalf("mh-table is not among the checks of %+v", remove)
	}
	run(t, checkMHTable, Host{}, remove,
		outcome{NameMHTable, false, []string{"tcp 10.0.0.100:80", "on_failure: remove", "add mh-fallback"}})
	run(t, checkMHTable, Host{}, mhTarget(t, true, "mh-port, mh-fallback", "quiesce"), outcome{NameMHTable, true, nil})
	if lone := mhTarget(t, false, "mh-port", "remove"); slices.ContainsFunc(Checks(lone), func(c Check) bool { return c.Name == NameMHTable }) {
		t.Fatal("mh-table runs for a director without announce")
	}
}
