package ipvs

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mdlayher/netlink"
)

var cmpAddr = cmpopts.EquateComparable(netip.Addr{})

// roundTripService encodes s in full and decodes it back.
func roundTripService(t *testing.T, s Service) Service {
	t.Helper()
	body, err := serviceAttrs(s, true)
	if err != nil {
		t.Fatalf("encode %v: %v", s, err)
	}
	nest, err := nestedIn(body, cmdAttrService)
	if err != nil || nest == nil {
		t.Fatalf("no service nest: %v", err)
	}
	got, err := decodeService(nest)
	if err != nil {
		t.Fatalf("decode %v: %v", s, err)
	}
	return got.Service
}

func TestServiceRoundTrip(t *testing.T) {
	v4 := netip.MustParseAddr("10.0.0.100")
	v6 := netip.MustParseAddr("2001:db8::100")
	for _, s := range []Service{
		{Family: Inet, Protocol: TCP, Address: v4, Port: 80, Scheduler: "wrr", Netmask: 32},
		{Family: Inet, Protocol: UDP, Address: v4, Port: 53, Scheduler: "rr", Netmask: 32},
		{Family: Inet, Protocol: SCTP, Address: v4, Port: 3868, Scheduler: "sh", Flags: FlagSchedSHPort | FlagSchedSHFallback, Netmask: 32},
		{Family: Inet, Protocol: TCP, Address: v4, Port: 0, Scheduler: "wlc", Flags: FlagPersistent, Timeout: 360, Netmask: 24},
		{Family: Inet, Protocol: TCP, Address: v4, Port: 443, Scheduler: "lc", Flags: FlagPersistent, Timeout: 60, Netmask: 0},
		{Family: Inet6, Protocol: TCP, Address: v6, Port: 80, Scheduler: "mh", Netmask: 128},
		{Family: Inet6, Protocol: UDP, Address: v6, Port: 5060, Scheduler: "rr", Flags: FlagPersistent | FlagOnePacket, Timeout: 30, Netmask: 64, PEName: "sip"},
		{Family: Inet, FWMark: 10, Scheduler: "wlc", Netmask: 32},
		{Family: Inet6, FWMark: 0xdeadbeef, Scheduler: "fo", Flags: FlagPersistent, Timeout: 1, Netmask: 48},
	} {
		if got := roundTripService(t, s); got != s {
			t.Errorf("round trip of %v:\n%s", s, cmp.Diff(s, got, cmpAddr))
		}
	}
}

func TestServiceFamilyDerived(t *testing.T) {
	s := Service{Protocol: TCP, Address: netip.MustParseAddr("::ffff:10.0.0.1"), Port: 80, Scheduler: "rr", Netmask: 32}
	got := roundTripService(t, s)
	want := s
	want.Family, want.Address = Inet, netip.MustParseAddr("10.0.0.1")
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if got.Key() != s.Key() {
		t.Fatalf("Key of a mapped address differs: %v vs %v", got.Key(), s.Key())
	}
}

func TestServiceEncodingDetails(t *testing.T) {
	s := Service{Family: Inet, Protocol: TCP, Address: netip.MustParseAddr("10.0.0.100"), Port: 8080,
		Scheduler: "wrr", Flags: FlagPersistent | FlagHashed, Timeout: 360, Netmask: 24}
	b, err := appendService(nil, &s, true)
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := netlink.UnmarshalAttributes(b)
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint16][]byte{}
	for _, a := range attrs {
		got[a.Type] = a.Data
	}
	port := got[svcAttrPort]
	if len(port) != 2 || binary.BigEndian.Uint16(port) != 8080 {
		t.Errorf("port attribute % x, want network byte order of 8080", port)
	}
	if m := got[svcAttrNetmask]; len(m) != 4 || m[0] != 0xff || m[1] != 0xff || m[2] != 0xff || m[3] != 0 {
		t.Errorf("IPv4 netmask attribute % x, want ff ff ff 00", m)
	}
	if a := got[svcAttrAddr]; len(a) != addrLen || a[0] != 10 || a[3] != 100 {
		t.Errorf("address attribute % x, want 16 bytes starting 0a 00 00 64", a)
	}
	f := got[svcAttrFlags]
	if len(f) != 8 || binary.NativeEndian.Uint32(f) != uint32(FlagPersistent) || binary.NativeEndian.Uint32(f[4:]) != 0xffffffff {
		t.Errorf("flags attribute % x, want persistent (never hashed) with a full mask", f)
	}
	if n := got[svcAttrSchedName]; string(n) != "wrr\x00" {
		t.Errorf("scheduler attribute %q, want NUL-terminated wrr", n)
	}

	v6 := Service{Family: Inet6, Protocol: TCP, Address: netip.MustParseAddr("2001:db8::1"), Port: 80, Scheduler: "rr", Netmask: 64}
	if b, err = appendService(nil, &v6, true); err != nil {
		t.Fatal(err)
	}
	attrs, _ = netlink.UnmarshalAttributes(b)
	for _, a := range attrs {
		if a.Type == svcAttrNetmask && binary.NativeEndian.Uint32(a.Data) != 64 {
			t.Errorf("IPv6 netmask attribute % x, want prefix length 64", a.Data)
		}
	}
}

func TestFWMarkServiceSendsNoAddress(t *testing.T) {
	body, err := serviceAttrs(Service{Family: Inet, FWMark: 7, Protocol: TCP, Address: netip.MustParseAddr("10.0.0.1"), Port: 80}, false)
	if err != nil {
		t.Fatal(err)
	}
	nest, _ := nestedIn(body, cmdAttrService)
	attrs, _ := netlink.UnmarshalAttributes(nest)
	var types []uint16
	for _, a := range attrs {
		types = append(types, a.Type)
	}
	if diff := cmp.Diff([]uint16{svcAttrAF, svcAttrFWMark}, types); diff != "" {
		t.Fatalf("fwmark key attributes (-want +got):\n%s", diff)
	}
}

func TestServiceEncodeErrors(t *testing.T) {
	for name, s := range map[string]Service{
		"no family":      {Protocol: TCP, Port: 80, Scheduler: "rr", Netmask: 32},
		"family clash":   {Family: Inet6, Protocol: TCP, Address: netip.MustParseAddr("10.0.0.1"), Scheduler: "rr", Netmask: 128},
		"no scheduler":   {Family: Inet, Protocol: TCP, Address: netip.MustParseAddr("10.0.0.1"), Netmask: 32},
		"v6 netmask 0":   {Family: Inet6, Protocol: TCP, Address: netip.MustParseAddr("::1"), Scheduler: "rr"},
		"v4 netmask /33": {Family: Inet, Protocol: TCP, Address: netip.MustParseAddr("10.0.0.1"), Scheduler: "rr", Netmask: 33},
	} {
		if _, err := serviceAttrs(s, true); err == nil {
			t.Errorf("%s: encode succeeded", name)
		}
	}
}

func TestDestinationRoundTrip(t *testing.T) {
	svc4 := Service{Family: Inet, Protocol: TCP, Address: netip.MustParseAddr("10.0.0.100"), Port: 80}
	svc6 := Service{Family: Inet6, Protocol: TCP, Address: netip.MustParseAddr("2001:db8::100"), Port: 80}
	for _, c := range []struct {
		svc Service
		d   Destination
	}{
		{svc4, Destination{Family: Inet, Address: netip.MustParseAddr("10.0.0.11"), Port: 80, Forward: Route, Weight: 1}},
		{svc4, Destination{Family: Inet, Address: netip.MustParseAddr("10.0.0.12"), Port: 8080, Forward: Masq, Weight: 0}},
		{svc4, Destination{Family: Inet, Address: netip.MustParseAddr("10.0.0.13"), Port: 80, Forward: Tunnel, Weight: 65535,
			UpperThreshold: 100, LowerThreshold: 10, TunnelType: TunnelGUE, TunnelPort: 6080, TunnelFlags: TunnelCsum}},
		{svc4, Destination{Family: Inet6, Address: netip.MustParseAddr("2001:db8::13"), Port: 80, Forward: Tunnel, Weight: 3}},
		{svc6, Destination{Family: Inet6, Address: netip.MustParseAddr("2001:db8::11"), Port: 80, Forward: Route, Weight: 5}},
	} {
		body, err := destinationAttrs(c.svc, c.d, true)
		if err != nil {
			t.Fatalf("encode %v: %v", c.d, err)
		}
		nest, _ := nestedIn(body, cmdAttrDest)
		got, err := decodeDestination(nest, c.svc.Family)
		if err != nil {
			t.Fatalf("decode %v: %v", c.d, err)
		}
		if got.Destination != c.d {
			t.Errorf("round trip of %v:\n%s", c.d, cmp.Diff(c.d, got.Destination, cmpAddr))
		}
		svcNest, _ := nestedIn(body, cmdAttrService)
		if s, err := decodeService(svcNest); err != nil || s.Key() != c.svc.Key() {
			t.Errorf("destination request names service %v (%v), want %v", s.Key(), err, c.svc.Key())
		}
	}
}

func TestDestinationFamilyDefaultsToAddress(t *testing.T) {
	svc := Service{Family: Inet, Protocol: TCP, Address: netip.MustParseAddr("10.0.0.100"), Port: 80}
	d := Destination{Address: netip.MustParseAddr("10.0.0.11"), Port: 80, Forward: Route, Weight: 1}
	body, err := destinationAttrs(svc, d, true)
	if err != nil {
		t.Fatal(err)
	}
	nest, _ := nestedIn(body, cmdAttrDest)
	got, _ := decodeDestination(nest, 0)
	if got.Family != Inet {
		t.Fatalf("family %v, want inet", got.Family)
	}
}

// kernelService builds a service nest the way the kernel's dump does:
// 16-byte address, flags with HASHED, STATS and STATS64.
func kernelService(t *testing.T) []byte {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	ae.Uint16(svcAttrAF, uint16(Inet))
	ae.Uint16(svcAttrProtocol, uint16(UDP))
	addr := make([]byte, 16)
	copy(addr, []byte{192, 0, 2, 1})
	ae.Bytes(svcAttrAddr, addr)
	ae.Bytes(svcAttrPort, []byte{0, 53})
	ae.String(svcAttrSchedName, "wlc")
	flags := binary.NativeEndian.AppendUint32(nil, uint32(FlagPersistent|FlagHashed))
	ae.Bytes(svcAttrFlags, binary.NativeEndian.AppendUint32(flags, 0xffffffff))
	ae.Uint32(svcAttrTimeout, 300)
	ae.Bytes(svcAttrNetmask, []byte{255, 255, 0, 0})
	ae.Nested(svcAttrStats, func(n *netlink.AttributeEncoder) error {
		n.Uint32(statsAttrConns, 1)
		n.Uint64(statsAttrInBytes, 2)
		return nil
	})
	ae.Nested(svcAttrStats64, func(n *netlink.AttributeEncoder) error {
		n.Uint64(statsAttrConns, 1<<40)
		n.Uint64(statsAttrInPkts, 2)
		n.Uint64(statsAttrOutPkts, 3)
		n.Uint64(statsAttrInBytes, 1<<41)
		n.Uint64(statsAttrOutBytes, 5)
		n.Uint64(statsAttrCPS, 6)
		n.Uint64(statsAttrInPPS, 7)
		n.Uint64(statsAttrOutPPS, 8)
		n.Uint64(statsAttrInBPS, 9)
		n.Uint64(statsAttrOutBPS, 10)
		n.Uint64(11, 0) // IPVS_STATS_ATTR_PAD
		return nil
	})
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeKernelService(t *testing.T) {
	got, err := decodeService(kernelService(t))
	if err != nil {
		t.Fatal(err)
	}
	want := ServiceExtended{
		Service: Service{Family: Inet, Protocol: UDP, Address: netip.MustParseAddr("192.0.2.1"), Port: 53,
			Scheduler: "wlc", Flags: FlagPersistent, Timeout: 300, Netmask: 16},
		Stats: Stats{Connections: 1 << 40, PacketsIn: 2, PacketsOut: 3, BytesIn: 1 << 41, BytesOut: 5,
			CPS: 6, PPSIn: 7, PPSOut: 8, BPSIn: 9, BPSOut: 10},
	}
	if diff := cmp.Diff(want, got, cmpAddr); diff != "" {
		t.Fatalf("decode (-want +got):\n%s", diff)
	}
}

func TestDecodeLegacyStats(t *testing.T) {
	ae := netlink.NewAttributeEncoder()
	ae.Bytes(destAttrAddr, append([]byte{10, 0, 0, 11}, make([]byte, 12)...))
	ae.Bytes(destAttrPort, []byte{0x1f, 0x90})
	ae.Uint32(destAttrFwdMethod, uint32(Masq))
	ae.Uint32(destAttrWeight, 2)
	ae.Uint32(destAttrActiveConns, 4)
	ae.Uint32(destAttrInactConns, 5)
	ae.Uint32(destAttrPersistConns, 6)
	ae.Uint8(destAttrTunType, 2) // reported but meaningless for masq
	ae.Nested(destAttrStats, func(n *netlink.AttributeEncoder) error {
		n.Uint32(statsAttrConns, 7)
		n.Uint32(statsAttrInPkts, 8)
		n.Uint64(statsAttrInBytes, 1<<33)
		n.Uint32(statsAttrOutBPS, 9)
		return nil
	})
	b, _ := ae.Encode()
	got, err := decodeDestination(b, Inet) // no ADDR_FAMILY: pre-3.18 kernel
	if err != nil {
		t.Fatal(err)
	}
	want := DestinationExtended{
		Destination:       Destination{Family: Inet, Address: netip.MustParseAddr("10.0.0.11"), Port: 8080, Forward: Masq, Weight: 2},
		ActiveConnections: 4, InactiveConnections: 5, PersistentConnections: 6,
		Stats: Stats{Connections: 7, PacketsIn: 8, BytesIn: 1 << 33, BPSOut: 9},
	}
	if diff := cmp.Diff(want, got, cmpAddr); diff != "" {
		t.Fatalf("decode (-want +got):\n%s", diff)
	}
	// The configuration alone: the same, the counters (even a damaged
	// one) skipped.
	cfg, err := decodeDestinationConfig(b, Inet)
	if err != nil || cfg != want.Destination {
		t.Fatalf("decodeDestinationConfig = %+v, %v; want %+v", cfg, err, want.Destination)
	}
	ae.Bytes(destAttrStats64, []byte{1, 2, 3, 4, 5})
	ae.Bytes(destAttrActiveConns, []byte{1})
	b, _ = ae.Encode()
	if cfg, err := decodeDestinationConfig(b, Inet); err != nil || cfg != want.Destination {
		t.Fatalf("decodeDestinationConfig with damaged counters = %+v, %v; want %+v", cfg, err, want.Destination)
	}
	if _, err := decodeDestination(b, Inet); err == nil {
		t.Fatal("decodeDestination of damaged counters: no error")
	}
}

func TestDecodeNonContiguousMask(t *testing.T) {
	if n, _ := decodeNetmask(Inet, []byte{255, 0, 255, 0}); n != 8 {
		t.Fatalf("255.0.255.0 decodes to /%d, want /8 (leading ones)", n)
	}
}

func TestTextForms(t *testing.T) {
	s := Service{Family: Inet6, Protocol: UDP, Address: netip.MustParseAddr("2001:db8::1"), Port: 53}
	k := s.Key()
	if k.String() != "udp [2001:db8::1]:53" {
		t.Errorf("key %q", k)
	}
	if s := (ServiceKey{Family: Inet, FWMark: 10}).String(); s != "fwmark 10 (inet)" {
		t.Errorf("fwmark key %q", s)
	}
	if Version(0x010201).String() != "1.2.1" {
		t.Errorf("version %q", Version(0x010201))
	}
	if (FlagPersistent | FlagSchedSHPort).String() != "persistent,sh-port" {
		t.Errorf("flags %q", FlagPersistent|FlagSchedSHPort)
	}
	for _, m := range []ForwardMethod{Masq, Tunnel, Route} {
		b, _ := m.MarshalText()
		var back ForwardMethod
		if err := back.UnmarshalText(b); err != nil || back != m {
			t.Errorf("forward %v: text %q back %v %v", m, b, back, err)
		}
	}
}

// destinationAttrs returns the request body naming service s and
// destination d (described in full with full): the body of a destination
// request, for the tests (the client encodes whole requests, appendRequest).
func destinationAttrs(s Service, d Destination, full bool) ([]byte, error) {
	b, err := appendDestinationAttrs(nil, &s, &d, full)
	if err != nil {
		return nil, err
	}
	return b, nil
}
