package sysctl

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// readFile and writeFile are os.ReadFile and an os.OpenFile write with
// plain system calls: open, read or write, close. The os package would
// also register each /proc/sys file with the runtime's poller (fcntl,
// epoll_ctl add and delete, fstat), several times the system calls of
// the read itself, which a real server's start pays for every parameter.
// Errors are *os.PathError as os returns them.

// maxValue bounds a parameter's value; every one lvs-rs manages is a
// small integer.
const maxValue = 512

func readFile(path string) ([]byte, error) {
	fd, err := open(path, unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	buf := make([]byte, 0, maxValue)
	for {
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
}

func writeFile(path, value string) error {
	fd, err := open(path, unix.O_WRONLY|unix.O_TRUNC)
	if err != nil {
		return err
	}
	var n int
	for {
		n, err = unix.Write(fd, []byte(value))
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	cerr := unix.Close(fd)
	switch {
	case err != nil:
		return &os.PathError{Op: "write", Path: path, Err: err}
	case n < len(value):
		return &os.PathError{Op: "write", Path: path, Err: unix.EIO}
	case cerr != nil:
		return &os.PathError{Op: "close", Path: path, Err: cerr}
	}
	return nil
}

func open(path string, mode int) (int, error) {
	for {
		fd, err := unix.Open(path, mode|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return fd, nil
	}
}
