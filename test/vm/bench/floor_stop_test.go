package bench

import (
	"encoding/binary"
	"testing"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// IPVS's dump commands (include/uapi/linux/ip_vs.h).
const (
	cmdGetService = 4
	cmdGetDest    = 8
)

// encodeReads pre-encodes the reads stop (and status) must do on the
// shape's table: one dump of the services, then a dump of each service's
// destinations (IPVS has no dump of every destination). The destination
// dumps carry the same service attributes as the deletions.
func encodeReads(tb testing.TB, s shape, family uint16) [][]byte {
	tb.Helper()
	dels, err := encodeRequests(s.deletes(), family, 1, true)
	if err != nil {
		tb.Fatal(err)
	}
	dump := func(m []byte, cmd uint8) []byte {
		binary.NativeEndian.PutUint16(m[6:], uint16(netlink.Request|netlink.Dump))
		m[16] = cmd
		return m
	}
	out := [][]byte{dump(append([]byte(nil), dels[0][:20]...), cmdGetService)}
	binary.NativeEndian.PutUint32(out[0][0:], 20)
	for _, m := range dels {
		out = append(out, dump(m, cmdGetDest))
	}
	return out
}

// readAll sends each dump request and reads its replies to the end
// (NLMSG_DONE), without decoding them; it returns how many entries the
// dumps gave. Any error reply fails.
func (s rawSocket) readAll(tb testing.TB, reqs [][]byte) int {
	buf := make([]byte, 64<<10)
	entries := 0
	for _, req := range reqs {
		if err := rawSendto(s.fd, req); err != nil {
			tb.Fatalf("sendto: %v", err)
		}
		for done := false; !done; {
			n, err := rawRecvfrom(s.fd, buf)
			if err != nil {
				tb.Fatalf("recvfrom: %v", err)
			}
			for off := 0; off+16 <= n && !done; {
				l := int(binary.NativeEndian.Uint32(buf[off:]))
				switch typ := binary.NativeEndian.Uint16(buf[off+4:]); typ {
				case unix.NLMSG_DONE:
					done = true
				case unix.NLMSG_ERROR:
					tb.Fatalf("dump refused: %v", unix.Errno(-int32(binary.NativeEndian.Uint32(buf[off+16:]))))
				default:
					entries++
				}
				if l < 16 {
					tb.Fatalf("malformed reply")
				}
				off += (l + 3) &^ 3
			}
		}
	}
	return entries
}
