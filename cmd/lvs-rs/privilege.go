package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// capNetAdmin is CAP_NET_ADMIN's bit in the capability sets.
const capNetAdmin = 12

// hasNetAdmin reports whether this process holds CAP_NET_ADMIN in its
// effective set, read from /proc/self/status.
func hasNetAdmin() bool {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return os.Geteuid() == 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		hex, ok := strings.CutPrefix(s.Text(), "CapEff:")
		if !ok {
			continue
		}
		v, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		return err == nil && v&(1<<capNetAdmin) != 0
	}
	return os.Geteuid() == 0
}

// errNotPrivileged is the one-line message for a caller without
// CAP_NET_ADMIN.
var errNotPrivileged = fmt.Errorf("must run as root (needs CAP_NET_ADMIN to change addresses, sysctls and IPVS)")
