package ipvs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"slices"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/genetlink/genltest"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
	"golang.org/x/sys/unix"
)

// fakeSocket is a netlink.Socket that answers like the kernel's generic
// netlink does, one request at a time through a genltest.Func: every
// message of a sendmsg is handled in order; a refusal is an error message
// carrying the request's sequence number (sent whether or not the request
// asked for an acknowledgement); a request with NLM_F_ACK that succeeds is
// followed by an acknowledgement (errno 0); a dump is answered by one
// multi-part datagram ending with NLMSG_DONE. Each reply is its own
// datagram, and each Receive reads one, as recvmsg on a netlink socket
// does. (nltest hands a whole batch's replies to one Receive, where
// netlink.Conn keeps the first error and drops the rest, and genltest
// refuses batches.)
type fakeSocket struct {
	fn genltest.Func

	queue [][]netlink.Message // datagrams waiting to be received
	sends [][]netlink.Message // each sendmsg's messages, for assertions

	// reorder, when set, rearranges the datagrams one sendmsg produced
	// (acknowledgements matched by sequence number, not by position).
	reorder func([][]netlink.Message)
	// drop, when set, loses the datagram answering the request with that
	// sequence number, and the next Receive after the sendmsg fails with
	// ENOBUFS, as after a receive-buffer overflow.
	drop    func(seq uint32) bool
	overrun bool
	// deadline: a read deadline is set (see deadlineSocket); an empty
	// queue then times out instead of failing.
	deadline bool
	// timeouts makes that many Receives time out first, leaving the queue
	// as it is (a deadline that passed before the replies were read).
	timeouts int
	// onTimeout runs when a Receive times out (as a cancel would cause).
	onTimeout func()
}

// deadlineSocket is a fakeSocket that supports read deadlines, which
// Apply uses to drain acknowledgements after ENOBUFS. A deadline in the
// past makes a Receive on an empty queue time out.
type deadlineSocket struct{ *fakeSocket }

func (s deadlineSocket) SetDeadline(t time.Time) error      { return s.SetReadDeadline(t) }
func (s deadlineSocket) SetWriteDeadline(t time.Time) error { return nil }
func (s deadlineSocket) SetReadDeadline(t time.Time) error {
	s.deadline = !t.IsZero()
	return nil
}

func (s *fakeSocket) Close() error { return nil }

func (s *fakeSocket) Send(m netlink.Message) error {
	return s.SendMessages([]netlink.Message{m})
}

func (s *fakeSocket) SendMessages(ms []netlink.Message) error {
	s.sends = append(s.sends, slices.Clone(ms))
	var out [][]netlink.Message
	for _, m := range ms {
		for _, dg := range s.handle(m) {
			if s.drop != nil && s.drop(m.Header.Sequence) {
				s.overrun = true
				continue
			}
			out = append(out, dg)
		}
	}
	if s.reorder != nil {
		s.reorder(out)
	}
	s.queue = append(s.queue, out...)
	return nil
}

// handle returns the datagrams the kernel sends in answer to m.
func (s *fakeSocket) handle(m netlink.Message) [][]netlink.Message {
	var gm genetlink.Message
	if err := gm.UnmarshalBinary(m.Data); err != nil {
		return [][]netlink.Message{{ackFor(m, unix.EINVAL)}}
	}
	replies, err := s.fn(gm, m)
	if errors.Is(err, io.EOF) {
		replies, err = nil, nil
	}
	if err != nil {
		return [][]netlink.Message{{ackFor(m, errnoOf(err))}}
	}
	hdr := netlink.Header{Type: m.Header.Type, Sequence: m.Header.Sequence, PID: nltest.PID}
	wrap := func(r genetlink.Message, flags netlink.HeaderFlags) netlink.Message {
		b, err := r.MarshalBinary()
		if err != nil {
			panic(err)
		}
		h := hdr
		h.Flags = flags
		return netlink.Message{Header: h, Data: b}
	}
	var out [][]netlink.Message
	if m.Header.Flags&netlink.Dump != 0 {
		var dg []netlink.Message
		for _, r := range replies {
			dg = append(dg, wrap(r, netlink.Multi))
		}
		done := hdr
		done.Type, done.Flags = netlink.Done, netlink.Multi
		return append(out, append(dg, netlink.Message{Header: done, Data: make([]byte, 4)}))
	}
	for _, r := range replies {
		out = append(out, []netlink.Message{wrap(r, 0)})
	}
	if m.Header.Flags&netlink.Acknowledge != 0 {
		out = append(out, []netlink.Message{ackFor(m, 0)})
	}
	return out
}

// ackFor is the kernel's NLMSG_ERROR answer to m with NETLINK_CAP_ACK:
// the negative errno (0 for an acknowledgement) and m's header.
func ackFor(m netlink.Message, errno unix.Errno) netlink.Message {
	b := binary.NativeEndian.AppendUint32(nil, uint32(-int32(errno)))
	b = binary.NativeEndian.AppendUint32(b, uint32(nlmsgHeaderLen+len(m.Data)))
	b = binary.NativeEndian.AppendUint16(b, uint16(m.Header.Type))
	b = binary.NativeEndian.AppendUint16(b, uint16(m.Header.Flags))
	b = binary.NativeEndian.AppendUint32(b, m.Header.Sequence)
	b = binary.NativeEndian.AppendUint32(b, m.Header.PID)
	return netlink.Message{
		Header: netlink.Header{Type: netlink.Error, Flags: netlink.Capped, Sequence: m.Header.Sequence, PID: nltest.PID},
		Data:   b,
	}
}

// errnoOf reads the errno from a genltest.Error (or a unix.Errno); any
// other error becomes EPROTO.
func errnoOf(err error) unix.Errno {
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	var n int
	if _, serr := fmt.Sscanf(err.Error(), "genltest errno: %d", &n); serr == nil {
		return unix.Errno(n)
	}
	return unix.EPROTO
}

func (s *fakeSocket) Receive() ([]netlink.Message, error) {
	var out []netlink.Message
	for m, err := range s.ReceiveIter() {
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func (s *fakeSocket) ReceiveIter() iter.Seq2[netlink.Message, error] {
	return func(yield func(netlink.Message, error) bool) {
		if s.timeouts > 0 {
			s.timeouts--
			if s.onTimeout != nil {
				s.onTimeout()
			}
			yield(netlink.Message{}, os.ErrDeadlineExceeded)
			return
		}
		if s.overrun {
			s.overrun = false
			yield(netlink.Message{}, &osSyscallError{unix.ENOBUFS})
			return
		}
		if len(s.queue) == 0 && s.deadline {
			yield(netlink.Message{}, os.ErrDeadlineExceeded)
			return
		}
		if len(s.queue) == 0 {
			yield(netlink.Message{}, errors.New("fake kernel: nothing to receive, the client would block forever"))
			return
		}
		dg := s.queue[0]
		s.queue = s.queue[1:]
		for _, m := range dg {
			if !yield(m, nil) {
				return
			}
		}
	}
}

// osSyscallError mimics *os.SyscallError from recvmsg: the socket's own
// error, not a kernel refusal.
type osSyscallError struct{ errno unix.Errno }

func (e *osSyscallError) Error() string { return "recvmsg: " + e.errno.Error() }
func (e *osSyscallError) Unwrap() error { return e.errno }
