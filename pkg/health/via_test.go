package health

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/nstest"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// viaNS is a namespace with the director's source address and the VIP on
// lo, a listener on VIP:port, and a policy rule that sends packets marked
// prohibitedMark to a table where the VIP is prohibited. The local table
// is moved behind that rule so the mark decides the route, as it does for
// the director's per-real-server firewall-mark services.
type viaNS struct {
	ns       *nstest.NS
	src, vip netip.Addr
	port     uint16
	peers    chan netip.AddrPort // remote address of every accepted connection
}

const prohibitedMark = 42

func newViaNS(t *testing.T) *viaNS {
	t.Helper()
	v := &viaNS{ns: nstest.New(t), src: netip.MustParseAddr("10.1.1.1"), vip: netip.MustParseAddr("10.2.2.2"),
		peers: make(chan netip.AddrPort, 16)}
	h := v.ns.Handle
	lo, err := h.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []netip.Addr{v.src, v.vip} {
		addr, _ := netlink.ParseAddr(a.String() + "/32")
		if err := h.AddrAdd(lo, addr); err != nil {
			t.Fatalf("add %s: %v", a, err)
		}
	}
	_, vipNet, _ := net.ParseCIDR(v.vip.String() + "/32")
	if err := h.RouteAdd(&netlink.Route{Dst: vipNet, Table: 100, Type: unix.RTN_PROHIBIT}); err != nil {
		t.Fatalf("prohibit route: %v", err)
	}
	marked := netlink.NewRule()
	marked.Priority, marked.Mark, marked.Table = 10, prohibitedMark, 100
	local := netlink.NewRule()
	local.Priority, local.Table = 100, unix.RT_TABLE_LOCAL
	for _, r := range []*netlink.Rule{marked, local} {
		if err := h.RuleAdd(r); err != nil {
			t.Fatalf("rule add: %v", err)
		}
	}
	oldLocal := netlink.NewRule()
	oldLocal.Priority, oldLocal.Table = 0, unix.RT_TABLE_LOCAL
	if err := h.RuleDel(oldLocal); err != nil {
		t.Fatalf("rule del: %v", err)
	}
	var ln net.Listener
	if err := v.ns.Do(func() (err error) {
		ln, err = net.Listen("tcp", netip.AddrPortFrom(v.vip, 0).String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	v.port = uint16(ln.Addr().(*net.TCPAddr).Port)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			v.peers <- c.RemoteAddr().(*net.TCPAddr).AddrPort()
			c.Close()
		}
	}()
	return v
}

// peer returns the remote address of the next accepted connection.
func (v *viaNS) peer(t *testing.T) netip.AddrPort {
	t.Helper()
	select {
	case p := <-v.peers:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no connection reached the VIP")
	}
	return netip.AddrPort{}
}

// target is a tcp check of a real server (never dialled) through the VIP.
func (v *viaNS) target(mark uint32) Target {
	return Target{ID: "rs", Address: netip.MustParseAddr("10.3.3.3"), Port: v.port,
		Spec: Spec{Type: TCP, Via: ThroughVIP, Timeout: time.Second}, VIP: v.vip, Mark: mark, Source: v.src}.normalized()
}

// TestViaVIPSocketOptions: the check socket carries the mark (read back
// with getsockopt) and the director's source address (seen by the server),
// and dials the VIP, not the real server.
func TestViaVIPSocketOptions(t *testing.T) {
	v := newViaNS(t)
	tg := v.target(43)
	if err := tg.validate(); err != nil {
		t.Fatal(err)
	}
	for _, network := range []string{"tcp", "udp"} {
		var mark int
		err := v.ns.Do(func() error {
			c, err := dialerFor(network, tg).Dial(network, checkAddr(tg).String())
			if err != nil {
				return err
			}
			defer c.Close()
			if got := netip.MustParseAddrPort(c.LocalAddr().String()).Addr(); got != v.src {
				t.Errorf("%s: local address %s, want %s", network, got, v.src)
			}
			rc, err := c.(syscall.Conn).SyscallConn()
			if err != nil {
				return err
			}
			var gerr error
			if err := rc.Control(func(fd uintptr) { mark, gerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_MARK) }); err != nil {
				return err
			}
			return gerr
		})
		if err != nil {
			t.Fatalf("%s: %v", network, err)
		}
		if mark != 43 {
			t.Errorf("%s: SO_MARK read back = %d, want 43", network, mark)
		}
	}
	if peer := v.peer(t); peer.Addr() != v.src {
		t.Errorf("server saw the check from %s, want %s", peer.Addr(), v.src)
	}
}

// TestViaVIPMarkSteersRoute: the mark is on the socket before connect, so
// policy routing by mark decides the path: the prohibited mark fails, any
// other mark reaches the VIP.
func TestViaVIPMarkSteersRoute(t *testing.T) {
	v := newViaNS(t)
	var ok, blocked Result
	if err := v.ns.Do(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		ok = probe(ctx, v.target(43))
		blocked = probe(ctx, v.target(prohibitedMark))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	wantResult(t, ok, true, "connected")
	wantResult(t, blocked, false, "connect: permission denied")
	if peer := v.peer(t); peer.Addr() != v.src {
		t.Errorf("server saw the check from %s, want %s", peer.Addr(), v.src)
	}
}

func TestViaVIPValidation(t *testing.T) {
	base := Target{ID: "x", Address: netip.MustParseAddr("10.3.3.3"), Port: 80,
		Spec: Spec{Type: TCP, Via: ThroughVIP}, VIP: netip.MustParseAddr("10.2.2.2"), Mark: 7, Source: netip.MustParseAddr("10.1.1.1")}
	for name, mod := range map[string]func(*Target){
		"no mark":      func(t *Target) { t.Mark = 0 },
		"no vip":       func(t *Target) { t.VIP = netip.Addr{} },
		"no source":    func(t *Target) { t.Source = netip.Addr{} },
		"mixed family": func(t *Target) { t.Source = netip.MustParseAddr("2001:db8::1") },
		"exec":         func(t *Target) { t.Spec.Type, t.Spec.Command = Exec, []string{"/bin/true"} },
		"bad via":      func(t *Target) { t.Spec.Via = "tunnel" },
	} {
		tg := base
		mod(&tg)
		if err := tg.normalized().validate(); err == nil || !strings.Contains(err.Error(), "via:") {
			t.Errorf("%s: validate = %v, want a via error", name, err)
		}
	}
	if err := base.normalized().validate(); err != nil {
		t.Errorf("valid target rejected: %v", err)
	}
}
