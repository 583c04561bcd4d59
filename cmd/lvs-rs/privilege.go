package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// capNetAdmin is CAP_NET_ADMIN's bit in the capability sets.
const capNetAdmin = unix.CAP_NET_ADMIN

// hasNetAdmin reports whether this process holds CAP_NET_ADMIN in its
// effective set, as capget(2) tells (every thread of lvs-rs holds the
// same sets: it never changes them); where that call fails, whether it
// runs as root.
func hasNetAdmin() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData // version 3: 64 bits in two halves
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return os.Geteuid() == 0
	}
	return data[capNetAdmin/32].Effective&(1<<(capNetAdmin%32)) != 0
}

// errNotPrivileged is the one-line message for a caller without
// CAP_NET_ADMIN.
var errNotPrivileged = fmt.Errorf("must run as root (needs CAP_NET_ADMIN to change addresses, sysctls and IPVS)")
