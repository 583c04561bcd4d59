package ipvs

import (
	"errors"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// ErrNoIPVS means the kernel offers no IPVS: the generic netlink family
// "IPVS" is not registered (module ip_vs not loaded, or not built).
var ErrNoIPVS = errors.New("IPVS is not available in this kernel (module ip_vs is not loaded; modprobe ip_vs)")

// ErrNotAttempted is Apply's result for an Op it did not send because an
// earlier Op failed (or sent only as a real server of a service whose
// addition failed: see Client.Apply).
var ErrNotAttempted = errors.New("not attempted: an earlier change failed")

// ErrOutcomeUnknown is wrapped by Apply's result for an Op whose
// acknowledgement never came (the kernel dropped it when the receive
// buffer overflowed, or the deadline passed first): the kernel may or may
// not have performed it. Read the table back to know.
var ErrOutcomeUnknown = errors.New("outcome unknown")

// Error is a kernel refusal of one operation. It unwraps to the errno
// (errors.Is(err, unix.EEXIST) works).
type Error struct {
	Op     string // "add service", "edit destination", ...
	Object string // "tcp 10.0.0.100:80", "10.0.0.11:80 in tcp 10.0.0.100:80"
	Err    error
}

// Error renders "ipvs: OP OBJECT: cause".
func (e *Error) Error() string { return fmt.Sprintf("ipvs: %s %s: %v", e.Op, e.Object, e.Err) }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// cause strips netlink's "netlink receive:" wrapping down to the errno,
// keeping the kernel's extended acknowledgement text when there is one.
func cause(err error) error {
	var oe *netlink.OpError
	if !errors.As(err, &oe) {
		return err
	}
	var errno unix.Errno
	if !errors.As(oe.Err, &errno) {
		return err
	}
	if oe.Message != "" {
		return fmt.Errorf("%w (%s)", errno, oe.Message)
	}
	return errno
}
