package scaleout

import (
	"bufio"
	"context"
	be "encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/topo"
)

// Flow timing: a round trip every pingEvery; one that gets no answer
// within replyWait is a broken connection (bounded waits only).
const (
	pingEvery = 250 * time.Millisecond
	replyWait = 20 * time.Second
)

// trip is one answered round trip.
type trip struct {
	sent, got time.Time
	rs        string // the real server that answered
}

// flow is one long-lived TCP connection from the client to VIP:80 that
// sends a line every pingEvery and reads the echo naming the real server.
type flow struct {
	port uint16 // the client's source port
	c    net.Conn
	mu   sync.Mutex
	trip []trip
	err  error // the first failure: a reset, a closed connection, no answer
}

// dialFlows opens n connections from ns to addr and starts their round
// trips, until ctx ends (then the connections close).
func dialFlows(t *testing.T, ctx context.Context, ns *topo.NS, addr string, n int) []*flow {
	t.Helper()
	var wg sync.WaitGroup
	fs := make([]*flow, n)
	for i := range fs {
		c, err := ns.DialContext(ctx, "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fs[i] = &flow{port: uint16(c.LocalAddr().(*net.TCPAddr).Port), c: c}
		wg.Add(1)
		go func(f *flow) { defer wg.Done(); f.run(ctx) }(fs[i])
	}
	t.Cleanup(func() {
		for _, f := range fs {
			f.c.Close()
		}
		wg.Wait()
	})
	return fs
}

func (f *flow) run(ctx context.Context) {
	r := bufio.NewReader(f.c)
	for seq := 0; ctx.Err() == nil; seq++ {
		sent := time.Now()
		f.c.SetDeadline(sent.Add(replyWait))
		line := ""
		_, err := fmt.Fprintf(f.c, "%d\n", seq)
		if err == nil {
			line, err = r.ReadString('\n')
		}
		if ctx.Err() != nil {
			return // closed by the test
		}
		name, echo, _ := strings.Cut(strings.TrimSpace(line), " ")
		if err == nil && echo != fmt.Sprint(seq) {
			err = fmt.Errorf("answer %q to %d", line, seq)
		}
		f.mu.Lock()
		if err != nil {
			f.err = fmt.Errorf("flow from port %d, round trip %d: %w", f.port, seq, err)
			f.mu.Unlock()
			return
		}
		f.trip = append(f.trip, trip{sent: sent, got: time.Now(), rs: name})
		f.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(pingEvery):
		}
	}
}

// state returns the flow's failure, its round trips so far and the real
// servers that answered, in order of first answer.
func (f *flow) state() (error, []trip, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var rss []string
	for _, tr := range f.trip {
		if !slices.Contains(rss, tr.rs) {
			rss = append(rss, tr.rs)
		}
	}
	return f.err, append([]trip(nil), f.trip...), rss
}

// waitTrips waits until every flow has n round trips after since; a
// failed flow fails the test.
func waitTrips(t *testing.T, fs []*flow, since time.Time, n int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		short := 0
		for _, f := range fs {
			err, trips, _ := f.state()
			if err != nil {
				t.Fatal(err)
			}
			after := 0
			for _, tr := range trips {
				if tr.sent.After(since) {
					after++
				}
			}
			if after < n {
				short++
			}
		}
		if short == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d flows have fewer than %d round trips %v after %v", short, len(fs), n, limit, since.Format("15:04:05.000"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sniffer records, for each client source port, when packets to
// VIP:80 last reached a director's eth0 (frames addressed to it: the
// director carries that flow).
type sniffer struct {
	mu   sync.Mutex
	seen map[uint16][]time.Time // every arrival, in order
}

// sniff starts a sniffer on ns's eth0 until ctx ends.
func sniff(t *testing.T, ctx context.Context, ns *topo.NS, vip netip.Addr) *sniffer {
	t.Helper()
	s := &sniffer{seen: map[uint16][]time.Time{}}
	var fd int
	err := ns.Do(func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		proto := int(htons(unix.ETH_P_IP))
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			return err
		}
		tv := unix.NsecToTimeval(int64(200 * time.Millisecond))
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IP), Ifindex: ifi.Index})
	})
	if err != nil {
		t.Fatalf("sniffer in %s: %v", ns.Name(), err)
	}
	done := make(chan struct{})
	var stop atomic.Bool
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for ctx.Err() == nil && !stop.Load() {
			n, from, err := unix.Recvfrom(fd, buf, 0)
			ll, ok := from.(*unix.SockaddrLinklayer)
			if err != nil || !ok || ll.Pkttype != unix.PACKET_HOST {
				continue
			}
			if port, ok := clientPort(buf[:n], vip); ok {
				s.mu.Lock()
				s.seen[port] = append(s.seen[port], time.Now())
				s.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { stop.Store(true); <-done; unix.Close(fd) })
	return s
}

// clientPort parses an IPv4 TCP packet (a SOCK_RAW frame) to vip:80 and
// returns its source port.
func clientPort(frame []byte, vip netip.Addr) (uint16, bool) {
	if len(frame) < 14+20 || be.BigEndian.Uint16(frame[12:14]) != unix.ETH_P_IP {
		return 0, false
	}
	ip := frame[14:]
	ihl := int(ip[0]&0x0f) * 4
	if ip[9] != unix.IPPROTO_TCP || len(ip) < ihl+4 || netip.AddrFrom4([4]byte(ip[16:20])) != vip {
		return 0, false
	}
	tcp := ip[ihl:]
	if be.BigEndian.Uint16(tcp[2:4]) != 80 {
		return 0, false
	}
	return be.BigEndian.Uint16(tcp[0:2]), true
}

// carried returns the client ports of which a packet arrived in [from, to).
func (s *sniffer) carried(from, to time.Time) map[uint16]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[uint16]bool{}
	for port, ts := range s.seen {
		for _, at := range ts {
			if !at.Before(from) && at.Before(to) {
				out[port] = true
				break
			}
		}
	}
	return out
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
