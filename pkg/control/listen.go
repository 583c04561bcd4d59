package control

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// probeTimeout bounds the connection attempt that tells a live daemon's
// socket from a stale one.
const probeTimeout = time.Second

// SocketPath returns the control socket's path in stateDir.
func SocketPath(stateDir string) string { return filepath.Join(stateDir, SocketName) }

// Listen creates the control socket in stateDir (made 0700 if missing)
// with mode 0600 and returns its listener. A socket file left behind by a
// daemon that died is removed; when another daemon answers on it, Listen
// fails with an error matching ErrAlreadyRunning. The socket appears under
// its name only once it is 0600 and listening. Closing the listener
// removes the socket file.
func Listen(stateDir string) (net.Listener, error) {
	path := SocketPath(stateDir)
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("control: create %s: %w", stateDir, err)
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	removeStaleTemps(stateDir)
	tmp := filepath.Join(stateDir, tempPrefix+strconv.Itoa(os.Getpid())+".sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control: listen on %s: %w", tmp, err)
	}
	ln.SetUnlinkOnClose(false)
	if err := publish(tmp, path); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, err
	}
	fi, err := os.Lstat(path)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("control: %s: %w", path, err)
	}
	return &listener{UnixListener: ln, path: path, fi: fi}, nil
}

// tempPrefix starts the name a socket is bound under before it is
// published as SocketName.
const tempPrefix = ".control."

// removeStaleTemps removes temporary sockets that a daemon killed while
// starting left behind (nobody listens on them); it is best effort.
func removeStaleTemps(stateDir string) {
	names, _ := filepath.Glob(filepath.Join(stateDir, tempPrefix+"*.sock"))
	for _, p := range names {
		_ = removeStale(p) // a live one answers and stays
	}
}

// publish makes tmp 0600 and renames it to path, refusing to replace a
// socket another daemon published in the meantime.
func publish(tmp, path string) error {
	if err := os.Chmod(tmp, 0o600); err != nil {
		return fmt.Errorf("control: chmod %s: %w", tmp, err)
	}
	err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, path, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("control: %s appeared while starting: %w", path, ErrAlreadyRunning)
	}
	if err != nil {
		return fmt.Errorf("control: rename %s to %s: %w", tmp, path, err)
	}
	return nil
}

// removeStale removes path when it is a socket nobody listens on.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control: %s: %w", path, err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("control: %s exists and is not a socket; remove it by hand", path)
	}
	c, err := net.DialTimeout("unix", path, probeTimeout)
	if err == nil {
		c.Close()
		return fmt.Errorf("control: %s answers: %w", path, ErrAlreadyRunning)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("control: probe %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("control: remove stale %s: %w", path, err)
	}
	return nil
}

// listener removes its socket file on Close, when the file still is the
// socket it created.
type listener struct {
	*net.UnixListener
	path string
	fi   fs.FileInfo
	once sync.Once
}

// Addr returns the socket's published path (the kernel knows it by the
// temporary name it was bound under).
func (l *listener) Addr() net.Addr { return &net.UnixAddr{Name: l.path, Net: "unix"} }

func (l *listener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() {
		if fi, serr := os.Lstat(l.path); serr == nil && os.SameFile(fi, l.fi) {
			os.Remove(l.path)
		}
	})
	return err
}
