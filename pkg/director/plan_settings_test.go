package director

import (
	"encoding/json"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
)

var (
	redirAll  = sysctl.IPv4Conf("all", "send_redirects").String()
	redirEth0 = sysctl.IPv4Conf("eth0", "send_redirects").String()
	sloppy    = sysctl.IPVS("sloppy_tcp").String()
	reuse     = sysctl.IPVS("conn_reuse_mode").String()
	sync1     = ipvs.Daemon{State: ipvs.DaemonMaster, Interface: "eth1", SyncID: 1}
	sync1b    = ipvs.Daemon{State: ipvs.DaemonBackup, Interface: "eth1", SyncID: 1}
	// running is sync1 as the kernel reports it, defaults filled in.
	running = ipvs.Daemon{State: ipvs.DaemonMaster, Interface: "eth1", SyncID: 1, MaxLen: 1472,
		Group: ipvs.DefaultSyncGroup, Port: ipvs.DefaultSyncPort, TTL: ipvs.DefaultSyncTTL}
)

// wave2 is web() with every host-wide setting and the service fields of
// the scale-out features.
func wave2() *config.Config {
	c := web()
	c.Director.IPForward, c.Director.DisableRedirects = true, true
	c.Director.IPVSSysctls = []config.IPVSSysctl{{Name: "conn_reuse_mode", Value: 0}, {Name: "sloppy_tcp", Value: 1}}
	c.Director.Timeouts = config.Timeouts{TCP: 600 * time.Second, UDP: 60 * time.Second}
	c.Director.Sync = &config.Sync{Interface: "eth1", State: config.SyncBoth, SyncID: 1}
	vs := &c.VirtualServers[0]
	vs.Scheduler, vs.SchedulerFlags = "mh", []config.SchedulerFlag{config.FlagMHPort, config.FlagMHFallback}
	vs.RealServers = []config.RealServer{
		{Address: rs3, Port: 80, Weight: 1, Mode: config.ModeTUN, UpperThreshold: 1000, LowerThreshold: 800,
			Tunnel: config.Tunnel{Type: config.TunnelGUE, Port: 6080, Flags: []config.TunnelFlag{config.TunnelCsum}}},
		{Address: rs1, Port: 80, Weight: 1, Mode: config.ModeTUN, Tunnel: config.Tunnel{Type: config.TunnelGRE}},
		{Address: rs2, Port: 80, Weight: 1, Mode: config.ModeDR},
	}
	return c
}

// wave2Service and wave2Dests are what wave2() asks of IPVS.
func wave2Service() ipvs.Service {
	s := svc(80)
	s.Scheduler, s.Flags = "mh", ipvs.FlagSchedSHPort|ipvs.FlagSchedSHFallback
	return s
}

func wave2Dests() []ipvs.Destination {
	gue := dst(rs3, 80, ipvs.Tunnel, 1)
	gue.UpperThreshold, gue.LowerThreshold = 1000, 800
	gue.TunnelType, gue.TunnelPort, gue.TunnelFlags = ipvs.TunnelGUE, 6080, ipvs.TunnelCsum
	gre := dst(rs1, 80, ipvs.Tunnel, 1)
	gre.TunnelType = ipvs.TunnelGRE
	return []ipvs.Destination{gue, gre, dst(rs2, 80, ipvs.Route, 1)}
}

func TestDesiredFromWave2(t *testing.T) {
	want := Desired{
		Interface: "eth0",
		Sysctls: []SysctlWant{
			{Key: redirAll, Value: "0"}, {Key: redirEth0, Value: "0"}, {Key: ipf, Value: "1"},
			{Key: reuse, Value: "0"}, {Key: sloppy, Value: "1"},
		},
		Timeouts: ipvs.Timeouts{TCP: 600 * time.Second, UDP: 60 * time.Second},
		Sync:     []ipvs.Daemon{sync1, sync1b},
		VIPs:     []netip.Addr{vip1},
		Services: []DesiredService{{Service: wave2Service(), Destinations: wave2Dests()}},
	}
	got := DesiredFrom(wave2())
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Fatalf("DesiredFrom (-want +got):\n%s", diff)
	}
	got.AcceptLocal()
	got.Want(sysctl.IPVS("sloppy_tcp"), "0")
	acc := []SysctlWant{{Key: redirAll, Value: "0"},
		{Key: sysctl.IPv4Conf("eth0", "accept_local").String(), Value: "1"}, {Key: redirEth0, Value: "0"}, {Key: ipf, Value: "1"}, {Key: reuse, Value: "0"}, {Key: sloppy, Value: "0"}}
	if diff := cmp.Diff(acc, got.Sysctls); diff != "" {
		t.Fatalf("AcceptLocal and Want keep one sorted entry per key (-want +got):\n%s", diff)
	}
	// A record written before Sysctls existed still asks for ip_forward.
	var old Desired
	if err := json.Unmarshal([]byte(`{"interface":"eth0","ip_forward":true}`), &old); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Desired{Interface: "eth0", Sysctls: []SysctlWant{{Key: ipf, Value: "1"}}}, old, cmpOpts); diff != "" {
		t.Fatalf("legacy ip_forward (-want +got):\n%s", diff)
	}
	// Round trip through the record's JSON.
	b, err := json.Marshal(DesiredFrom(wave2()))
	if err != nil {
		t.Fatal(err)
	}
	var back Desired
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, back, cmpOpts); diff != "" {
		t.Fatalf("JSON round trip (-want +got):\n%s", diff)
	}
}

func TestPlanSettings(t *testing.T) {
	tcpRec := TimeoutRecord{Name: "tcp", Prior: 900, Wrote: 600}
	for _, tc := range []struct {
		name   string
		d      func(*Desired)
		kernel func(*Observed, *Owned)
		want   []Change
	}{
		{
			name: "sysctls set in key order, each with the value found",
			d: func(d *Desired) {
				d.Want(sysctl.IPVS("sloppy_tcp"), "1")
				d.Want(sysctl.IPv4Conf("eth0", "send_redirects"), "0")
				d.Want(sysctl.IPv4Conf("all", "send_redirects"), "0")
			},
			kernel: func(o *Observed, _ *Owned) {
				o.Sysctls[redirAll], o.Sysctls[redirEth0], o.Sysctls[sloppy] = "1", "1", "0"
			},
			want: []Change{
				{Kind: SetSysctl, x: &changeDetail{Sysctl: sysctl.Record{Key: redirAll, Prior: "1", Wrote: "0"}, Current: "1"}},
				{Kind: SetSysctl, x: &changeDetail{Sysctl: sysctl.Record{Key: redirEth0, Prior: "1", Wrote: "0"}, Current: "1"}},
				{Kind: SetSysctl, x: &changeDetail{Sysctl: sysctl.Record{Key: sloppy, Prior: "0", Wrote: "1"}, Current: "0"}},
			},
		},
		{
			name:   "a sysctl already at its value is neither written nor recorded",
			d:      func(d *Desired) { d.Want(sysctl.IPv4Conf("all", "send_redirects"), "0") },
			kernel: func(o *Observed, _ *Owned) { o.Sysctls[redirAll] = "0" },
		},
		{
			name: "a wanted value changed: written, the first prior kept, the value replaced still lvs-rs's until read back",
			d:    func(d *Desired) { d.Want(sysctl.IPVS("conn_reuse_mode"), "2") },
			kernel: func(o *Observed, w *Owned) {
				o.Sysctls[reuse] = "0"
				w.Sysctls = []sysctl.Record{{Key: reuse, Prior: "1", Wrote: "0"}}
			},
			want: []Change{{Kind: SetSysctl, x: &changeDetail{Sysctl: sysctl.Record{Key: reuse, Prior: "1", Wrote: "2", Was: "0"}, Current: "0"}}},
		},
		{
			name: "a wanted value changed after someone else changed it: written, the first prior kept, theirs not lvs-rs's",
			d:    func(d *Desired) { d.Want(sysctl.IPVS("conn_reuse_mode"), "2") },
			kernel: func(o *Observed, w *Owned) {
				o.Sysctls[reuse] = "3"
				w.Sysctls = []sysctl.Record{{Key: reuse, Prior: "1", Wrote: "0"}}
			},
			want: []Change{{Kind: SetSysctl, x: &changeDetail{Sysctl: sysctl.Record{Key: reuse, Prior: "1", Wrote: "2"}, Current: "3"}}},
		},
		{
			name: "sysctls no longer wanted: restored, left when changed since, nothing when the device is gone",
			kernel: func(o *Observed, w *Owned) {
				o.Sysctls[sloppy], o.Sysctls[redirAll], o.Sysctls[reuse] = "1", "1", "2"
				w.Sysctls = []sysctl.Record{{Key: sloppy, Prior: "0", Wrote: "1"}, {Key: redirEth0, Prior: "1", Wrote: "0"},
					{Key: redirAll, Prior: "1", Wrote: "0"}, {Key: reuse, Prior: "1", Wrote: "0"}}
			},
			want: []Change{
				{Kind: LeaveSysctl, x: &changeDetail{Sysctl: sysctl.Record{Key: reuse, Prior: "1", Wrote: "0"}, Current: "2"}},
				{Kind: RestoreSysctl, x: &changeDetail{Sysctl: sysctl.Record{Key: sloppy, Prior: "0", Wrote: "1"}, Current: "1"}},
			},
		},
		{
			name: "timeouts: only the wanted ones that differ are set, each with the value found",
			d:    func(d *Desired) { d.Timeouts = ipvs.Timeouts{TCP: 600 * time.Second, UDP: 300 * time.Second} },
			kernel: func(o *Observed, _ *Owned) {
				o.Timeouts = ipvs.Timeouts{TCP: 900 * time.Second, TCPFin: 120 * time.Second, UDP: 300 * time.Second}
			},
			want: []Change{{Kind: SetTimeout, x: &changeDetail{Timeout: tcpRec, TimeoutNow: 900}}},
		},
		{
			name: "a timeout reset by someone while wanted: set again, the first prior kept",
			d:    func(d *Desired) { d.Timeouts = ipvs.Timeouts{TCP: 600 * time.Second} },
			kernel: func(o *Observed, w *Owned) {
				o.Timeouts = ipvs.Timeouts{TCP: 100 * time.Second, TCPFin: 120 * time.Second, UDP: 300 * time.Second}
				w.Timeouts = []TimeoutRecord{tcpRec}
			},
			want: []Change{{Kind: SetTimeout, x: &changeDetail{Timeout: tcpRec, TimeoutNow: 100}}},
		},
		{
			name: "timeouts no longer wanted: restored while at what lvs-rs wrote, left otherwise, nothing when already back or unknown",
			kernel: func(o *Observed, w *Owned) {
				o.Timeouts = ipvs.Timeouts{TCP: 600 * time.Second, TCPFin: 30 * time.Second, UDP: 300 * time.Second}
				w.Timeouts = []TimeoutRecord{tcpRec, {Name: "tcp_fin", Prior: 120, Wrote: 60}, {Name: "udp", Prior: 300, Wrote: 60}}
			},
			want: []Change{
				{Kind: RestoreTimeout, x: &changeDetail{Timeout: tcpRec, TimeoutNow: 600}},
				{Kind: LeaveTimeout, x: &changeDetail{Timeout: TimeoutRecord{Name: "tcp_fin", Prior: 120, Wrote: 60}, TimeoutNow: 30}},
			},
		},
		{
			name:   "timeouts unknown (no IPVS): nothing to restore",
			kernel: func(o *Observed, w *Owned) { w.Timeouts = []TimeoutRecord{tcpRec} },
		},
		{
			name: "sync: master and backup started",
			d:    func(d *Desired) { d.Sync = []ipvs.Daemon{sync1, sync1b} },
			want: []Change{{Kind: StartSync, x: &changeDetail{Daemon: sync1}}, {Kind: StartSync, x: &changeDetail{Daemon: sync1b}}},
		},
		{
			name:   "sync: a running daemon that satisfies the wanted one is left as it is",
			d:      func(d *Desired) { d.Sync = []ipvs.Daemon{sync1} },
			kernel: func(o *Observed, w *Owned) { o.Daemons = []ipvs.Daemon{running}; w.Daemons = []ipvs.Daemon{sync1} },
		},
		{
			name:   "sync: lvs-rs's daemon with other settings is restarted",
			d:      func(d *Desired) { d.Sync = []ipvs.Daemon{{State: ipvs.DaemonMaster, Interface: "eth2", SyncID: 1}} },
			kernel: func(o *Observed, w *Owned) { o.Daemons = []ipvs.Daemon{running}; w.Daemons = []ipvs.Daemon{sync1} },
			want:   []Change{{Kind: RestartSync, x: &changeDetail{Daemon: ipvs.Daemon{State: ipvs.DaemonMaster, Interface: "eth2", SyncID: 1}, FromDaemon: running}}},
		},
		{
			name:   "sync: a daemon lvs-rs did not start is never stopped; starting the wanted one is planned (the kernel refuses it)",
			d:      func(d *Desired) { d.Sync = []ipvs.Daemon{{State: ipvs.DaemonMaster, Interface: "eth2", SyncID: 1}} },
			kernel: func(o *Observed, _ *Owned) { o.Daemons = []ipvs.Daemon{running} },
			want:   []Change{{Kind: StartSync, x: &changeDetail{Daemon: ipvs.Daemon{State: ipvs.DaemonMaster, Interface: "eth2", SyncID: 1}, FromDaemon: running}}},
		},
		{
			name: "sync no longer wanted: lvs-rs's stopped, one replaced by hand left, a foreign one untouched",
			kernel: func(o *Observed, w *Owned) {
				other := running
				other.State, other.Interface = ipvs.DaemonBackup, "eth9"
				o.Daemons = []ipvs.Daemon{running, other}
				w.Daemons = []ipvs.Daemon{sync1, sync1b}
			},
			want: []Change{
				{Kind: StopSync, x: &changeDetail{Daemon: running}},
				{Kind: LeaveSync, x: &changeDetail{Daemon: sync1b, FromDaemon: ipvs.Daemon{State: ipvs.DaemonBackup, Interface: "eth9", SyncID: 1, MaxLen: 1472,
					Group: ipvs.DefaultSyncGroup, Port: ipvs.DefaultSyncPort, TTL: ipvs.DefaultSyncTTL}}},
			},
		},
		{
			name:   "sync: a foreign daemon with nothing wanted or recorded is untouched",
			kernel: func(o *Observed, _ *Owned) { o.Daemons = []ipvs.Daemon{running} },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obs, owned := converged()
			d := DesiredFrom(web())
			if tc.d != nil {
				tc.d(&d)
			}
			if tc.kernel != nil {
				tc.kernel(&obs, &owned)
			}
			got := plan(d, obs, owned)
			if diff := cmp.Diff(tc.want, got, cmpOpts); diff != "" {
				t.Fatalf("plan (-want +got):\n%s", diff)
			}
			for _, c := range got {
				if c.String() == "" || c.Drift() == "" {
					t.Errorf("%v: empty rendering", c.Kind)
				}
			}
		})
	}
}

// TestPlanWave2Order: a first start with every setting, and the teardown
// of the result, in the documented order; the real servers of a service
// are added in config order (not sorted).
func TestPlanWave2Order(t *testing.T) {
	obs := Observed{Services: map[ipvs.ServiceKey]ObservedService{}, Sysctls: map[string]string{ipf: "0", redirAll: "1", redirEth0: "1", reuse: "1", sloppy: "0"},
		Timeouts: ipvs.Timeouts{TCP: 900 * time.Second, TCPFin: 120 * time.Second, UDP: 300 * time.Second}}
	s, ds := wave2Service(), wave2Dests()
	set := func(k, prior, wrote string) Change {
		return Change{Kind: SetSysctl, x: &changeDetail{Sysctl: sysctl.Record{Key: k, Prior: prior, Wrote: wrote}, Current: prior}}
	}
	want := []Change{
		set(redirAll, "1", "0"), set(redirEth0, "1", "0"), set(ipf, "0", "1"), set(reuse, "1", "0"), set(sloppy, "0", "1"),
		{Kind: SetTimeout, x: &changeDetail{Timeout: TimeoutRecord{Name: "tcp", Prior: 900, Wrote: 600}, TimeoutNow: 900}},
		{Kind: SetTimeout, x: &changeDetail{Timeout: TimeoutRecord{Name: "udp", Prior: 300, Wrote: 60}, TimeoutNow: 300}},
		{Kind: StartSync, x: &changeDetail{Daemon: sync1}}, {Kind: StartSync, x: &changeDetail{Daemon: sync1b}},
		{Kind: Bind, x: &changeDetail{Addr: eth0(vip1, "eth0:0")}},
		{Kind: AddService, Service: s},
		{Kind: AddDestination, Service: s, Destination: ds[0]},
		{Kind: AddDestination, Service: s, Destination: ds[1]},
		{Kind: AddDestination, Service: s, Destination: ds[2]},
	}
	got := Plan(wave2(), obs, Owned{})
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Fatalf("first start (-want +got):\n%s", diff)
	}
	// The kernel after it, and the teardown.
	owned := intents(Owned{Services: ownedOf(map[ipvs.ServiceKey]map[ipvs.DestinationKey]bool{})}, got)
	dx := slices.Clone(ds)
	after := Observed{
		Services: map[ipvs.ServiceKey]ObservedService{s.Key(): {ServiceExtended: ipvs.ServiceExtended{Service: s}, Destinations: dx}},
		Addrs:    []vip.Addr{eth0(vip1, "eth0:0")},
		Sysctls:  map[string]string{ipf: "1", redirAll: "0", redirEth0: "0", reuse: "0", sloppy: "1"},
		Timeouts: ipvs.Timeouts{TCP: 600 * time.Second, TCPFin: 120 * time.Second, UDP: 60 * time.Second},
		Daemons:  []ipvs.Daemon{running, func() ipvs.Daemon { b := running; b.State = ipvs.DaemonBackup; return b }()},
	}
	restore := func(k, prior, wrote string) Change {
		return Change{Kind: RestoreSysctl, x: &changeDetail{Sysctl: sysctl.Record{Key: k, Prior: prior, Wrote: wrote}, Current: wrote}}
	}
	want = []Change{
		{Kind: DeleteService, Service: s},
		{Kind: Unbind, x: &changeDetail{Addr: eth0(vip1, "eth0:0")}},
		{Kind: StopSync, x: &changeDetail{Daemon: after.Daemons[0]}}, {Kind: StopSync, x: &changeDetail{Daemon: after.Daemons[1]}},
		{Kind: RestoreTimeout, x: &changeDetail{Timeout: TimeoutRecord{Name: "tcp", Prior: 900, Wrote: 600}, TimeoutNow: 600}},
		{Kind: RestoreTimeout, x: &changeDetail{Timeout: TimeoutRecord{Name: "udp", Prior: 300, Wrote: 60}, TimeoutNow: 60}},
		restore(redirAll, "1", "0"), restore(redirEth0, "1", "0"), restore(ipf, "0", "1"), restore(reuse, "1", "0"), restore(sloppy, "0", "1"),
	}
	if diff := cmp.Diff(want, plan(Desired{}, after, owned), cmpOpts); diff != "" {
		t.Fatalf("teardown (-want +got):\n%s", diff)
	}
}

// TestPlanServiceFields: scheduler flags, thresholds and tunnel changed on
// lvs-rs's service are edits in place.
func TestPlanServiceFields(t *testing.T) {
	obs, owned := converged()
	cfg := web()
	vs := &cfg.VirtualServers[0]
	vs.Scheduler, vs.SchedulerFlags = "sh", []config.SchedulerFlag{config.FlagSHPort}
	vs.RealServers[0].UpperThreshold = 50
	vs.RealServers[1].Mode = config.ModeTUN
	vs.RealServers[1].Tunnel = config.Tunnel{Type: config.TunnelGUE, Port: 5555, Flags: []config.TunnelFlag{config.TunnelRemCsum}}
	to := svc(80)
	to.Scheduler, to.Flags = "sh", ipvs.FlagSchedSHPort
	d1 := dst(rs1, 80, ipvs.Route, 1)
	d1.UpperThreshold = 50
	d2 := dst(rs2, 80, ipvs.Tunnel, 1)
	d2.TunnelType, d2.TunnelPort, d2.TunnelFlags = ipvs.TunnelGUE, 5555, ipvs.TunnelRemCsum
	want := []Change{
		{Kind: EditService, Service: to, x: &changeDetail{From: svc(80)}},
		{Kind: EditDestination, Service: to, Destination: d1, x: &changeDetail{FromDestination: dst(rs1, 80, ipvs.Route, 1)}},
		{Kind: EditDestination, Service: to, Destination: d2, x: &changeDetail{FromDestination: dst(rs2, 80, ipvs.Route, 1)}},
	}
	got := Plan(cfg, obs, owned)
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Fatalf("plan (-want +got):\n%s", diff)
	}
	for _, c := range got {
		t.Log(c.Drift())
	}
}
