package doctor

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lvs-rs/lvs-rs/pkg/config"
)

// tree writes files (path relative to a new temp root -> content) and
// returns a Host rooted there.
func tree(t *testing.T, files map[string]string) Host {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return RootedAt(root)
}

// conf returns files for net/ipv4/conf/DEV/PARAM = v.
func conf(files map[string]string, dev, param, v string) map[string]string {
	files["proc/sys/net/ipv4/conf/"+dev+"/"+param] = v + "\n"
	return files
}

func rsTarget(mode config.Mode, vip string) Target {
	return Target{Role: RoleRealServer, Bindings: []config.Binding{{VIP: netip.MustParseAddr(vip), Mode: mode}}}
}

// outcome is a result reduced to what tests compare: the check, ok, and
// the phrases the problem must contain.
type outcome struct {
	Check string
	OK    bool
	Has   []string // substrings of Problem+Fix (Note for ok lines)
}

// run runs one check and compares its results with want.
func run(t *testing.T, check func(context.Context, Host, Target) []Result, h Host, tg Target, want ...outcome) {
	t.Helper()
	got := check(context.Background(), h, tg)
	var reduced []outcome
	for i, r := range got {
		o := outcome{Check: r.Check, OK: r.OK}
		if i < len(want) {
			text := r.Problem + " — " + r.Fix + r.Note
			for _, s := range want[i].Has {
				if strings.Contains(text, s) {
					o.Has = append(o.Has, s)
				}
			}
		}
		reduced = append(reduced, o)
	}
	if d := cmp.Diff(want, reduced); d != "" {
		t.Errorf("results (-want +got):\n%s\nfull: %+v", d, got)
	}
}
