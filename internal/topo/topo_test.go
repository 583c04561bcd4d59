package topo

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// These run on the host as root (namespaces, veth and bridges are enough)
// and in the VM alike.

func TestDRLayout(t *testing.T) {
	p := DR(t)
	for _, rs := range []*NS{p.RS1, p.RS2} {
		if _, err := rs.ServeEcho(":8080"); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		ip, want string
		ns       *NS
	}{{p.RS1IP.String(), "rs1", p.RS1}, {p.RS2IP.String(), "rs2", p.RS2}} {
		got, err := p.Client.Get(c.ip + ":8080")
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("GET %s:8080 from client = %q, want %q", c.ip, got, c.want)
		}
		mac, err := p.Client.NeighMAC(c.ip)
		if err != nil {
			t.Fatal(err)
		}
		want, err := c.ns.HardwareAddr("eth0")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(mac, want) {
			t.Errorf("client's neighbour entry for %s = %s, want %s's eth0 %s", c.ip, mac, c.want, want)
		}
	}
	// The VIP is nobody's yet.
	if _, err := p.Client.Get(p.VIP.String() + ":8080"); err == nil {
		t.Errorf("GET VIP answered before anyone bound it")
	}
}

func TestTUNRouting(t *testing.T) {
	p := TUN(t)
	if _, err := p.RS1.ServeEcho(p.RS1IP.String() + ":8080"); err != nil {
		t.Fatal(err)
	}
	for _, from := range []*NS{p.Client, p.Director} {
		got, err := from.Get(p.RS1IP.String() + ":8080")
		if err != nil || got != "rs1" {
			t.Errorf("GET rs1 from %s through the router = %q, %v; want rs1", from.Name(), got, err)
		}
	}
	if v, err := p.Router.ReadSysctl("net.ipv4.ip_forward"); err != nil || v != "1" {
		t.Errorf("router ip_forward = %q, %v; want 1", v, err)
	}
	if v, err := p.Client.ReadSysctl("net.ipv4.ip_forward"); err != nil || v != "0" {
		t.Errorf("client ip_forward = %q, %v; want 0 (sysctls must be per namespace)", v, err)
	}
}

func TestNATLayout(t *testing.T) {
	p := NAT(t)
	if _, err := p.RS2.ServeEcho(":8080"); err != nil {
		t.Fatal(err)
	}
	if got, err := p.Director.Get(p.RS2IP.String() + ":8080"); err != nil || got != "rs2" {
		t.Errorf("GET rs2 from the director = %q, %v; want rs2", got, err)
	}
	// Forwarding is off on the director: the client cannot reach rs2.
	if err := p.Client.SetDefaultRoute("198.51.100.1"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if c, err := p.Client.DialContext(ctx, "tcp", p.RS2IP.String()+":8080"); err == nil {
		c.Close()
		t.Errorf("client reached rs2 with forwarding off on the director")
	}
}

func TestCommandRunsInNamespace(t *testing.T) {
	tp := New(t)
	n := tp.AddNS("box")
	var st syscall.Stat_t
	if err := syscall.Stat(n.Path(), &st); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("net:[%d]", st.Ino)

	out, err := n.Command(context.Background(), "readlink", "/proc/self/ns/net").Output()
	if err != nil {
		t.Fatalf("Command: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != want {
		t.Errorf("Command ran in %s, want %s", got, want)
	}

	cmd := exec.Command("readlink", "/proc/self/ns/net")
	var buf bytes.Buffer
	cmd.Stdout = &buf
	if err := n.Start(cmd); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(buf.String()); got != want {
		t.Errorf("Start ran in %s, want %s", got, want)
	}

	self, _ := os.Readlink("/proc/self/ns/net")
	if self == want {
		t.Errorf("the test itself is in the new namespace")
	}
	if err := n.Command(context.Background(), "no-such-program-lvsrs").Run(); err == nil {
		t.Errorf("running a missing program succeeded")
	}
}

func TestCleanupRemovesNamespaces(t *testing.T) {
	var paths []string
	t.Run("build", func(t *testing.T) {
		p := DR(t)
		paths = []string{p.Client.Path(), p.RS2.Path()}
	})
	for _, path := range paths {
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("%s still exists after cleanup (stat: %v)", path, err)
		}
	}
}

// TestWaitNoTentativeThenRoutes: once WaitNoTentative returns, no IPv6
// address is tentative, and Routes lists the local table's route for the
// address beside the main table's.
func TestWaitNoTentativeThenRoutes(t *testing.T) {
	tp := New(t)
	a := tp.AddNS("a")
	tp.AddNS("b")
	tp.AddSegment("lan")
	tp.Connect("a", "lan", "eth0", "fd00::1/64")
	tp.Connect("b", "lan", "eth0", "fd00::2/64")
	if err := a.WaitNoTentative(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	as, err := a.Handle().AddrList(nil, netlink.FAMILY_V6)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range as {
		if x.Flags&unix.IFA_F_TENTATIVE != 0 {
			t.Fatalf("%v still tentative after WaitNoTentative", x)
		}
	}
	rs, err := a.Routes()
	if err != nil {
		t.Fatal(err)
	}
	tables := map[int]bool{}
	for _, r := range rs {
		if r.Dst != nil && (r.Dst.IP.Equal(net.ParseIP("fd00::1")) || r.Dst.String() == "fd00::/64") {
			tables[r.Table] = true
		}
	}
	if !tables[unix.RT_TABLE_LOCAL] || !tables[unix.RT_TABLE_MAIN] {
		t.Fatalf("routes for fd00::1 and fd00::/64 in tables %v, want local and main:\n%v", tables, rs)
	}
}
