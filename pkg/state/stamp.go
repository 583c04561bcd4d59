package state

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Stamp identifies one version of a record file: its device, inode, size
// and modification time. Every Write replaces the file with a new one (a
// new inode: the temporary file is created while the old record still
// exists), so a record whose stamp is unchanged holds the same bytes
// unless someone rewrote it in place, which lvs-rs never does. The zero
// Stamp is no file.
type Stamp struct {
	dev, ino uint64
	size     int64
	mtime    int64 // nanoseconds since the epoch
}

// stampOf is fi's stamp; the zero Stamp when fi carries no inode.
func stampOf(fi fs.FileInfo) Stamp {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return Stamp{}
	}
	return Stamp{dev: uint64(st.Dev), ino: st.Ino, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
}

// Stamp returns the stamp of the record of role, false (and no error)
// when there is none: one stat, neither reading nor checking the
// directory.
func (s Store) Stamp(role string) (Stamp, bool, error) {
	fi, err := os.Stat(s.path(role))
	if errors.Is(err, fs.ErrNotExist) {
		return Stamp{}, false, nil
	}
	if err != nil {
		return Stamp{}, false, fmt.Errorf("state: stat %s: %w", s.path(role), err)
	}
	return stampOf(fi), true, nil
}

// ReadStamped is Read, with the stamp of the file it read (taken from the
// open file, so it is the stamp of these bytes).
func (s Store) ReadStamped(role string) ([]byte, Stamp, bool, error) {
	if _, err := os.Stat(s.Dir); errors.Is(err, fs.ErrNotExist) {
		return nil, Stamp{}, false, nil
	}
	if err := s.check(); err != nil {
		return nil, Stamp{}, false, err
	}
	f, err := os.Open(s.path(role))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Stamp{}, false, nil
	}
	if err != nil {
		return nil, Stamp{}, false, fmt.Errorf("state: read %s: %w", s.path(role), err)
	}
	defer f.Close()
	b, st, err := readAll(f)
	if err != nil {
		return nil, Stamp{}, false, fmt.Errorf("state: read %s: %w", s.path(role), err)
	}
	return b, st, true, nil
}

// readAll reads f whole, into a buffer its size (plus room to see the
// end) as os.ReadFile does, and returns its stamp.
func readAll(f *os.File) ([]byte, Stamp, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, Stamp{}, err
	}
	b := make([]byte, 0, fi.Size()+512)
	for {
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, stampOf(fi), nil
		}
		if err != nil {
			return nil, Stamp{}, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}
