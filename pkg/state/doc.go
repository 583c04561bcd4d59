// Package state owns the state directory: one JSON record per role of what
// lvs-rs created and changed on this host (so stop can undo exactly that),
// and the lock that keeps two lvs-rs commands from changing the host at
// once.
//
// A missing directory is created 0700 by the commands that change the
// host; an existing one is used as it is, never chmodded, but refused
// (ErrUnsafeDir) when it is not a directory, when group or others can
// write it, or when neither root nor the caller owns it. Each record is 0600 and written atomically (temporary file,
// fsync, rename, fsync of the directory), so a crash leaves either the old
// or the new record, never a torn one. A record that cannot be decoded is
// reported, never trusted (ErrCorrupt, Store.Corrupt).
//
// Commands that change the host take the lock exclusively (Lock); readers
// take it shared without waiting (TryShared) and read without it while a
// writer holds it. Neither readers nor dry runs (LockIfPresent) create a
// missing directory: without one nothing was applied and no command holds
// the lock.
package state
