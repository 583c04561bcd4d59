package health

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
)

// DNS wire constants (RFC 1035).
const (
	dnsTypeA    = 1
	dnsTypeAAAA = 28
	dnsClassIN  = 1
	dnsFlagQR   = 0x8000
	dnsFlagRD   = 0x0100
	dnsHeader   = 12
)

var dnsRcodes = map[uint16]string{1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}

// probeDNS asks the real server one A or AAAA question over UDP and passes
// when the answer is NOERROR with at least one record of the asked type.
func probeDNS(ctx context.Context, t Target) Result {
	s := t.Spec
	qtype := uint16(dnsTypeA)
	if s.QueryType == "AAAA" {
		qtype = dnsTypeAAAA
	}
	id := uint16(rand.Uint32())
	q, err := dnsQuery(id, s.Query, qtype)
	if err != nil {
		return Result{Reason: fmt.Sprintf("query %q: %v", s.Query, err)}
	}
	c, stop, err := dial(ctx, "udp", t)
	if err != nil {
		return failure("connect", err, s.Timeout)
	}
	defer c.Close()
	defer stop()
	if _, err := c.Write(q); err != nil {
		return failure("send query", err, s.Timeout)
	}
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return failure("read answer", err, s.Timeout)
		}
		if n < 2 || binary.BigEndian.Uint16(buf) != id {
			continue // not ours: a late answer to an earlier query
		}
		return dnsVerdict(buf[:n], qtype, s.QueryType)
	}
}

// dnsVerdict judges one answer to a question of qtype.
func dnsVerdict(msg []byte, qtype uint16, qname string) Result {
	rcode, n, err := dnsAnswers(msg, qtype)
	switch {
	case err != nil:
		return Result{Reason: fmt.Sprintf("bad answer: %v", err)}
	case rcode != 0:
		name, ok := dnsRcodes[rcode]
		if !ok {
			name = fmt.Sprintf("rcode %d", rcode)
		}
		return Result{Reason: "answer: " + name}
	case n == 0:
		return Result{Reason: "answer: NOERROR without " + qname + " records"}
	}
	return Result{Up: true, Reason: fmt.Sprintf("NOERROR, %d %s", n, qname)}
}

// dnsQuery encodes a recursive question for name of type qtype.
func dnsQuery(id uint16, name string, qtype uint16) ([]byte, error) {
	b := make([]byte, dnsHeader, dnsHeader+len(name)+6)
	binary.BigEndian.PutUint16(b[0:], id)
	binary.BigEndian.PutUint16(b[2:], dnsFlagRD)
	binary.BigEndian.PutUint16(b[4:], 1) // one question
	name = strings.TrimSuffix(name, ".")
	if len(name) == 0 || len(name) > 253 {
		return nil, errors.New("name length must be 1..253")
	}
	for label := range strings.SplitSeq(name, ".") {
		if len(label) == 0 || len(label) > 63 {
			return nil, fmt.Errorf("label %q: length must be 1..63", label)
		}
		b = append(b, byte(len(label)))
		b = append(b, label...)
	}
	b = append(b, 0)
	b = binary.BigEndian.AppendUint16(b, qtype)
	return binary.BigEndian.AppendUint16(b, dnsClassIN), nil
}

// dnsAnswers decodes an answer: its rcode and how many answer records
// have type qtype.
func dnsAnswers(msg []byte, qtype uint16) (rcode uint16, n int, err error) {
	if len(msg) < dnsHeader {
		return 0, 0, errors.New("short header")
	}
	flags := binary.BigEndian.Uint16(msg[2:])
	if flags&dnsFlagQR == 0 {
		return 0, 0, errors.New("not a response")
	}
	qd, an := binary.BigEndian.Uint16(msg[4:]), binary.BigEndian.Uint16(msg[6:])
	off := dnsHeader
	for range qd {
		if off, err = dnsSkipName(msg, off); err != nil {
			return 0, 0, err
		}
		off += 4 // type, class
	}
	for range an {
		if off, err = dnsSkipName(msg, off); err != nil {
			return 0, 0, err
		}
		if off+10 > len(msg) {
			return 0, 0, errors.New("short record")
		}
		if binary.BigEndian.Uint16(msg[off:]) == qtype {
			n++
		}
		off += 10 + int(binary.BigEndian.Uint16(msg[off+8:]))
	}
	if off > len(msg) {
		return 0, 0, errors.New("short record data")
	}
	return flags & 0xF, n, nil
}

// dnsSkipName returns the offset after the (possibly compressed) name at off.
func dnsSkipName(msg []byte, off int) (int, error) {
	for off < len(msg) {
		l := int(msg[off])
		switch {
		case l == 0:
			return off + 1, nil
		case l&0xC0 == 0xC0:
			return off + 2, nil
		case l&0xC0 != 0:
			return 0, errors.New("bad label")
		}
		off += 1 + l
	}
	return 0, errors.New("name runs past the end")
}
