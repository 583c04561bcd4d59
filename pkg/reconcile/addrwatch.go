package reconcile

import (
	"context"
	"fmt"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// WatchAddresses calls changed whenever an address is added or removed
// in the network namespace ns (netns.None() for the calling thread's),
// with removed true for a removal, so a VIP deleted by hand is bound
// again at once instead of at the next reconcile_interval, and the
// checks through the VIP follow the director's own address when it is
// renumbered. It returns when ctx is done, or with an error if the
// subscription cannot be made or breaks (after changed(true): events
// may have been lost).
func WatchAddresses(ctx context.Context, ns netns.NsHandle, changed func(removed bool)) error {
	updates := make(chan netlink.AddrUpdate, 64)
	done := make(chan struct{})
	defer close(done)
	errs := make(chan error, 1)
	err := netlink.AddrSubscribeWithOptions(updates, done, netlink.AddrSubscribeOptions{
		Namespace:     nsOrNil(ns),
		ErrorCallback: func(err error) { trySend(errs, err) },
		// ReceiveBufferForceSize keeps a burst of events from overflowing
		// the socket; an overflow is reported through ErrorCallback.
		ReceiveBufferSize:      1 << 20,
		ReceiveBufferForceSize: true,
	})
	if err != nil {
		return fmt.Errorf("reconcile: subscribe to address events: %w", err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errs:
			changed(true) // events may have been lost: converge anyway
			return fmt.Errorf("reconcile: address events: %w", err)
		case u, ok := <-updates:
			if !ok {
				return fmt.Errorf("reconcile: address events: subscription closed")
			}
			changed(!u.NewAddr)
		}
	}
}

func nsOrNil(ns netns.NsHandle) *netns.NsHandle {
	if !ns.IsOpen() {
		return nil
	}
	return &ns
}

func trySend[T any](c chan T, v T) {
	select {
	case c <- v:
	default:
	}
}
