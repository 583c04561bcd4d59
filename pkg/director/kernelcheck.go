package director

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// kernelRelease returns the running kernel's release ("6.1.0-57-amd64");
// a variable so tests can replace it.
var kernelRelease = func() (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", fmt.Errorf("director: uname: %w", err)
	}
	return unix.ByteSliceToString(u.Release[:]), nil
}

// CheckKernel reports what d asks for that the running kernel cannot do,
// before any change: gue and gre tunnels and tunnel checksum flags need
// Linux 5.3 (an older kernel ignores them and encapsulates in ipip).
// Start calls it; the long-running director calls it before its first
// Converge.
func CheckKernel(d Desired) error {
	var need string
	for i := range d.Services {
		ds := &d.Services[i]
		for j := range ds.Destinations {
			dst := &ds.Destinations[j]
			if dst.Forward == ipvs.Tunnel && (dst.TunnelType != ipvs.TunnelIPIP || dst.TunnelFlags != 0) {
				need = fmt.Sprintf("real server %v of %v: tunnel %s", dst, ds.Service, tunnelDesc(*dst))
				break
			}
		}
	}
	if need == "" {
		return nil
	}
	rel, err := kernelRelease()
	if err != nil {
		return err
	}
	if maj, minor, ok := majorMinor(rel); !ok || maj < 5 || maj == 5 && minor < 3 {
		return fmt.Errorf("director: %s needs Linux 5.3 or later; this kernel is %s", need, rel)
	}
	return nil
}

// majorMinor parses "6.1.0-57-amd64" into 6, 1.
func majorMinor(rel string) (int, int, bool) {
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	maj, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(strings.TrimRightFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	return maj, minor, err1 == nil && err2 == nil
}
