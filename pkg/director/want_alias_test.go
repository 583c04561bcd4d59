package director

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

// TestWantKeepsCopies: Want on a copy of a Desired, inserting a key or
// changing a value, leaves the original's wishes as they were, even when
// its array has room to spare.
func TestWantKeepsCopies(t *testing.T) {
	var base Desired
	for _, k := range []sysctl.Key{sysctl.IPv4Conf("all", "send_redirects"), sysctl.IPv4Conf("eth0", "send_redirects"), sysctl.IPForward()} {
		base.Want(k, "1")
	}
	if cap(base.Sysctls) == len(base.Sysctls) {
		base.Sysctls = append(make([]SysctlWant, 0, 8), base.Sysctls...)
	}
	was := slices.Clone(base.Sysctls)
	insert := base
	insert.Want(sysctl.IPv4Conf("eth0", "accept_local"), "1")
	change := base
	change.Want(sysctl.IPForward(), "0")
	if d := cmp.Diff(was, base.Sysctls); d != "" {
		t.Fatalf("Want on copies changed the original (-before +after):\n%s", d)
	}
	if len(insert.Sysctls) != 4 || change.Sysctls[2].Value != "0" {
		t.Fatalf("the copies: %v, %v", insert.Sysctls, change.Sysctls)
	}
}
