package bench

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The floors make their system calls raw (without the runtime's
// entersyscall and exitsyscall), as lvs-rs's dumps do: under an emulated
// CPU the runtime's bookkeeping around a slow call (the P handed to
// another thread, then taken back) costs more than the call itself, and a
// floor must count the kernel's work, not that.

// kernelSockaddr is the kernel's netlink address as sendto(2) takes it.
var kernelSockaddr = unix.RawSockaddrNetlink{Family: unix.AF_NETLINK}

// rawSendto sends b to the kernel on fd; it waits through the runtime's
// poller only if the raw call would block.
func rawSendto(fd int, b []byte) error {
	for {
		_, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)),
			unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(&kernelSockaddr)), unix.SizeofSockaddrNetlink)
		switch e {
		case 0:
			return nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return unix.Sendto(fd, b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		}
		return e
	}
}

// rawRecvfrom reads the next datagram on fd into b (see rawSendto).
func rawRecvfrom(fd int, b []byte) (int, error) {
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)),
			unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			return int(n), nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			n, _, err := unix.Recvfrom(fd, b, 0)
			return n, err
		}
		return 0, e
	}
}
