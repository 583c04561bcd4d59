package tunnel

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/lvs-rs/lvs-rs/internal/nstest"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// kernelPort encodes a port as the kernel's fou_fill_info does (5.2 and
// later): family, port, peer port, protocol, type, device, local and
// peer address.
func kernelPort(t *testing.T, af uint8, port uint16, typ uint8, local [4]byte) []byte {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	ae.Uint8(fouAttrAF, af)
	ae.Bytes(fouAttrPort, binary.BigEndian.AppendUint16(nil, port))
	ae.Bytes(fouAttrPeerPort, []byte{0, 0})
	ae.Uint8(fouAttrIPProto, 4)
	ae.Uint8(fouAttrType, typ)
	ae.Int32(fouAttrIfindex, 0)
	ae.Bytes(fouAttrLocalV4, local[:])
	ae.Bytes(fouAttrPeerV4, []byte{0, 0, 0, 0})
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecodeFOUPort reads ports as the kernel lists them: the port in
// network order, GUE or direct, bound when it has a local address.
func TestDecodeFOUPort(t *testing.T) {
	for _, c := range []struct {
		name string
		b    []byte
		want FOUPort
		v4   bool
	}{
		{"gue", kernelPort(t, unix.AF_INET, 6080, fouEncapGUE, [4]byte{}), FOUPort{Port: 6080, GUE: true, Protocol: 4}, true},
		{"direct ipip", kernelPort(t, unix.AF_INET, 5555, fouEncapDirect, [4]byte{}), FOUPort{Port: 5555, Protocol: 4}, true},
		{"bound", kernelPort(t, unix.AF_INET, 6080, fouEncapGUE, [4]byte{10, 0, 0, 1}), FOUPort{Port: 6080, GUE: true, Protocol: 4, Bound: true}, true},
		{"ipv6", kernelPort(t, unix.AF_INET6, 6080, fouEncapGUE, [4]byte{}), FOUPort{Port: 6080, GUE: true, Protocol: 4}, false},
	} {
		got, v4, err := decodeFOUPort(c.b)
		if err != nil || got != c.want || v4 != c.v4 {
			t.Errorf("%s: %+v, v4 %v, %v; want %+v, v4 %v", c.name, got, v4, err, c.want, c.v4)
		}
	}
}

// TestPortRequest: an add asks for an IPv4 GUE port, its number in
// network order (the kernel reads a be16).
func TestPortRequest(t *testing.T) {
	m, err := (&FOU{version: 1}).portRequest(fouCmdAdd, 6080, true)
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Command != fouCmdAdd || m.Header.Version != 1 {
		t.Errorf("header %+v", m.Header)
	}
	ad, err := netlink.NewAttributeDecoder(m.Data)
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint16][]byte{}
	for ad.Next() {
		got[ad.Type()] = ad.Bytes()
	}
	if p := got[fouAttrPort]; len(p) != 2 || p[0] != 0x17 || p[1] != 0xc0 {
		t.Errorf("port attribute %x, want 17c0 (6080 in network order)", p)
	}
	if af := got[fouAttrAF]; len(af) != 1 || af[0] != unix.AF_INET {
		t.Errorf("family attribute %v, want AF_INET", af)
	}
	if typ := got[fouAttrType]; len(typ) != 1 || typ[0] != fouEncapGUE {
		t.Errorf("type attribute %v, want GUE", typ)
	}
	if _, ok := got[fouAttrIPProto]; ok {
		t.Error("a GUE port names no protocol")
	}
}

// TestFOUOnThisKernel runs in a fresh namespace on the host, whose kernel
// may or may not have fou. Without it: Loaded is false (listing loads
// nothing), Ports is empty, Delete succeeds, Load runs modprobe fou
// exactly once and fails with ErrNoFOU, and AddGUE fails with ErrNoFOU.
// With it: a GUE port is added, listed unbound, refused when added
// again (the port is taken), deleted, and deleted again without error.
func TestFOUOnThisKernel(t *testing.T) {
	ns := nstest.New(t)
	var mods []string
	orig := modprobe
	modprobe = func(ctx context.Context, m string) error { mods = append(mods, m); return orig(ctx, m) }
	t.Cleanup(func() { modprobe = orig })
	err := ns.Do(func() error {
		f, err := DialFOU()
		if err != nil {
			return err
		}
		defer f.Close()
		loaded, err := f.Loaded()
		if err != nil {
			return err
		}
		if !loaded {
			if ps, err := f.Ports(); err != nil || len(ps) != 0 {
				t.Errorf("Ports without fou = %v, %v", ps, err)
			}
			if err := f.Delete(6080); err != nil {
				t.Errorf("Delete without fou = %v", err)
			}
			if err := f.AddGUE(6080); !errors.Is(err, ErrNoFOU) {
				t.Errorf("AddGUE without fou = %v, want ErrNoFOU", err)
			}
			err := f.Load(context.Background())
			if err == nil {
				t.Logf("this kernel loaded fou (modprobe: %q)", mods)
				return nil
			}
			if !errors.Is(err, ErrNoFOU) {
				t.Errorf("Load = %v, want ErrNoFOU", err)
			}
			if len(mods) != 1 || mods[0] != FOUModule {
				t.Errorf("modprobe ran for %q, want [fou]", mods)
			}
			return nil
		}
		if err := f.AddGUE(6080); err != nil {
			return err
		}
		ps, err := f.Ports()
		if err != nil || len(ps) != 1 || ps[0] != (FOUPort{Port: 6080, GUE: true}) {
			t.Errorf("Ports = %+v, %v; want gue 6080 unbound", ps, err)
		}
		if err := f.AddGUE(6080); !errors.Is(err, unix.EADDRINUSE) && !errors.Is(err, unix.EALREADY) {
			t.Errorf("second AddGUE = %v, want EADDRINUSE (or EALREADY)", err)
		}
		for i := range 2 {
			if err := f.Delete(6080); err != nil {
				t.Errorf("Delete %d = %v", i+1, err)
			}
		}
		if ps, err := f.Ports(); err != nil || len(ps) != 0 {
			t.Errorf("Ports after Delete = %v, %v", ps, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOverhead: what the director adds per packet, as IPVS counts it.
func TestOverhead(t *testing.T) {
	for _, c := range []struct {
		typ  config.TunnelType
		flag config.TunnelFlag
		want int
	}{
		{"", "", 20}, {config.TunnelIPIP, "", 20},
		{config.TunnelGUE, "", 32}, {config.TunnelGUE, config.TunnelCsum, 32}, {config.TunnelGUE, config.TunnelRemCsum, 40},
		{config.TunnelGRE, "", 24}, {config.TunnelGRE, config.TunnelCsum, 28},
	} {
		if got := Overhead(c.typ, c.flag); got != c.want {
			t.Errorf("Overhead(%q, %q) = %d, want %d", c.typ, c.flag, got, c.want)
		}
	}
}
