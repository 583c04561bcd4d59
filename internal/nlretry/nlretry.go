// Package nlretry retries netlink dumps that the kernel interrupted.
//
// A dump (addresses, links, routes) that runs while the table changes is
// marked NLM_F_DUMP_INTR and the netlink library returns
// netlink.ErrDumpInterrupted with possibly inconsistent results. That is
// routine at boot and on hosts whose addresses churn (DHCP, IPv6 DAD,
// containers), so lvs-rs dumps again instead of failing.
package nlretry

import (
	"errors"

	"github.com/vishvananda/netlink"
)

// Attempts bounds how often Dump tries before giving up.
const Attempts = 10

// Dump calls fn until it returns a result the kernel did not interrupt, at
// most Attempts times; the last error is returned when every try was
// interrupted.
func Dump[T any](fn func() (T, error)) (T, error) {
	var (
		v   T
		err error
	)
	for range Attempts {
		v, err = fn()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return v, err
		}
	}
	return v, err
}
