package ipvs

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"syscall"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/faultinject"
)

// Socket sizing for pipelined batches (see Apply).
const (
	// recvBufSize is the buffer each received datagram is read into. The
	// kernel's dump datagrams stay below 32 KiB (netlink caps them there),
	// and a buffer this size saves the MSG_PEEK round that mdlayher/netlink
	// otherwise makes before every read.
	recvBufSize = 32 << 10
	// wantRcvBuf and wantSndBuf are the socket buffers Dial asks for
	// (SO_RCVBUFFORCE / SO_SNDBUFFORCE, falling back to the rmem_max- and
	// wmem_max-capped SO_RCVBUF / SO_SNDBUF without CAP_NET_ADMIN); the
	// kernel doubles them for its bookkeeping.
	wantRcvBuf = 4 << 20
	wantSndBuf = 1 << 20
	// ackBudget is the receive-buffer space reserved per request of a
	// chunk. The kernel answers while the sendmsg call is still running,
	// before anyone can read: a refusal for each request that fails and an
	// acknowledgement for the last one. It drops an answer that does not
	// fit (ENOBUFS), so a chunk holds at most rcvbuf/ackBudget requests:
	// even a chunk whose every request is refused is answered whole. An
	// answer's skb costs ~768 bytes of truesize on x86-64
	// (NETLINK_CAP_ACK keeps refusals that small); 2048 leaves room for
	// other kernels and architectures.
	ackBudget = 2048
	// sendSlack keeps a chunk below the send buffer: netlink_sendmsg
	// refuses a message longer than sk_sndbuf-32 with EMSGSIZE.
	sendSlack = 64
	// defaultBuf is Linux's default net.core.rmem_default/wmem_default as
	// the kernel reports it (doubled), for sockets whose buffers cannot be
	// read (tests).
	defaultBuf = 2 * 212992
)

// chunkLimits bound one sendmsg of Apply.
type chunkLimits struct {
	ops   int // requests: their acknowledgements must fit the receive buffer
	bytes int // encoded bytes: below the send buffer
}

func limitsFor(rcvbuf, sndbuf int) chunkLimits {
	return chunkLimits{ops: max(rcvbuf/ackBudget, 1), bytes: max(sndbuf-sendSlack, 4096)}
}

// sizeBuffers enlarges conn's socket buffers for pipelined batches and
// returns the chunk limits they allow.
func sizeBuffers(conn *netlink.Conn) chunkLimits {
	// Refusals carry the errno and the request's header, not a copy of the
	// whole request: every acknowledgement has the same small size.
	_ = conn.SetOption(netlink.CapAcknowledge, true)
	rc, err := conn.SyscallConn()
	if err != nil {
		return limitsFor(defaultBuf, defaultBuf)
	}
	return limitsFor(setBuffer(rc, unix.SO_RCVBUFFORCE, unix.SO_RCVBUF, wantRcvBuf),
		setBuffer(rc, unix.SO_SNDBUFFORCE, unix.SO_SNDBUF, wantSndBuf))
}

// setBuffer sets a socket buffer to want (with force, which needs
// CAP_NET_ADMIN, else with plain, capped by the sysctl) and returns the
// size the kernel uses.
func setBuffer(rc syscall.RawConn, force, plain, want int) int {
	got := defaultBuf
	_ = rc.Control(func(fd uintptr) {
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, force, want) != nil {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, plain, want)
		}
		if v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, plain); err == nil {
			got = v
		}
	})
	return got
}

// growAfter is how many chunks in a row must come back whole before a
// chunk limit halved by an overflow doubles again.
const growAfter = 8

// Apply performs ops in order and returns one error per Op, nil for
// success; a refusal is an *Error naming the Op's object and wrapping the
// errno. ctx bounds the whole batch (DefaultTimeout when it has no
// deadline).
//
// It is pipelined: the Ops are encoded as generic netlink requests, each
// with its own sequence number, and sent in chunks, one sendmsg per chunk.
// Only the last request of a chunk asks for an acknowledgement
// (NLM_F_ACK): the kernel performs a chunk's requests in order and answers
// every failing one with a refusal carrying its sequence number whether
// or not it asked, so once the last request's acknowledgement is read,
// every request without a refusal succeeded. Refusals are matched to
// their Ops by sequence number. A chunk holds as many requests as the
// socket buffers allow: their bytes below the send buffer, an answer for
// each within the receive buffer (about 4,000 requests with the buffers
// Dial asks for). A chunk whose answers overflow the receive buffer halves
// the limit; after growAfter whole chunks in a row it doubles again, up to
// what the buffers allow. In a binary built with the faultinject tag every
// chunk is one request, and each goes through faultinject.Write.
//
// The kernel performs every request of a chunk, even after one fails, so
// each Op of the chunk gets its own result, with one exception: a
// destination Op on a service whose addition failed earlier in the chunk,
// refused with ESRCH for that reason alone, is reported as ErrNotAttempted,
// as with one request per round trip (one failed service does not add an
// error per real server). A service addition refused because the service
// exists (EEXIST: another tool created it meanwhile) does not stop the
// destination Ops behind it: the kernel adds them to that service, and
// they are reported done. A caller that must not touch a service it did
// not create sends its destinations in a later Apply, once the service's
// addition succeeded. When the chunk's acknowledgement never came
// (dropped by a receive-buffer overflow, or a deadline), every Op of the
// chunk without a refusal wraps ErrOutcomeUnknown: the kernel may have
// performed it. After a chunk with a failure Apply
// sends nothing more: the Ops of later chunks are ErrNotAttempted. Callers
// must accept both shapes (stopped at the failure, or attempted past it)
// and record each success; callers that must not run an Op after another
// failed put them in separate calls.
//
// A chunk whose every request was refused with ENOENT may have been sent
// to the IPVS family's old id (ip_vs loaded again since Dial): Apply then
// resolves the family again and, when its id changed, sends the chunk
// again to the new one, once per call.
func (c *Client) Apply(ctx context.Context, ops []Op) []error {
	errs := make([]error, len(ops))
	if len(ops) == 0 {
		return errs
	}
	end, err := c.begin(ctx)
	if err != nil {
		errs[0] = &Error{Op: ops[0].Kind.String(), Object: ops[0].object(), Err: err}
		for i := 1; i < len(ops); i++ {
			errs[i] = ErrNotAttempted
		}
		return errs
	}
	defer end()
	buf := c.reqBuf[:0]
	if want := min(len(ops)*reqEstimate, c.limits.bytes+reqEstimate); cap(buf) < want {
		buf = make([]byte, 0, want)
	}
	defer func() {
		if cap(buf) <= keepReqBuf {
			c.reqBuf = buf[:0]
		}
	}()
	moved := false // the family's new id was taken once already
	for i := 0; i < len(ops); {
		var n int
		var failed bool
		buf, n, failed = c.chunk(buf[:0], ops[i:], errs[i:])
		if failed && !moved && c.familyMoved(allENOENT(errs[i:i+n])) {
			// Every request of the chunk went to the family's old id,
			// refused without reaching IPVS: send them to the new one.
			moved = true
			clear(errs[i : i+n])
			continue
		}
		i += n
		if failed {
			for ; i < len(ops); i++ {
				errs[i] = ErrNotAttempted
			}
		}
	}
	return errs
}

// allENOENT returns the first of errs when every one is an ENOENT
// refusal, as generic netlink refuses each request to a family id it does
// not know; nil otherwise.
func allENOENT(errs []error) error {
	for _, err := range errs {
		if !errors.Is(err, unix.ENOENT) {
			return nil
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs[0]
}

// reqEstimate is about the size of one encoded request, for sizing Apply's
// buffer.
const reqEstimate = 160

// keepReqBuf is the largest request buffer the Client keeps for the next
// Apply: a director hands it changes a thousand at a time, which then
// reuse one buffer instead of allocating theirs, and a long-lived Client
// holds no more than this between batches.
const keepReqBuf = 256 << 10

// chunkOps is how many requests the next chunk may hold.
func (c *Client) chunkOps() int {
	if faultinject.Enabled {
		return 1 // "the k-th write" is the k-th request
	}
	return c.limits.ops
}

// chunk encodes into buf the longest leading run of ops that fits one
// chunk, sends it and reads its acknowledgements into errs. It returns the
// buffer (for the next chunk), how many Ops it consumed and whether one of
// them failed.
func (c *Client) chunk(buf []byte, ops []Op, errs []error) ([]byte, int, bool) {
	limit := c.chunkOps()
	first := c.sequences(min(len(ops), limit))
	var (
		n, last int // requests encoded; offset of the last one
		encErr  error
	)
	for i := range ops {
		if n == limit {
			break
		}
		mark := len(buf)
		var err error
		buf, err = ops[i].appendRequest(buf, c.family, c.version, first+uint32(n), false)
		if err != nil {
			encErr = err
			break
		}
		if n > 0 && len(buf) > c.limits.bytes {
			buf = buf[:mark]
			break
		}
		last = mark
		n++
	}
	if n > 0 { // the chunk's last request asks for the acknowledgement
		f := binary.NativeEndian.Uint16(buf[last+6:])
		binary.NativeEndian.PutUint16(buf[last+6:], f|uint16(netlink.Acknowledge))
	}
	c.seq = first + uint32(n)
	failed := false
	if n > 0 {
		what := ops[0].String()
		if n > 1 {
			what = fmt.Sprintf("ipvs: %d requests from %s", n, what)
		}
		ferr := faultinject.Write(what, func() error {
			failed = c.exchange(ops[:n], buf, first, errs[:n])
			return nil
		})
		if ferr != nil { // an injected failure: nothing was sent
			for k, op := range ops[:n] {
				errs[k] = &Error{Op: op.Kind.String(), Object: op.object(), Err: ferr}
			}
			failed = true
		}
	}
	if encErr != nil && !failed {
		errs[n] = encErr // an Op that cannot be encoded fails as the kernel's refusal would
		return buf, n + 1, true
	}
	return buf, n, failed
}

// sequences returns the first of n consecutive sequence numbers that do
// not wrap through 0 (which netlink.Conn would replace with its own).
func (c *Client) sequences(n int) uint32 {
	if c.seq == 0 {
		c.seq = rand.Uint32()>>1 | 1
	}
	if c.seq+uint32(n) < c.seq {
		c.seq = 1
	}
	return c.seq
}

// exchange sends one chunk of encoded requests (sequence numbers first,
// first+1, ...; only the last asks for an acknowledgement) in one sendmsg
// and reads the answers until that acknowledgement, filling errs. It
// reports whether any Op failed.
func (c *Client) exchange(ops []Op, buf []byte, first uint32, errs []error) (failed bool) {
	if err := c.tr.send(buf); err != nil {
		// The kernel received nothing of the chunk.
		for k, op := range ops {
			errs[k] = &Error{Op: op.Kind.String(), Object: op.object(), Err: fmt.Errorf("send: %w", err)}
		}
		return true
	}
	answered := make([]bool, len(ops))
	finished := false // the last request's acknowledgement (or refusal) came
	ack := func(seq uint32, errno syscall.Errno) {
		k := seq - first
		if k >= uint32(len(ops)) || answered[k] {
			return // not a request of this chunk
		}
		answered[k] = true
		if errno != 0 {
			errs[k] = ops[k].fail(errno)
			failed = true
		}
		finished = finished || int(k) == len(ops)-1
	}
	var lost error // why answers are missing
	for !finished {
		err := c.tr.recv(ack)
		if err == nil {
			continue
		}
		lost = c.why(err)
		c.dirty = true
		if errors.Is(err, unix.ENOBUFS) {
			// The receive buffer overflowed and the kernel dropped some
			// answers. It finished the whole chunk inside sendmsg, so the
			// ones it kept are all queued: read them without waiting.
			c.limits.ops = max(c.limits.ops/2, 1)
			c.streak = 0
			if c.tr.drain(ack) == nil {
				c.dirty = false
			}
		}
		break
	}
	if lost != nil || !finished {
		// A refusal may be among the answers dropped: an Op without one
		// may have failed as well as succeeded.
		for k, op := range ops {
			if !answered[k] {
				errs[k] = &Error{Op: op.Kind.String(), Object: op.object(),
					Err: fmt.Errorf("no acknowledgement from the kernel (%w): %w", lost, ErrOutcomeUnknown)}
			}
		}
		failed = true
	} else if c.streak++; c.streak >= growAfter && c.limits.ops < c.maxOps {
		c.limits.ops = min(c.limits.ops*2, c.maxOps)
		c.streak = 0
	}
	if failed {
		notAttempted(ops, errs)
	}
	return failed
}

// notAttempted replaces the ESRCH refusals of destination Ops whose
// service's addition failed earlier in the chunk with ErrNotAttempted.
func notAttempted(ops []Op, errs []error) {
	var gone map[ServiceKey]bool // services whose addition failed
	for k, op := range ops {
		switch {
		case errs[k] == nil:
		case op.Kind == OpNewService:
			if gone == nil {
				gone = map[ServiceKey]bool{}
			}
			gone[op.Service.Key()] = true
		case gone != nil && op.OnDestination() && errors.Is(errs[k], unix.ESRCH) && gone[op.Service.Key()]:
			errs[k] = ErrNotAttempted
		}
	}
}

// transport carries a chunk's bytes to the kernel and its
// acknowledgements back.
type transport interface {
	// send sends buf, whole netlink messages, in one sendmsg.
	send(buf []byte) error
	// recv waits for the next datagram and calls ack with the sequence
	// number and errno (0: acknowledged) of each NLMSG_ERROR in it.
	recv(ack func(seq uint32, errno syscall.Errno)) error
	// drain does what recv does for every datagram already queued, without
	// waiting; it fails when the socket cannot read without waiting.
	drain(ack func(seq uint32, errno syscall.Errno)) error
}

// kernelAddr is the kernel's netlink address.
var kernelAddr = &unix.SockaddrNetlink{Family: unix.AF_NETLINK}

// rawTransport does its own sendto and read(2) on the socket's descriptor,
// through the runtime's poller: one system call per chunk and one per
// acknowledgement, nothing allocated per message.
type rawTransport struct {
	rc  syscall.RawConn
	buf []byte // one datagram
	// fd is the socket's descriptor while hold runs, -1 otherwise: send
	// and recvDatagram then try a raw, non-blocking system call first and
	// go through the poller only when it would block.
	fd int

	// The callbacks for rc, made once.
	out    []byte
	n      int
	err    error
	write  func(fd uintptr) bool
	read   func(fd uintptr) bool
	drainf func(fd uintptr)
	ack    func(seq uint32, errno syscall.Errno)
}

func newRawTransport(rc syscall.RawConn) *rawTransport {
	t := &rawTransport{rc: rc, fd: -1}
	t.write = func(fd uintptr) bool {
		t.err = unix.Sendto(int(fd), t.out, 0, kernelAddr)
		return t.err != unix.EAGAIN && t.err != unix.EINTR // false: wait, then again
	}
	t.read = func(fd uintptr) bool {
		t.n, t.err = unix.Read(int(fd), t.buf)
		return t.err != unix.EAGAIN && t.err != unix.EINTR
	}
	t.drainf = func(fd uintptr) {
		for {
			n, _, err := unix.Recvfrom(int(fd), t.buf, unix.MSG_DONTWAIT)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return
			}
			parseAcks(t.buf[:n], t.ack)
		}
	}
	return t
}

// hold runs fn with t.fd set: the descriptor stays open until fn returns.
func (t *rawTransport) hold(fn func() error) error {
	var err error
	cerr := t.rc.Control(func(fd uintptr) {
		t.fd = int(fd)
		defer func() { t.fd = -1 }()
		err = fn()
	})
	if cerr != nil {
		return cerr
	}
	return err
}

func (t *rawTransport) send(buf []byte) error {
	if t.fd >= 0 {
		switch e := sendNow(t.fd, buf); e {
		case 0:
			return nil
		case unix.EAGAIN, unix.EINTR: // wait below
		default:
			return os.NewSyscallError("sendto", e)
		}
	}
	t.out = buf
	defer func() { t.out = nil }()
	if err := t.rc.Write(t.write); err != nil {
		return err
	}
	return os.NewSyscallError("sendto", t.err)
}

func (t *rawTransport) recv(ack func(seq uint32, errno syscall.Errno)) error {
	b, err := t.recvDatagram()
	if err != nil {
		return err
	}
	parseAcks(b, ack)
	return nil
}

// recvDatagram waits for the next datagram and returns it, in a buffer
// the next read reuses.
func (t *rawTransport) recvDatagram() ([]byte, error) {
	if t.buf == nil {
		t.buf = make([]byte, recvBufSize)
	}
	if t.fd >= 0 {
		switch n, e := recvNow(t.fd, t.buf); e {
		case 0:
			return t.buf[:n], nil
		case unix.EAGAIN, unix.EINTR: // wait below
		default:
			return nil, os.NewSyscallError("read", e)
		}
	}
	if err := t.rc.Read(t.read); err != nil {
		return nil, err
	}
	if t.err != nil {
		return nil, os.NewSyscallError("read", t.err)
	}
	return t.buf[:t.n], nil
}

func (t *rawTransport) drain(ack func(seq uint32, errno syscall.Errno)) error {
	t.ack = ack
	defer func() { t.ack = nil }()
	return t.rc.Control(t.drainf)
}

// parseAcks calls ack for each NLMSG_ERROR message in a datagram.
func parseAcks(b []byte, ack func(seq uint32, errno syscall.Errno)) {
	for len(b) >= nlmsgHeaderLen {
		l := int(binary.NativeEndian.Uint32(b))
		if l < nlmsgHeaderLen || l > len(b) {
			return
		}
		if binary.NativeEndian.Uint16(b[4:]) == unix.NLMSG_ERROR && l >= nlmsgHeaderLen+4 {
			errno := -int32(binary.NativeEndian.Uint32(b[nlmsgHeaderLen:]))
			ack(binary.NativeEndian.Uint32(b[8:]), syscall.Errno(errno))
		}
		b = b[min(nlmsgAlign(l), len(b)):]
	}
}

// connTransport goes through netlink.Conn, for sockets without a file
// descriptor (the tests' fakes).
type connTransport struct{ nl *netlink.Conn }

func (t connTransport) send(buf []byte) error {
	var msgs []netlink.Message
	for len(buf) >= nlmsgHeaderLen {
		l := nlmsgAlign(int(binary.NativeEndian.Uint32(buf)))
		var m netlink.Message
		if err := m.UnmarshalBinary(buf[:l]); err != nil {
			return err
		}
		msgs = append(msgs, m)
		buf = buf[l:]
	}
	_, err := t.nl.SendMessages(msgs)
	return err
}

func (t connTransport) recv(ack func(seq uint32, errno syscall.Errno)) error {
	msgs, err := t.nl.Receive()
	if err != nil {
		var oe *netlink.OpError
		if errors.As(err, &oe) {
			if errno, ok := oe.Err.(syscall.Errno); ok { // a refusal; a system call's error is an *os.SyscallError
				ack(oe.Sequence, errno)
				return nil
			}
		}
		return err
	}
	for _, m := range msgs {
		if m.Header.Type == netlink.Error { // errno 0: Receive returns refusals as errors
			ack(m.Header.Sequence, 0)
		}
	}
	return nil
}

func (t connTransport) drain(ack func(seq uint32, errno syscall.Errno)) error {
	if err := t.nl.SetReadDeadline(time.Now()); err != nil {
		return err
	}
	defer t.nl.SetReadDeadline(time.Time{})
	for t.recv(ack) == nil {
	}
	return nil
}

// nlmsgHeaderLen is the size of struct nlmsghdr.
const nlmsgHeaderLen = 16

// nlmsgAlign rounds n up to netlink's 4-byte alignment.
func nlmsgAlign(n int) int { return (n + 3) &^ 3 }
