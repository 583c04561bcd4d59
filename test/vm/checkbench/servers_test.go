package checkbench

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/topo"
)

// The workload's layout: real server i is address i/portsPerAddr at port
// portBase + i%portsPerAddr; the addresses are 10.77.1.1, 10.77.1.2, ...
// (250 a /24), the director is 10.77.0.1, all in one on-link /16.
const (
	portsPerAddr = 100
	portBase     = 20000
	directorCIDR = "10.77.0.1/16"
)

// serverAddr is the address of the a-th server address (0-based).
func serverAddr(a int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, 77, byte(1 + a/250), byte(1 + a%250)})
}

// addrIndex is the inverse of serverAddr; -1 for any other address.
func addrIndex(ip netip.Addr) int {
	b := ip.Unmap().As4()
	if b[0] != 10 || b[1] != 77 || b[2] < 1 || b[3] < 1 || b[3] > 250 {
		return -1
	}
	return int(b[2]-1)*250 + int(b[3]-1)
}

// realServers lists the n real servers of the workload.
func realServers(n int) []netip.AddrPort {
	rs := make([]netip.AddrPort, n)
	for i := range rs {
		rs[i] = netip.AddrPortFrom(serverAddr(i/portsPerAddr), uint16(portBase+i%portsPerAddr))
	}
	return rs
}

// nAddrs is how many server addresses n real servers use.
func nAddrs(n int) int { return (n + portsPerAddr - 1) / portsPerAddr }

// servers accepts the checks' connections in the servers namespace: one
// listener per port on 0.0.0.0, one accept loop each, which stamps every
// accepted connection with its arrival time (from base, monotonic) under
// its local address and closes it at once.
type servers struct {
	base  time.Time
	addrs int
	ls    []*listener
	wg    sync.WaitGroup
}

// listener is one port's socket and its arrivals by address index.
type listener struct {
	ln  net.Listener
	mu  sync.Mutex
	rec [][]time.Duration
}

// serve opens the listeners in ns and starts the accept loops; close
// stops them.
func serve(ns *topo.NS, addrs int) (*servers, error) {
	s := &servers{base: time.Now(), addrs: addrs}
	for p := range portsPerAddr {
		ln, err := ns.Listen("tcp4", fmt.Sprintf("0.0.0.0:%d", portBase+p))
		if err != nil {
			s.close()
			return nil, err
		}
		l := &listener{ln: ln, rec: make([][]time.Duration, addrs)}
		s.ls = append(s.ls, l)
		s.wg.Go(func() { s.accept(l) })
	}
	return s, nil
}

// accept stamps and closes connections until the listener is closed.
func (s *servers) accept(l *listener) {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		at := time.Since(s.base)
		la, _ := c.LocalAddr().(*net.TCPAddr)
		c.Close()
		if la == nil {
			continue
		}
		ip, _ := netip.AddrFromSlice(la.IP)
		if a := addrIndex(ip); a >= 0 && a < s.addrs {
			l.mu.Lock()
			l.rec[a] = append(l.rec[a], at)
			l.mu.Unlock()
		}
	}
}

// now is the current time on the arrivals' clock.
func (s *servers) now() time.Duration { return time.Since(s.base) }

// reset forgets every arrival.
func (s *servers) reset() {
	for _, l := range s.ls {
		l.mu.Lock()
		for a := range l.rec {
			l.rec[a] = l.rec[a][:0]
		}
		l.mu.Unlock()
	}
}

// window returns, for each of the first n real servers (realServers
// order), its arrivals within [from, to], sorted.
func (s *servers) window(n int, from, to time.Duration) [][]time.Duration {
	out := make([][]time.Duration, n)
	for i := range out {
		l := s.ls[i%portsPerAddr]
		l.mu.Lock()
		for _, at := range l.rec[i/portsPerAddr] {
			if at >= from && at <= to {
				out[i] = append(out[i], at)
			}
		}
		l.mu.Unlock()
	}
	return out
}

// close stops the accept loops and waits for them.
func (s *servers) close() {
	for _, l := range s.ls {
		l.ln.Close()
	}
	s.wg.Wait()
}
