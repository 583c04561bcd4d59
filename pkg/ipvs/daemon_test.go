package ipvs

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/genetlink/genltest"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// fakeSync is the sync daemon and timeout part of ip_vs_ctl.c.
type fakeSync struct {
	daemons  map[DaemonState]Daemon
	timeouts Timeouts
	requests []uint8
}

func (f *fakeSync) serve(greq genetlink.Message, _ netlink.Message) ([]genetlink.Message, error) {
	if greq.Header.Command == 0 && len(greq.Data) == 0 {
		return nil, io.EOF
	}
	f.requests = append(f.requests, greq.Header.Command)
	switch greq.Header.Command {
	case cmdNewDaemon, cmdDelDaemon:
		b, _ := nestedIn(greq.Data, cmdAttrDaemon)
		d, err := decodeDaemon(b)
		if err != nil || b == nil {
			return nil, genltest.Error(int(unix.EINVAL))
		}
		_, running := f.daemons[d.State]
		switch {
		case greq.Header.Command == cmdDelDaemon && !running:
			return nil, genltest.Error(int(unix.ESRCH))
		case greq.Header.Command == cmdDelDaemon:
			delete(f.daemons, d.State)
		case running:
			return nil, genltest.Error(int(unix.EEXIST))
		default:
			f.daemons[d.State] = d.withDefaults()
			if d.MaxLen == 0 {
				f.daemons[d.State] = Daemon{State: d.State, Interface: d.Interface, SyncID: d.SyncID, MaxLen: 1472,
					Group: f.daemons[d.State].Group, Port: f.daemons[d.State].Port, TTL: f.daemons[d.State].TTL}
			}
		}
	case cmdGetDaemon:
		var out []genetlink.Message
		for _, st := range []DaemonState{DaemonMaster, DaemonBackup} {
			if d, ok := f.daemons[st]; ok {
				out = append(out, genetlink.Message{Data: daemonAttrs(d, true)})
			}
		}
		if out == nil {
			return nil, io.EOF
		}
		return out, nil
	case cmdGetConfig:
		ae := netlink.NewAttributeEncoder()
		ae.Uint32(cmdAttrTimeoutTCP, uint32(f.timeouts.TCP/time.Second))
		ae.Uint32(cmdAttrTimeoutTCPFin, uint32(f.timeouts.TCPFin/time.Second))
		ae.Uint32(cmdAttrTimeoutUDP, uint32(f.timeouts.UDP/time.Second))
		b, _ := ae.Encode()
		return []genetlink.Message{{Data: b}}, nil
	case cmdSetConfig:
		ad, _ := netlink.NewAttributeDecoder(greq.Data)
		for ad.Next() {
			v := time.Duration(ad.Uint32()) * time.Second
			switch ad.Type() {
			case cmdAttrTimeoutTCP:
				f.timeouts.TCP = v
			case cmdAttrTimeoutTCPFin:
				f.timeouts.TCPFin = v
			case cmdAttrTimeoutUDP:
				f.timeouts.UDP = v
			}
		}
	default:
		return nil, genltest.Error(int(unix.EOPNOTSUPP))
	}
	return nil, nil
}

func dialSync(t *testing.T, f *fakeSync) *Client {
	t.Helper()
	return clientOn(t, &fakeSocket{fn: genltest.ServeFamily(genetlink.Family{ID: fakeFamilyID, Version: genlVersion, Name: genlName}, f.serve)})
}

func TestDaemonRoundTrip(t *testing.T) {
	ctx := context.Background()
	f := &fakeSync{daemons: map[DaemonState]Daemon{}}
	c := dialSync(t, f)
	master := Daemon{State: DaemonMaster, Interface: "eth1", SyncID: 7}
	backup := Daemon{State: DaemonBackup, Interface: "eth1", SyncID: 7, MaxLen: 1400,
		Group: netip.MustParseAddr("ff02::81"), Port: 9000, TTL: 3}
	for _, d := range []Daemon{backup, master} {
		if err := c.NewDaemon(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.NewDaemon(ctx, master); !errors.Is(err, unix.EEXIST) {
		t.Fatalf("second master: %v, want EEXIST", err)
	}
	got, err := c.Daemons(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Daemon{
		{State: DaemonMaster, Interface: "eth1", SyncID: 7, MaxLen: 1472, Group: DefaultSyncGroup, Port: DefaultSyncPort, TTL: DefaultSyncTTL},
		backup,
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Fatalf("Daemons (-want +got):\n%s", diff)
	}
	if !master.Satisfies(got[0]) || !backup.Satisfies(got[1]) {
		t.Fatalf("read-back daemons do not satisfy what was started: %v", got)
	}
	if err := c.DeleteDaemon(ctx, DaemonMaster); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteDaemon(ctx, DaemonMaster); !errors.Is(err, unix.ESRCH) {
		t.Fatalf("stopping a stopped daemon: %v, want ESRCH", err)
	}
}

func TestDaemonValidate(t *testing.T) {
	c := dialSync(t, &fakeSync{daemons: map[DaemonState]Daemon{}})
	for _, d := range []Daemon{
		{State: 3, Interface: "eth1"},
		{State: DaemonMaster},
		{State: DaemonMaster, Interface: "a-very-long-ifname"},
		{State: DaemonMaster, Interface: "eth1", Group: netip.MustParseAddr("10.0.0.1")},
	} {
		if err := c.NewDaemon(context.Background(), d); err == nil {
			t.Errorf("NewDaemon(%+v) succeeded", d)
		}
	}
}

func TestDaemonContext(t *testing.T) {
	f := &fakeSync{daemons: map[DaemonState]Daemon{}}
	c := dialSync(t, f)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Daemons(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Daemons with a cancelled context: %v", err)
	}
	if len(f.requests) != 0 {
		t.Fatalf("requests sent with a cancelled context: %v", f.requests)
	}
}

func TestPlanDaemons(t *testing.T) {
	m := Daemon{State: DaemonMaster, Interface: "eth1", SyncID: 1}
	mRead := Daemon{State: DaemonMaster, Interface: "eth1", SyncID: 1, MaxLen: 1472, Group: DefaultSyncGroup, Port: DefaultSyncPort, TTL: 1}
	b := Daemon{State: DaemonBackup, Interface: "eth1", SyncID: 1}
	bRead := Daemon{State: DaemonBackup, Interface: "eth1", SyncID: 1, MaxLen: 1472, Group: DefaultSyncGroup, Port: DefaultSyncPort, TTL: 1}
	bOther := bRead
	bOther.SyncID = 2
	for _, tc := range []struct {
		name              string
		desired, observed []Daemon
		want              []DaemonChange
	}{
		{"nothing", nil, nil, nil},
		{"start both", []Daemon{b, m}, nil, []DaemonChange{{DaemonStart, m}, {DaemonStart, b}}},
		{"in place", []Daemon{m, b}, []Daemon{mRead, bRead}, nil},
		{"restart changed", []Daemon{m, b}, []Daemon{mRead, bOther}, []DaemonChange{{DaemonStop, bOther}, {DaemonStart, b}}},
		{"stop unwanted", []Daemon{b}, []Daemon{mRead, bRead}, []DaemonChange{{DaemonStop, mRead}}},
		{"stop all", nil, []Daemon{bRead, mRead}, []DaemonChange{{DaemonStop, mRead}, {DaemonStop, bRead}}},
		{"port differs", []Daemon{{State: DaemonMaster, Interface: "eth1", SyncID: 1, Port: 9000}}, []Daemon{mRead},
			[]DaemonChange{{DaemonStop, mRead}, {DaemonStart, Daemon{State: DaemonMaster, Interface: "eth1", SyncID: 1, Port: 9000}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := PlanDaemons(tc.desired, tc.observed)
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Fatalf("PlanDaemons (-want +got):\n%s", diff)
			}
		})
	}
}

func TestApplyDaemonsIdempotent(t *testing.T) {
	ctx := context.Background()
	f := &fakeSync{daemons: map[DaemonState]Daemon{}}
	c := dialSync(t, f)
	want := []Daemon{{State: DaemonMaster, Interface: "eth1", SyncID: 1}, {State: DaemonBackup, Interface: "eth1", SyncID: 1}}
	for range 2 {
		have, err := c.Daemons(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := ApplyDaemons(ctx, c, PlanDaemons(want, have)); err != nil {
			t.Fatal(err)
		}
	}
	if len(f.daemons) != 2 {
		t.Fatalf("daemons after apply: %v", f.daemons)
	}
	// A stop of a daemon that stopped meanwhile succeeds.
	stale := []DaemonChange{{DaemonStop, Daemon{State: DaemonMaster}}, {DaemonStop, Daemon{State: DaemonMaster}}}
	if err := ApplyDaemons(ctx, c, stale); err != nil {
		t.Fatalf("stopping twice: %v", err)
	}
	// A start refused by the kernel names the daemon and keeps the errno.
	err := ApplyDaemons(ctx, c, []DaemonChange{{DaemonStart, want[1]}})
	if !errors.Is(err, unix.EEXIST) || !strings.Contains(err.Error(), "backup on eth1") {
		t.Fatalf("start of a running backup: %v", err)
	}
}

func TestTimeouts(t *testing.T) {
	ctx := context.Background()
	f := &fakeSync{timeouts: Timeouts{TCP: 900 * time.Second, TCPFin: 120 * time.Second, UDP: 300 * time.Second}}
	c := dialSync(t, f)
	prior, err := c.Timeouts(ctx)
	if err != nil || prior != f.timeouts {
		t.Fatalf("Timeouts = %v, %v", prior, err)
	}
	want := Timeouts{TCP: time.Hour, UDP: 300 * time.Second}
	set, ok := PlanTimeouts(want, prior)
	if !ok || set != (Timeouts{TCP: time.Hour}) {
		t.Fatalf("PlanTimeouts = %v, %v; want only tcp", set, ok)
	}
	if err := ApplyTimeouts(ctx, c, set); err != nil {
		t.Fatal(err)
	}
	got, _ := c.Timeouts(ctx)
	if got != (Timeouts{TCP: time.Hour, TCPFin: 120 * time.Second, UDP: 300 * time.Second}) {
		t.Fatalf("after set: %v", got)
	}
	if _, ok := PlanTimeouts(want, got); ok {
		t.Fatal("PlanTimeouts wants a change after applying it")
	}
	n := len(f.requests)
	if err := ApplyTimeouts(ctx, c, Timeouts{}); err != nil || len(f.requests) != n {
		t.Fatalf("empty apply: %v, %d requests", err, len(f.requests)-n)
	}
	for _, bad := range []Timeouts{{TCP: time.Millisecond}, {UDP: 1500 * time.Millisecond}, {TCPFin: -time.Second}} {
		if err := c.SetTimeouts(ctx, bad); err == nil {
			t.Errorf("SetTimeouts(%v) succeeded", bad)
		}
	}
}

// TestDaemonPortHostOrder pins the wire format of the sync port: the
// kernel reads and reports IPVS_DAEMON_ATTR_MCAST_PORT in host order.
func TestDaemonPortHostOrder(t *testing.T) {
	b, err := nestedIn(daemonAttrs(Daemon{State: DaemonBackup, Interface: "eth1", Port: 9000}, true), cmdAttrDaemon)
	if err != nil {
		t.Fatal(err)
	}
	ad, _ := netlink.NewAttributeDecoder(b)
	for ad.Next() {
		if ad.Type() == daemonAttrMcastPort {
			if got := ad.Uint16(); got != 9000 {
				t.Fatalf("port on the wire reads %d in host order, want 9000", got)
			}
			return
		}
	}
	t.Fatal("no port attribute")
}
