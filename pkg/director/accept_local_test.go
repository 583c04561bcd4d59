package director

import (
	"context"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

// TestAcceptLocalOnInterfaceOnly: checks through the VIP need
// accept_local on the device their answers arrive on, which the kernel
// reads as conf/all OR conf/DEV: lvs-rs sets conf/IFACE alone and leaves
// conf/all, which would let packets with a local source in on every
// interface, as it found it. A record of an lvs-rs that also set
// conf/all gets it restored at the next pass; stop restores conf/IFACE.
func TestAcceptLocalOnInterfaceOnly(t *testing.T) {
	ctx := context.Background()
	all, eth0 := sysctl.IPv4Conf("all", "accept_local").String(), sysctl.IPv4Conf("eth0", "accept_local").String()
	b := newMemBed(t)
	b.k.sysctls[all], b.k.sysctls[eth0] = "0", "0"
	d := DesiredFrom(web())
	d.AcceptLocal()
	if _, err := Converge(ctx, d, b.opts()); err != nil {
		t.Fatal(err)
	}
	if b.k.sysctls[all] != "0" || b.k.sysctls[eth0] != "1" {
		t.Fatalf("after a pass with AcceptLocal: all=%s eth0=%s, want all=0 (untouched) eth0=1", b.k.sysctls[all], b.k.sysctls[eth0])
	}

	// What an earlier lvs-rs applied: conf/all too.
	old := DesiredFrom(web())
	old.AcceptLocal()
	old.Want(sysctl.IPv4Conf("all", "accept_local"), "1")
	if _, err := Converge(ctx, old, b.opts()); err != nil {
		t.Fatal(err)
	}
	if b.k.sysctls[all] != "1" {
		t.Fatalf("the earlier lvs-rs's pass left all=%s", b.k.sysctls[all])
	}
	if _, err := Converge(ctx, d, b.opts()); err != nil {
		t.Fatal(err)
	}
	if b.k.sysctls[all] != "0" || b.k.sysctls[eth0] != "1" {
		t.Fatalf("a pass after the earlier lvs-rs's: all=%s eth0=%s, want all=0 (restored) eth0=1", b.k.sysctls[all], b.k.sysctls[eth0])
	}
	if _, err := Stop(ctx, b.opts()); err != nil {
		t.Fatal(err)
	}
	if b.k.sysctls[all] != "0" || b.k.sysctls[eth0] != "0" {
		t.Fatalf("after stop: all=%s eth0=%s, want both 0 as found", b.k.sysctls[all], b.k.sysctls[eth0])
	}
}
