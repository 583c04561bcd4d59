package daemon

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// bound reports whether addr is bound on the director's eth0.
func (c *cluster) bound(addr netip.Addr) bool {
	c.t.Helper()
	h := c.p.Director.Handle()
	link, err := h.LinkByName("eth0")
	must(c.t, err)
	addrs, err := h.AddrList(link, netlink.FAMILY_V4)
	must(c.t, err)
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap() == addr {
			return true
		}
	}
	return false
}

// markConfig is a file with one fwmark service (mark 10, tcp port 80 of
// vip) whose real server is rs1, draining for 15s.
func markConfig(vip string) string {
	return `director:
  interface: eth0
  reconcile_interval: 2s
virtual_servers:
  - vip: ` + vip + `
    fwmark: 10
    mark: [{protocol: tcp, port: 80}]
    scheduler: rr
    mode: dr
    drain_timeout: 15s
    real_servers:
      - {address: 10.0.0.11, weight: 1}
`
}

// TestMovedFWMarkVIPKeepsConnection: a fwmark service's vip changes
// while a client holds a connection through the old VIP: the service
// keeps its key and real servers, and the old VIP stays bound on the
// director (through a restart of the daemon too), so the established
// connection goes on being answered; once the drain_timeout passes the
// old VIP goes. (Before: the old VIP was unbound in the reload's pass and
// the connection's next request timed out, its packets no longer
// reaching IPVS.)
func TestMovedFWMarkVIPKeepsConnection(t *testing.T) {
	oldVIP, newVIP := netip.MustParseAddr("10.0.0.100"), netip.MustParseAddr("10.0.0.101")
	mark := ipvs.ServiceKey{Family: ipvs.Inet, FWMark: 10}
	c := newCluster(t, markConfig(oldVIP.String()))
	c.run()
	c.ready()
	c.waitWeights(mark, 5*time.Second, map[string]int{"10.0.0.11": 1})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := c.p.Client.DialContext(ctx, "tcp", oldVIP.String()+":80")
	must(t, err)
	defer conn.Close()
	r := bufio.NewReader(conn)
	if body, err := ask(conn, r); err != nil || body != "rs1" {
		t.Fatalf("first request: %q, %v", body, err)
	}

	c.reload(markConfig(newVIP.String()))
	waitFor(t, 10*time.Second, "the new VIP bound", func() (bool, string) {
		return c.bound(newVIP), ""
	})
	time.Sleep(500 * time.Millisecond) // the rest of the pass, unbinds included
	for i := range 2 {
		if body, err := ask(conn, r); err != nil || body != "rs1" {
			t.Fatalf("request %d on the established connection after the reload: %q, %v (its packets no longer reach IPVS; old VIP bound: %v)", i+2, body, err, c.bound(oldVIP))
		}
	}
	if !c.bound(oldVIP) {
		t.Fatal("the old VIP was unbound while the fwmark service still has a connection to it")
	}

	// A new daemon (the record) keeps it bound too.
	c.d.signal(syscall.SIGTERM)
	if code := c.d.exit(t); code != 0 {
		t.Fatalf("lvs-rs run exited %d", code)
	}
	c.run()
	c.ready()
	if !c.bound(oldVIP) {
		t.Fatal("the old VIP was unbound by the restarted daemon while a connection to it is open")
	}
	if body, err := ask(conn, r); err != nil || body != "rs1" {
		t.Fatalf("request on the established connection after the restart: %q, %v", body, err)
	}
	conn.Close()
	waitFor(t, 40*time.Second, "the old VIP unbound after drain_timeout", func() (bool, string) {
		return !c.bound(oldVIP) && c.bound(newVIP), fmt.Sprint("old bound=", c.bound(oldVIP))
	})
	if strings.Contains(c.d.log.String(), "reconcile pass failed") {
		t.Fatalf("a pass failed:\n%s", c.d.log.String())
	}
}
