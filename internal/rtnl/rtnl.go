package rtnl

import (
	"errors"
	"fmt"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Timeout bounds each request of a handle Open returns.
const Timeout = 30 * time.Second

// Open returns a NETLINK_ROUTE handle in the network namespace ns
// (netns.None() for the calling thread's), its requests bounded by
// Timeout and its dumps filtered by the kernel where it can.
func Open(ns netns.NsHandle) (*netlink.Handle, error) {
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("rtnetlink: open: %w", err)
	}
	if err := h.SetSocketTimeout(Timeout); err != nil {
		h.Close()
		return nil, fmt.Errorf("rtnetlink: set socket timeout: %w", err)
	}
	if err := h.SetStrictCheck(true); err != nil && !errors.Is(err, unix.ENOPROTOOPT) {
		h.Close()
		return nil, fmt.Errorf("rtnetlink: strict checking: %w", err)
	}
	return h, nil
}

// LinkGone reports whether err says a link does not exist (deleted, or
// never created), as a lookup by name or index, or a write to it, reports
// it.
func LinkGone(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOENT)
}
