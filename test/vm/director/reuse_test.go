package director

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// TestPortReuseRescheduled: a client that makes its connections to a DR
// VIP one after the other from one source port. With the kernel's default
// conn_reuse_mode=1 the director reschedules none of them: each finds the
// previous one's entry in FIN_WAIT (the director never sees the real
// server's FIN), goes to the same real server and is not counted (what
// doctor's conn-reuse-mode check warns of). With conn_reuse_mode: 2 under
// director.ipvs_sysctls, every one is scheduled (rr: both real servers
// answer) and counted.
func TestPortReuseRescheduled(t *testing.T) {
	const n = 10
	for _, tc := range []struct {
		name       string
		mode       int64 // 0: the kernel's default (1), untouched
		scheduled  bool
		wantCounts uint64
	}{{"kernel default", 0, false, 1}, {"conn_reuse_mode 2", 2, true, n}} {
		t.Run(tc.name, func(t *testing.T) {
			p := topo.DR(t)
			drRealServers(t, p)
			h := newHost(t, p.Director)
			cfg := one(p, config.ModeDR, "rr", 80, 1, 1)
			if tc.mode != 0 {
				cfg.Director.IPVSSysctls = []config.IPVSSysctl{{Name: "conn_reuse_mode", Value: tc.mode}}
			}
			h.start(cfg)
			if got := sysctl(t, p.Director, "net/ipv4/vs/conn_reuse_mode"); tc.mode != 0 && got != fmt.Sprint(tc.mode) {
				t.Fatalf("conn_reuse_mode %s after start, want %d", got, tc.mode)
			}
			seen := map[string]int{}
			for range n {
				seen[getFromPort(t, p.Client, p.VIP.String()+":80", 40000)]++
			}
			k := ipvs.ServiceKey{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: p.VIP, Port: 80}
			c := ipvsIn(t, p.Director)
			waitStats(t, c, k, "connections", func(tb table) bool { return tb[k].svc.Stats.Connections >= tc.wantCounts })
			// Let a late count show itself: the kernel folds the per-CPU
			// counters every two seconds.
			time.Sleep(2500 * time.Millisecond)
			if got := readTable(t, c)[k].svc.Stats.Connections; got != tc.wantCounts {
				t.Errorf("service counted %d connections of %d, want %d", got, n, tc.wantCounts)
			}
			if both := seen["rs1"] > 0 && seen["rs2"] > 0; both != tc.scheduled {
				t.Errorf("answers %v: both real servers answering = %v, want %v", seen, both, tc.scheduled)
			}
		})
	}
}

// getFromPort makes one HTTP/1.0 request to addr from the client's source
// port port and returns the answer's body. The previous connection from
// that port may still be closing (LAST_ACK): the dial is retried.
func getFromPort(t *testing.T, client *topo.NS, addr string, port int) string {
	t.Helper()
	d := net.Dialer{
		Timeout:   5 * time.Second,
		LocalAddr: &net.TCPAddr{Port: port},
		Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1) })
			return errors.Join(err, serr)
		},
	}
	for try := 0; ; try++ {
		var c net.Conn
		err := client.Do(func() (err error) {
			c, err = d.DialContext(context.Background(), "tcp", addr)
			return err
		})
		if err != nil {
			if try < 50 && (errors.Is(err, unix.EADDRNOTAVAIL) || errors.Is(err, unix.EADDRINUSE)) {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			t.Fatalf("dial %s from port %d: %v", addr, port, err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET / HTTP/1.0\r\n\r\n")
		b, err := io.ReadAll(c)
		c.Close()
		if err != nil {
			t.Fatalf("read from %s: %v", addr, err)
		}
		resp := string(b)
		return strings.TrimSpace(resp[strings.LastIndex(resp, "\n")+1:])
	}
}
