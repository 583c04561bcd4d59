// Package state owns the state directory: one JSON record per role of what
// lvs-rs created and changed on this host (so stop can undo exactly that),
// and the lock that keeps two lvs-rs commands from running at once.
//
// The directory is 0700 and each record 0600. Records are written
// atomically (temporary file, fsync, rename), so a crash leaves either the
// old or the new record, never a torn one.
package state
