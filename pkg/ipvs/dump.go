package ipvs

import (
	"context"
	"encoding/binary"
	"errors"
	"syscall"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// errMalformedMessage reports a reply whose netlink length does not fit
// its datagram.
var errMalformedMessage = errors.New("malformed netlink message")

// dump runs a dump request (cmd with body) under ctx and calls each with
// the payload (the attributes after the generic netlink header) of every
// reply, in order (see dumpIn).
func (c *Client) dump(ctx context.Context, cmd uint8, body []byte, each func(payload []byte)) error {
	end, err := c.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	return c.held(func() error { return c.dumpIn(cmd, body, each) })
}

// held runs fn, on the raw transport with the socket's descriptor held
// for raw system calls (see rawTransport.hold). Called with mu held.
func (c *Client) held(fn func() error) error {
	if rt, ok := c.tr.(*rawTransport); ok {
		return rt.hold(fn)
	}
	return fn()
}

// dumpIn is dump within a call already begun (mu held, the deadline
// armed): several dumps share one begin. On the raw transport the replies
// are read straight from the socket into one reused buffer, so a payload
// is valid only during its call; on others (the tests' fakes) through
// genetlink. A refusal is returned as the errno, a failure of the socket
// as *os.SyscallError. A dump refused because the IPVS family's id
// changed (see familyMoved) is sent once more, to the new id: nothing was
// answered, the request never reached IPVS.
func (c *Client) dumpIn(cmd uint8, body []byte, each func(payload []byte)) error {
	err := c.dumpOnce(cmd, body, each)
	if c.familyMoved(err) {
		err = c.dumpOnce(cmd, body, each)
	}
	return err
}

// dumpOnce is dumpIn without the retry after the family's id changed.
func (c *Client) dumpOnce(cmd uint8, body []byte, each func(payload []byte)) error {
	rt, ok := c.tr.(*rawTransport)
	if !ok {
		msgs, err := c.conn.Execute(genetlink.Message{Header: genetlink.Header{Command: cmd, Version: c.version}, Data: body},
			c.family, netlink.Request|netlink.Dump)
		if err != nil {
			return c.failed(err)
		}
		for _, m := range msgs {
			each(m.Data)
		}
		return nil
	}
	seq := c.sequences(1)
	c.seq = seq + 1
	// The request is built in a buffer reused from call to call (under
	// mu): sendto copies it into the kernel.
	req := append(c.dumpReq[:0], make([]byte, nlmsgHeaderLen+4)...)
	req = append(req, body...)
	c.dumpReq = req
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], c.family)
	binary.NativeEndian.PutUint16(req[6:], uint16(netlink.Request|netlink.Dump))
	binary.NativeEndian.PutUint32(req[8:], seq)
	req[nlmsgHeaderLen], req[nlmsgHeaderLen+1] = cmd, c.version
	if err := rt.send(req); err != nil {
		return c.why(err) // nothing was sent: nothing will be answered
	}
	for {
		b, err := rt.recvDatagram()
		if err != nil {
			c.dirty = true
			return c.why(err)
		}
		done, err := dumpReplies(b, seq, c.family, each)
		if err != nil || done {
			if err != nil && !errors.As(err, new(syscall.Errno)) {
				c.dirty = true // the rest of the dump may still come
			}
			return err
		}
	}
}

// dumpReplies handles one datagram of the dump with sequence number seq:
// each payload of a family message goes to each; it reports whether the
// dump ended (NLMSG_DONE, or a refusal).
func dumpReplies(b []byte, seq uint32, family uint16, each func([]byte)) (bool, error) {
	for len(b) >= nlmsgHeaderLen {
		l := int(binary.NativeEndian.Uint32(b))
		if l < nlmsgHeaderLen || l > len(b) {
			return true, errMalformedMessage
		}
		m := b[:l]
		b = b[min(nlmsgAlign(l), len(b)):]
		if binary.NativeEndian.Uint32(m[8:]) != seq {
			continue // an answer to an earlier request
		}
		switch typ := binary.NativeEndian.Uint16(m[4:]); typ {
		case unix.NLMSG_DONE, unix.NLMSG_ERROR:
			// Both carry an int: the dump's error (DONE, since Linux 4.x)
			// or the refusal (ERROR), negative, 0 for none.
			if len(m) >= nlmsgHeaderLen+4 {
				if e := int32(binary.NativeEndian.Uint32(m[nlmsgHeaderLen:])); e < 0 {
					return true, syscall.Errno(-e)
				}
			}
			if typ == unix.NLMSG_DONE {
				return true, nil
			}
		case family:
			if len(m) >= nlmsgHeaderLen+4 {
				each(m[nlmsgHeaderLen+4:])
			}
		}
	}
	return false, nil
}
