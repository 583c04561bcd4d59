package doctor

import (
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/ipvs"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/pkg/conntable"
)

// TestStatusConnections: clients hold TCP connections open through a DR
// VIP set up by lvs-rs, and one through a service on the same VIP that
// lvs-rs did not create; status --connections lists exactly the former,
// in JSON and as a table.
func TestStatusConnections(t *testing.T) {
	p := topo.DR(t)
	c := newCluster(t, clusterYAML(p, "dr", ""))
	for _, n := range []*topo.NS{p.RS1, p.RS2} {
		c.start(n, realserver)
		for _, port := range []string{":80", ":81"} {
			if _, err := n.ServeEcho(p.VIP.String() + port); err != nil {
				t.Fatal(err)
			}
		}
	}
	c.start(p.Director, director)
	foreignService(t, p, 81)

	var mine []netip.AddrPort
	for range 3 {
		mine = append(mine, hold(t, p, 80))
	}
	foreign := hold(t, p, 81)

	r := c.lvsrs(p.Director, nil, "status", "--connections", "-o", "json")
	if r.code != 0 {
		t.Fatalf("status --connections: exit %d\n%s", r.code, r.stderr)
	}
	var got struct{ Connections []conntable.Conn }
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("status --connections -o json: %v\n%s", err, r.stdout)
	}
	var clients []netip.AddrPort
	for _, cn := range got.Connections {
		clients = append(clients, cn.Client)
		real := cn.Real.Addr()
		if cn.Protocol != "TCP" || cn.State != "ESTABLISHED" || cn.Virtual != netip.AddrPortFrom(p.VIP, 80) ||
			(real != p.RS1IP && real != p.RS2IP) || cn.Real.Port() != 80 || cn.Expires <= 0 {
			t.Errorf("connection %+v: want TCP ESTABLISHED to %s:80 via a real server's port 80, not expired", cn, p.VIP)
		}
	}
	slices.SortFunc(clients, netip.AddrPort.Compare)
	slices.SortFunc(mine, netip.AddrPort.Compare)
	if !slices.Equal(clients, mine) {
		t.Errorf("listed clients %v, want exactly the open connections %v (not the foreign service's %v)", clients, mine, foreign)
	}

	r = c.lvsrs(p.Director, nil, "status", "--connections")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "pro expire state") || strings.Count(r.stdout, "ESTABLISHED") != len(mine) ||
		strings.Contains(r.stdout, foreign.String()) {
		t.Errorf("table: exit %d, want the header and %d ESTABLISHED lines without %s:\n%s", r.code, len(mine), foreign, r.stdout)
	}
}

// foreignService adds a DR service on VIP:port to both real servers with
// plain IPVS calls, as another tool would.
func foreignService(t *testing.T, p *topo.Preset, port uint16) {
	t.Helper()
	h, err := ipvs.New(p.Director.Path())
	if err != nil {
		t.Fatalf("ipvs in the director: %v", err)
	}
	t.Cleanup(h.Close)
	svc := &ipvs.Service{AddressFamily: unix.AF_INET, Protocol: unix.IPPROTO_TCP,
		Address: net.IP(p.VIP.AsSlice()), Port: port, SchedName: "rr", Netmask: 0xffffffff}
	if err := h.NewService(svc); err != nil {
		t.Fatalf("foreign IPVS service: %v", err)
	}
	t.Cleanup(func() { h.DelService(svc) })
	for _, a := range []netip.Addr{p.RS1IP, p.RS2IP} {
		d := &ipvs.Destination{AddressFamily: unix.AF_INET, Address: net.IP(a.AsSlice()), Port: port, Weight: 1,
			ConnectionFlags: ipvs.ConnectionFlagDirectRoute}
		if err := h.NewDestination(svc, d); err != nil {
			t.Fatalf("foreign real server %s: %v", a, err)
		}
	}
}

// hold opens a TCP connection from the client to VIP:port, proves it
// reaches a real server with one request, keeps it open until the end of
// the test and returns its client address.
func hold(t *testing.T, p *topo.Preset, port uint16) netip.AddrPort {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := p.Client.DialContext(ctx, "tcp", netip.AddrPortFrom(p.VIP, port).String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := conn.Write([]byte("GET / HTTP/1.1\r\nHost: vip\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	n, err := conn.Read(buf)
	if err != nil || !strings.Contains(string(buf[:n]), "rs") {
		t.Fatalf("request through VIP:%d: %q, %v", port, buf[:n], err)
	}
	return netip.MustParseAddrPort(conn.LocalAddr().String())
}

// TestStatusConnectionsPortZero: a persistent port-0 (every port) DR
// service records each connection under the port the client reached
// (80, 81), and only its persistence template under port 0: status
// --connections lists all of them.
func TestStatusConnectionsPortZero(t *testing.T) {
	p := topo.DR(t)
	yaml := strings.Replace(clusterYAML(p, "dr", ""), "    port: 80\n", "    port: 0\n    persistence: 300\n", 1)
	c := newCluster(t, yaml)
	for _, n := range []*topo.NS{p.RS1, p.RS2} {
		c.start(n, realserver)
		for _, port := range []string{":80", ":81"} {
			if _, err := n.ServeEcho(p.VIP.String() + port); err != nil {
				t.Fatal(err)
			}
		}
	}
	c.start(p.Director, director)
	mine := []netip.AddrPort{hold(t, p, 80), hold(t, p, 81)}

	r := c.lvsrs(p.Director, nil, "status", "--connections", "-o", "json")
	if r.code != 0 {
		t.Fatalf("status --connections: exit %d\n%s", r.code, r.stderr)
	}
	var got struct{ Connections []conntable.Conn }
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("status --connections -o json: %v\n%s", err, r.stdout)
	}
	var clients []netip.AddrPort
	template := false
	for _, cn := range got.Connections {
		switch {
		case cn.Client.Port() == 0 && cn.Virtual == netip.AddrPortFrom(p.VIP, 0):
			// The persistence template: ports 0; its state name
			// varies by kernel (NONE, ASSURED on 6.1).
			template = true
		case cn.Protocol == "TCP" && cn.State == "ESTABLISHED" && cn.Virtual.Addr() == p.VIP:
			clients = append(clients, cn.Client)
		default:
			t.Errorf("connection %+v: want an ESTABLISHED one to the VIP or the template", cn)
		}
	}
	slices.SortFunc(clients, netip.AddrPort.Compare)
	slices.SortFunc(mine, netip.AddrPort.Compare)
	if !slices.Equal(clients, mine) || !template {
		t.Errorf("listed clients %v and template %v, want the connections to ports 80 and 81 %v and the template:\n%s", clients, template, mine, r.stdout)
	}
}
