package garp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/mdlayher/ethernet"
	"golang.org/x/sys/unix"
)

// Sender announces VIPs through one packet socket that it keeps until
// Close. Closing a packet socket waits for an RCU grace period (the
// kernel's packet_release calls synchronize_net: 8 to 16 ms on an idle
// host, and a process's exit waits for it too), so a start that binds
// many VIPs announces them all through one Sender: one wait, not one per
// VIP.
//
// The socket is opened in the calling thread's network namespace at the
// first IPv4 announcement, with protocol 0: it receives nothing, and
// each frame names its interface. The zero Sender is ready to use; a
// Sender is not safe for concurrent use.
type Sender struct {
	f      *os.File                  // the packet socket; nil until the first IPv4 announcement
	ifaces map[string]*net.Interface // looked up once per Sender: each lookup dumps every link
}

// Announce is the package's Announce through s: an IPv4 VIP's gratuitous
// ARP goes out of s's packet socket, opened at the first one.
func (s *Sender) Announce(ctx context.Context, ifname string, vip netip.Addr) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ifi, err := s.iface(ifname)
	if err != nil {
		return fmt.Errorf("garp: %v on %s: %w", vip, ifname, err)
	}
	if len(ifi.HardwareAddr) != 6 {
		return fmt.Errorf("garp: %v on %s: not an Ethernet interface (hardware address %q)", vip, ifname, ifi.HardwareAddr)
	}
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(DefaultTimeout)
	}
	vip = vip.Unmap()
	if vip.Is4() {
		err = s.sendARP(ifi, vip, dl)
	} else {
		err = sendNA(ifi, vip, dl)
	}
	if err != nil {
		return fmt.Errorf("garp: %v on %s: %w", vip, ifname, err)
	}
	return nil
}

// iface returns the interface named name, as the Sender first found it
// (the VIPs of one pass are mostly on one interface, and
// net.InterfaceByName dumps every link).
func (s *Sender) iface(name string) (*net.Interface, error) {
	if ifi, ok := s.ifaces[name]; ok {
		return ifi, nil
	}
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, err
	}
	if s.ifaces == nil {
		s.ifaces = map[string]*net.Interface{}
	}
	s.ifaces[name] = ifi
	return ifi, nil
}

// Close closes the socket, if one was opened, and forgets the
// interfaces; the Sender may be used again afterwards (it opens a new
// socket and looks them up again).
func (s *Sender) Close() error { return closeSocket(s.detach()) }

// Release is Close without waiting for the kernel: the socket is closed
// on a goroutine of its own, which ends when the kernel's close returns
// (after the RCU grace period packet_release waits for), and the result
// is sent on the returned channel (buffered: nobody need read it). The
// caller goes on at once, so a command that releases its Sender before
// reporting overlaps the wait with its report; should it exit sooner,
// its exit waits for the close in the kernel, as for any open socket.
// The Sender is ready for use again at once, as after Close.
func (s *Sender) Release() <-chan error {
	done := make(chan error, 1)
	f := s.detach()
	if f == nil {
		done <- nil
		return done
	}
	go func() { done <- closeSocket(f) }()
	return done
}

// detach takes the socket (nil if none) and the interfaces out of s.
func (s *Sender) detach() *os.File {
	f := s.f
	s.f, s.ifaces = nil, nil
	return f
}

// closeSocket closes f, if any.
func closeSocket(f *os.File) error {
	if f == nil {
		return nil
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("garp: close packet socket: %w", err)
	}
	return nil
}

// socket returns the packet socket, opening it first if need be.
func (s *Sender) socket() (*os.File, error) {
	if s.f != nil {
		return s.f, nil
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open packet socket: %w", err)
	}
	// Non-blocking, so the file goes into Go's poller: writes keep a
	// deadline.
	s.f = os.NewFile(uintptr(fd), "garp")
	return s.f, nil
}

// sendARP broadcasts the gratuitous ARP for vip out of ifi.
func (s *Sender) sendARP(ifi *net.Interface, vip netip.Addr, dl time.Time) error {
	fr, err := frame(ifi.HardwareAddr, vip)
	if err != nil {
		return err
	}
	b, err := fr.MarshalBinary()
	if err != nil {
		return err
	}
	f, err := s.socket()
	if err != nil {
		return err
	}
	if err := f.SetWriteDeadline(dl); err != nil {
		return err
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	to := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: ifi.Index, Halen: 6}
	copy(to.Addr[:], ethernet.Broadcast)
	var serr error
	werr := rc.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), b, 0, to)
		return !errors.Is(serr, unix.EAGAIN)
	})
	if err := errors.Join(werr, serr); err != nil {
		return fmt.Errorf("send gratuitous ARP: %w", err)
	}
	return nil
}

// htons is v laid out in memory in network byte order, as sockaddr_ll's
// protocol wants it.
func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}
