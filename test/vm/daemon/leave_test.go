package daemon

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// vipBound reports whether the VIP is bound on the director's eth0.
func (c *cluster) vipBound() bool {
	c.t.Helper()
	h := c.p.Director.Handle()
	link, err := h.LinkByName("eth0")
	must(c.t, err)
	addrs, err := h.AddrList(link, netlink.FAMILY_V4)
	must(c.t, err)
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap() == c.p.VIP {
			return true
		}
	}
	return false
}

// ask sends one HTTP request on conn, an established connection, and
// returns the body of the answer.
func ask(conn net.Conn, r *bufio.Reader) (string, error) {
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return "", err
	}
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: vip\r\n\r\n"); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestRemovedServiceKeepsConnection: the only virtual server of the VIP
// is removed from the file while a client holds a connection through it:
// the real server drains (weight 0) with the VIP still bound on the
// director, so the established connection goes on being answered; once
// the drain_timeout passes, the real server, the service and the VIP go.
// (Before: the VIP was unbound in the reload's pass and the connection's
// next request timed out, its packets no longer reaching IPVS.)
func TestRemovedServiceKeepsConnection(t *testing.T) {
	yaml := `director:
  interface: eth0
  reconcile_interval: 5s
  ipvs_sysctls: {expire_nodest_conn: 1, expire_quiescent_template: 1}
virtual_servers:
  - vip: 10.0.0.100
    port: 80
    scheduler: rr
    mode: dr
    drain_timeout: 10s
    real_servers:
      - {address: 10.0.0.11, weight: 1}
`
	c := newCluster(t, yaml)
	c.run()
	c.ready()
	c.waitWeights(vip80, 5*time.Second, map[string]int{"10.0.0.11": 1})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := c.p.Client.DialContext(ctx, "tcp", c.p.VIP.String()+":80")
	must(t, err)
	defer conn.Close()
	r := bufio.NewReader(conn)
	if body, err := ask(conn, r); err != nil || body != "rs1" {
		t.Fatalf("first request: %q, %v", body, err)
	}

	c.reload("director:\n  interface: eth0\n  reconcile_interval: 5s\n  ipvs_sysctls: {expire_nodest_conn: 1, expire_quiescent_template: 1}\n")
	c.waitWeights(vip80, 5*time.Second, map[string]int{"10.0.0.11": 0})
	time.Sleep(500 * time.Millisecond) // the rest of the pass, unbinds included
	if !c.vipBound() {
		t.Fatal("the VIP was unbound while its service drains")
	}
	for i := range 3 {
		if body, err := ask(conn, r); err != nil || body != "rs1" {
			t.Fatalf("request %d on the established connection after the reload: %q, %v (its packets no longer reach IPVS)", i+2, body, err)
		}
	}
	st, err := c.status()
	must(t, err)
	if !hasRow(st.RealServers, "10.0.0.11", "draining") {
		t.Fatalf("status: %+v, want 10.0.0.11 draining", st.RealServers)
	}
	conn.Close()
	waitFor(t, 20*time.Second, "the service and the VIP gone after drain_timeout", func() (bool, string) {
		w := c.weights(vip80)
		return len(w) == 0 && !c.vipBound(), fmt.Sprint(w, " bound=", c.vipBound())
	})
	if strings.Contains(c.d.log.String(), "reconcile pass failed") {
		t.Fatalf("a pass failed:\n%s", c.d.log.String())
	}
}
