package ipvs

import (
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/genetlink/genltest"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
	"golang.org/x/sys/unix"
)

const fakeFamilyID = 0x42

// fakeKernel is a tiny in-memory IPVS behind genltest: enough of
// ip_vs_ctl.c to check what the client sends and how it reads replies.
type fakeKernel struct {
	services []ServiceExtended
	dests    map[ServiceKey][]DestinationExtended
	// schedulers the "kernel" has modules for.
	schedulers map[string]bool
	requests   []string
}

func newFake() *fakeKernel {
	return &fakeKernel{dests: map[ServiceKey][]DestinationExtended{}, schedulers: map[string]bool{"rr": true, "wrr": true, "wlc": true}}
}

func (f *fakeKernel) find(k ServiceKey) int {
	for i, s := range f.services {
		if s.Key() == k {
			return i
		}
	}
	return -1
}

func (f *fakeKernel) serve(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
	if greq.Header.Command == 0 && len(greq.Data) == 0 {
		return nil, io.EOF // the receive after an acknowledged request
	}
	svcB, _ := nestedIn(greq.Data, cmdAttrService)
	destB, _ := nestedIn(greq.Data, cmdAttrDest)
	var svc Service
	if svcB != nil {
		se, err := decodeService(svcB)
		if err != nil {
			return nil, genltest.Error(int(unix.EINVAL))
		}
		svc = se.Service
	}
	var dst Destination
	if destB != nil {
		de, err := decodeDestination(destB, svc.Family)
		if err != nil {
			return nil, genltest.Error(int(unix.EINVAL))
		}
		dst = de.Destination
	}
	f.requests = append(f.requests, map[uint8]string{
		cmdNewService: "new-service", cmdSetService: "set-service", cmdDelService: "del-service", cmdGetService: "get-service",
		cmdNewDest: "new-dest", cmdSetDest: "set-dest", cmdDelDest: "del-dest", cmdGetDest: "get-dest", cmdGetInfo: "get-info",
	}[greq.Header.Command])
	i := f.find(svc.Key())
	switch greq.Header.Command {
	case cmdGetInfo:
		ae := netlink.NewAttributeEncoder()
		ae.Uint32(infoAttrVersion, 0x010201)
		ae.Uint32(infoAttrConnTabSize, 4096)
		b, _ := ae.Encode()
		return []genetlink.Message{{Data: b}}, nil
	case cmdNewService:
		if i >= 0 {
			return nil, genltest.Error(int(unix.EEXIST))
		}
		if !f.schedulers[svc.Scheduler] {
			return nil, genltest.Error(int(unix.ENOENT))
		}
		f.services = append(f.services, ServiceExtended{Service: svc})
	case cmdSetService:
		if i < 0 {
			return nil, genltest.Error(int(unix.ESRCH))
		}
		f.services[i].Service = svc
	case cmdDelService:
		if i < 0 {
			return nil, genltest.Error(int(unix.ESRCH))
		}
		f.services = append(f.services[:i], f.services[i+1:]...)
	case cmdGetService:
		if nreq.Header.Flags&netlink.Dump == 0 { // one service
			if i < 0 {
				return nil, genltest.Error(int(unix.ESRCH))
			}
			b, _ := serviceAttrs(f.services[i].Service, true)
			return []genetlink.Message{{Header: genetlink.Header{Command: cmdNewService}, Data: b}}, nil
		}
		var out []genetlink.Message
		for _, s := range f.services {
			b, _ := serviceAttrs(s.Service, true)
			out = append(out, genetlink.Message{Header: genetlink.Header{Command: cmdNewService}, Data: b})
		}
		if len(out) == 0 {
			return nil, io.EOF
		}
		return out, nil
	case cmdNewDest:
		if i < 0 {
			return nil, genltest.Error(int(unix.ESRCH))
		}
		for _, d := range f.dests[svc.Key()] {
			if d.Key() == dst.Key() {
				return nil, genltest.Error(int(unix.EEXIST))
			}
		}
		f.dests[svc.Key()] = append(f.dests[svc.Key()], DestinationExtended{Destination: dst})
	case cmdGetDest:
		if i < 0 {
			return nil, genltest.Error(int(unix.ESRCH))
		}
		var out []genetlink.Message
		for _, d := range f.dests[svc.Key()] {
			b, _ := destinationAttrs(svc, d.Destination, true)
			out = append(out, genetlink.Message{Data: b})
		}
		if len(out) == 0 {
			return nil, io.EOF
		}
		return out, nil
	default:
		return nil, genltest.Error(int(unix.EOPNOTSUPP))
	}
	return nil, nil
}

func dialFake(t *testing.T, f *fakeKernel) *Client {
	c, _ := dialFakeSocket(t, f)
	return c
}

// dialFakeSocket returns a client on a kernel-like fake socket (see
// fakeSocket) serving f, and the socket.
func dialFakeSocket(t *testing.T, f *fakeKernel) (*Client, *fakeSocket) {
	t.Helper()
	sock := fakeSocketFor(f)
	return clientOn(t, sock), sock
}

// fakeSocketFor returns a fakeSocket serving f as the IPVS family.
func fakeSocketFor(f *fakeKernel) *fakeSocket {
	return &fakeSocket{fn: genltest.ServeFamily(genetlink.Family{ID: fakeFamilyID, Version: genlVersion, Name: genlName},
		func(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
			if nreq.Header.Type != fakeFamilyID {
				return nil, errors.New("request not sent to the IPVS family")
			}
			return f.serve(greq, nreq)
		})}
}

// clientOn returns a client on sock.
func clientOn(t *testing.T, sock netlink.Socket) *Client {
	t.Helper()
	c, err := newClient(netlink.NewConn(sock, nltest.PID))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestClientNoFamily(t *testing.T) {
	sock := &fakeSocket{fn: func(greq genetlink.Message, _ netlink.Message) ([]genetlink.Message, error) {
		return nil, genltest.Error(int(unix.ENOENT))
	}}
	_, err := newClient(netlink.NewConn(sock, nltest.PID))
	if !errors.Is(err, ErrNoIPVS) {
		t.Fatalf("newClient = %v, want ErrNoIPVS", err)
	}
	if !strings.Contains(err.Error(), "ip_vs") {
		t.Fatalf("error %q does not name ip_vs", err)
	}
}

func TestClientServicesAndDestinations(t *testing.T) {
	f := newFake()
	c := dialFake(t, f)
	info, err := c.Info(t.Context())
	if err != nil || info.Version.String() != "1.2.1" || info.ConnTableSize != 4096 {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	if got, err := c.Services(t.Context()); err != nil || len(got) != 0 {
		t.Fatalf("Services on an empty table = %v, %v", got, err)
	}
	s := Service{Family: Inet, Protocol: TCP, Address: netip.MustParseAddr("10.0.0.100"), Port: 80, Scheduler: "wrr", Netmask: 32}
	fw := Service{Family: Inet6, FWMark: 3, Scheduler: "rr", Flags: FlagPersistent, Timeout: 60, Netmask: 64}
	d := Destination{Family: Inet, Address: netip.MustParseAddr("10.0.0.11"), Port: 80, Forward: Route, Weight: 3}
	for _, err := range c.Apply(t.Context(), []Op{
		{Kind: OpNewService, Service: s},
		{Kind: OpNewService, Service: fw},
		{Kind: OpNewDestination, Service: s, Destination: d},
	}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.Services(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Service != s || got[1].Service != fw {
		t.Fatalf("Services = %+v", got)
	}
	ds, err := c.Destinations(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Destination != d {
		t.Fatalf("Destinations = %+v, want %+v", ds, d)
	}
	if cs, err := c.DestinationConfigs(t.Context(), s); err != nil || len(cs) != 1 || cs[0] != d {
		t.Fatalf("DestinationConfigs = %+v, %v; want %+v", cs, err, d)
	}
	s.Scheduler = "wlc"
	if err := c.UpdateService(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteService(t.Context(), fw); err != nil {
		t.Fatal(err)
	}
	want := []string{"get-info", "get-service", "new-service", "new-service", "new-dest", "get-service", "get-dest", "get-dest", "set-service", "del-service"}
	if diff := cmp.Diff(want, f.requests); diff != "" {
		t.Fatalf("requests (-want +got):\n%s", diff)
	}
}

// TestClientService: one service by its key, in one request (not a
// dump), for an address service and a firewall-mark one; a missing one is
// ESRCH, named.
func TestClientService(t *testing.T) {
	f := newFake()
	c := dialFake(t, f)
	s := Service{Family: Inet, Protocol: TCP, Address: netip.MustParseAddr("10.0.0.100"), Port: 80, Scheduler: "wrr", Netmask: 32}
	fw := Service{Family: Inet6, FWMark: 3, Scheduler: "rr", Flags: FlagPersistent, Timeout: 60, Netmask: 64}
	for _, err := range c.Apply(t.Context(), []Op{{Kind: OpNewService, Service: s}, {Kind: OpNewService, Service: fw}}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	f.requests = nil
	for _, want := range []Service{s, fw} {
		got, err := c.Service(t.Context(), want.Key())
		if err != nil || got.Service != want {
			t.Fatalf("Service(%v) = %+v, %v; want %+v", want.Key(), got.Service, err, want)
		}
	}
	missing := s
	missing.Port = 81
	_, err := c.Service(t.Context(), missing.Key())
	if !errors.Is(err, unix.ESRCH) || err.Error() != "ipvs: get service tcp 10.0.0.100:81: no such process" {
		t.Fatalf("Service of a missing service: %v, want ESRCH named", err)
	}
	if diff := cmp.Diff([]string{"get-service", "get-service", "get-service"}, f.requests); diff != "" {
		t.Fatalf("requests (-want +got):\n%s", diff)
	}
}

func TestClientErrors(t *testing.T) {
	c := dialFake(t, newFake())
	s := Service{Family: Inet, Protocol: TCP, Address: netip.MustParseAddr("10.0.0.100"), Port: 80, Scheduler: "xyz", Netmask: 32}
	err := c.NewService(t.Context(), s)
	if !errors.Is(err, unix.ENOENT) {
		t.Fatalf("unknown scheduler: %v, want ENOENT", err)
	}
	const want = `ipvs: add service tcp 10.0.0.100:80: scheduler "xyz" (module ip_vs_xyz): no such file or directory`
	if err.Error() != want {
		t.Fatalf("unknown scheduler:\n got %q\nwant %q", err, want)
	}
	var ie *Error
	if !errors.As(err, &ie) || ie.Op != "add service" {
		t.Fatalf("not an *Error: %#v", err)
	}

	err = c.DeleteService(t.Context(), s)
	if !errors.Is(err, unix.ESRCH) || err.Error() != "ipvs: delete service tcp 10.0.0.100:80: no such process" {
		t.Fatalf("delete missing service: %v", err)
	}
	d := Destination{Address: netip.MustParseAddr("10.0.0.11"), Port: 80, Forward: Route, Weight: 1}
	err = c.NewDestination(t.Context(), s, d)
	if !errors.Is(err, unix.ESRCH) || !strings.Contains(err.Error(), "add destination 10.0.0.11:80 in tcp 10.0.0.100:80") {
		t.Fatalf("add destination to a missing service: %v", err)
	}
}

func TestApplyStopsAtFirstFailure(t *testing.T) {
	f := newFake()
	c := dialFake(t, f)
	c.limits.ops = 1 // one request per round trip: chunks of one (batch_test.go has the pipelined cases)
	ok := Service{Family: Inet, Protocol: TCP, Address: netip.MustParseAddr("10.0.0.1"), Port: 80, Scheduler: "rr", Netmask: 32}
	bad := ok
	bad.Port, bad.Scheduler = 81, "nope"
	later := ok
	later.Port = 82
	errs := c.Apply(t.Context(), []Op{{Kind: OpNewService, Service: ok}, {Kind: OpNewService, Service: bad}, {Kind: OpNewService, Service: later}})
	if errs[0] != nil || !errors.Is(errs[1], unix.ENOENT) || !errors.Is(errs[2], ErrNotAttempted) {
		t.Fatalf("Apply = %v", errs)
	}
	if len(f.services) != 1 {
		t.Fatalf("kernel holds %d services, want 1", len(f.services))
	}
}

func TestOpEncodeErrorNamesObject(t *testing.T) {
	c := dialFake(t, newFake())
	err := c.NewService(t.Context(), Service{Protocol: TCP, Port: 80, Scheduler: "rr"})
	if err == nil || !strings.HasPrefix(err.Error(), "ipvs: add service") {
		t.Fatalf("encode error: %v", err)
	}
}

// reloadableSocket serves f as the IPVS family under the id *id (none
// when 0), refusing with ENOENT, as generic netlink does, every request
// to another family id: ip_vs unloaded and loaded again.
func reloadableSocket(f *fakeKernel, id *uint16) *fakeSocket {
	return &fakeSocket{fn: func(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
		if nreq.Header.Type == unix.GENL_ID_CTRL {
			if *id == 0 {
				return nil, genltest.Error(int(unix.ENOENT))
			}
			return genltest.ServeFamily(genetlink.Family{ID: *id, Version: genlVersion, Name: genlName}, nil)(greq, nreq)
		}
		if *id == 0 || nreq.Header.Type != netlink.HeaderType(*id) {
			return nil, genltest.Error(int(unix.ENOENT))
		}
		return f.serve(greq, nreq)
	}}
}

// TestFamilyIDChanged: once ip_vs is loaded again under a new generic
// netlink id, every kind of call (Apply, a request, a dump, the dumps of
// destinations) is refused with ENOENT at the old id, takes the new one
// and is sent again, once; a real ENOENT, and IPVS gone, are still
// ENOENT.
func TestFamilyIDChanged(t *testing.T) {
	f := newFake()
	id := uint16(fakeFamilyID)
	sock := reloadableSocket(f, &id)
	c := clientOn(t, sock)
	ctx := t.Context()
	s := batchSvc

	id++
	ops := append([]Op{{Kind: OpNewService, Service: s}}, addDests(s, 0, 3)...)
	for i, err := range c.Apply(ctx, ops) {
		if err != nil {
			t.Fatalf("Apply after the reload: op %d: %v", i, err)
		}
	}
	if len(f.services) != 1 || len(f.dests[s.Key()]) != 3 {
		t.Fatalf("the kernel holds %v, %v after Apply", f.services, f.dests)
	}
	id++
	if svcs, err := c.Services(ctx); err != nil || len(svcs) != 1 {
		t.Fatalf("Services after a reload = %v, %v", svcs, err)
	}
	id++
	if got, err := c.Service(ctx, s.Key()); err != nil || got.Service.Key() != s.Key() {
		t.Fatalf("Service after a reload = %v, %v", got, err)
	}
	id++
	if ds, err := c.DestinationConfigs(ctx, s); err != nil || len(ds) != 3 {
		t.Fatalf("DestinationConfigs after a reload = %v, %v", ds, err)
	}
	id++
	n := 0
	if err := c.DestinationsOf(ctx, []Service{s}, func(_ int, ds []DestinationExtended) { n += len(ds) }); err != nil || n != 3 {
		t.Fatalf("DestinationsOf after a reload: %d destinations, %v", n, err)
	}
	if c.family != id {
		t.Fatalf("family id %#x, want %#x", c.family, id)
	}

	// A refusal of IPVS's own: ENOENT, the request sent once, the family
	// asked for once.
	sends := len(sock.sends)
	bad := s
	bad.Port, bad.Scheduler = 81, "xyz"
	if err := c.NewService(ctx, bad); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("a missing scheduler = %v, want ENOENT", err)
	}
	if got := len(sock.sends) - sends; got != 2 {
		t.Fatalf("%d sendmsg calls for a refused addition, want 2 (it and the family)", got)
	}

	// IPVS unloaded: ENOENT.
	id = 0
	if _, err := c.Services(ctx); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("Services without IPVS = %v, want ENOENT", err)
	}
	if errs := c.Apply(ctx, ops[:1]); !errors.Is(errs[0], unix.ENOENT) {
		t.Fatalf("Apply without IPVS = %v, want ENOENT", errs[0])
	}
}
