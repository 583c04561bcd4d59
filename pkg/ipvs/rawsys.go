package ipvs

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// kernelSockaddr is kernelAddr as sendto(2) takes it.
var kernelSockaddr = unix.RawSockaddrNetlink{Family: unix.AF_NETLINK}

// sendNow is sendto(fd, b, MSG_DONTWAIT, the kernel) as a raw system call:
// without the runtime's entersyscall and exitsyscall, so that a slow call
// (an emulated CPU) does not hand the P to another thread and wait to get
// one back. It never blocks; EAGAIN says the caller must wait.
func sendNow(fd int, b []byte) unix.Errno {
	_, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)),
		unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(&kernelSockaddr)), unix.SizeofSockaddrNetlink)
	return e
}

// recvNow is recvfrom(fd, b, MSG_DONTWAIT) as a raw system call (see
// sendNow); EAGAIN when nothing is queued.
func recvNow(fd int, b []byte) (int, unix.Errno) {
	n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)),
		unix.MSG_DONTWAIT, 0, 0)
	return int(n), e
}
