package state

import (
	"errors"
	"fmt"
	"strings"
)

// ErrCorrupt is wrapped by every error about a record lvs-rs cannot
// trust: not valid JSON, or (as the role packages decide) of an unknown
// version or holding values outside what lvs-rs writes.
var ErrCorrupt = errors.New("corrupt state record")

// Corrupt returns the one-line error for a damaged record of role: it
// names the file, the reason, and what the operator can do. Role packages
// use it for their own checks of a decoded record (version, sysctl keys),
// so every damaged record reads the same.
func (s Store) Corrupt(role string, reason error) error {
	return &corruptError{path: s.path(role), reason: oneLine(reason.Error())}
}

type corruptError struct {
	path, reason string
}

func (e *corruptError) Error() string {
	return fmt.Sprintf("state: record %s is damaged (%s); inspect it, then remove it to start over: lvs-rs will no longer know what it created on this host",
		e.path, e.reason)
}

func (e *corruptError) Unwrap() error { return ErrCorrupt }

// oneLine flattens a message onto one line and bounds its length.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
