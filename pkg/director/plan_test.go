package director

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
)

func TestPlan(t *testing.T) {
	foreign := ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: vip2, Port: 443, Scheduler: "rr", Netmask: 32}
	for _, tc := range []struct {
		name   string
		cfg    func(*config.Config) *config.Config
		kernel func(*Observed, *Owned)
		fresh  bool // start from an empty kernel and record
		want   []Change
	}{
		{
			name:  "first start adds everything",
			fresh: true,
			want: []Change{
				{Kind: Bind, x: &changeDetail{Addr: eth0(vip1, "eth0:0")}},
				{Kind: AddService, Service: svc(80)},
				{Kind: AddDestination, Service: svc(80), Destination: dst(rs1, 80, ipvs.Route, 1)},
				{Kind: AddDestination, Service: svc(80), Destination: dst(rs2, 80, ipvs.Route, 1)},
			},
		},
		{
			name: "no-op: zero changes",
		},
		{
			name: "weight edited in place",
			cfg:  func(c *config.Config) *config.Config { c.VirtualServers[0].RealServers[1].Weight = 3; return c },
			want: []Change{{Kind: EditDestination, Service: svc(80), Destination: dst(rs2, 80, ipvs.Route, 3), x: &changeDetail{FromDestination: dst(rs2, 80, ipvs.Route, 1)}}},
		},
		{
			name: "scheduler and persistence edited in place",
			cfg: func(c *config.Config) *config.Config {
				c.VirtualServers[0].Scheduler, c.VirtualServers[0].Persistence, c.VirtualServers[0].PersistenceNetmask = "lc", 360, 24
				return c
			},
			want: func() []Change {
				to := svc(80)
				to.Scheduler, to.Flags, to.Timeout, to.Netmask = "lc", ipvs.FlagPersistent, 360, 24
				return []Change{{Kind: EditService, Service: to, x: &changeDetail{From: svc(80)}}}
			}(),
		},
		{
			name: "persistence turned off",
			cfg:  func(c *config.Config) *config.Config { return c },
			kernel: func(o *Observed, _ *Owned) {
				s := o.Services[svcKey(80)]
				s.Flags, s.Timeout, s.Netmask = ipvs.FlagPersistent, 60, 24
				o.Services[svcKey(80)] = s
			},
			want: func() []Change {
				from := svc(80)
				from.Flags, from.Timeout, from.Netmask = ipvs.FlagPersistent, 60, 24
				return []Change{{Kind: EditService, Service: svc(80), x: &changeDetail{From: from}}}
			}(),
		},
		{
			name: "one real server dropped",
			cfg: func(c *config.Config) *config.Config {
				c.VirtualServers[0].RealServers = c.VirtualServers[0].RealServers[:1]
				return c
			},
			want: []Change{{Kind: DeleteDestination, Service: svc(80), Destination: dst(rs2, 80, ipvs.Route, 1)}},
		},
		{
			name: "foreign service untouched",
			kernel: func(o *Observed, _ *Owned) {
				o.Services[foreign.Key()] = ObservedService{ServiceExtended: ipvs.ServiceExtended{Service: foreign}}
			},
		},
		{
			name: "foreign real server in own service untouched",
			kernel: func(o *Observed, _ *Owned) {
				s := o.Services[svcKey(80)]
				s.Destinations = append(s.Destinations, dst(rs3, 80, ipvs.Masq, 9))
				o.Services[svcKey(80)] = s
			},
		},
		{
			name: "foreign real server the config names is adopted and edited",
			cfg: func(c *config.Config) *config.Config {
				c.VirtualServers[0].RealServers = append(c.VirtualServers[0].RealServers,
					config.RealServer{Address: rs3, Port: 80, Weight: 2, Mode: config.ModeDR})
				return c
			},
			kernel: func(o *Observed, _ *Owned) {
				s := o.Services[svcKey(80)]
				s.Destinations = append(s.Destinations, dst(rs3, 80, ipvs.Route, 9))
				o.Services[svcKey(80)] = s
			},
			want: []Change{{Kind: EditDestination, Service: svc(80), Destination: dst(rs3, 80, ipvs.Route, 2), x: &changeDetail{FromDestination: dst(rs3, 80, ipvs.Route, 9)}}},
		},
		{
			name: "service key change adds the new before deleting the old",
			cfg:  func(c *config.Config) *config.Config { c.VirtualServers[0].Port = 8080; return setRSPort(c, 8080) },
			want: []Change{
				{Kind: AddService, Service: svc(8080)},
				{Kind: AddDestination, Service: svc(8080), Destination: dst(rs1, 8080, ipvs.Route, 1)},
				{Kind: AddDestination, Service: svc(8080), Destination: dst(rs2, 8080, ipvs.Route, 1)},
				{Kind: DeleteService, Service: svc(80)},
			},
		},
		{
			name: "nat port mapping change adds then deletes the real server",
			cfg: func(c *config.Config) *config.Config {
				c.VirtualServers[0].RealServers[0].Port = 8080
				return c
			},
			want: []Change{
				{Kind: AddDestination, Service: svc(80), Destination: dst(rs1, 8080, ipvs.Route, 1)},
				{Kind: DeleteDestination, Service: svc(80), Destination: dst(rs1, 80, ipvs.Route, 1)},
			},
		},
		{
			name: "dr to nat switches forwarding in place and sets ip_forward",
			cfg: func(c *config.Config) *config.Config {
				c.Director.IPForward = true
				c.VirtualServers[0].Mode = config.ModeNAT
				for i := range c.VirtualServers[0].RealServers {
					c.VirtualServers[0].RealServers[i].Mode = config.ModeNAT
				}
				return c
			},
			want: []Change{
				{Kind: SetSysctl, x: &changeDetail{Sysctl: sysctl.Record{Key: ipf, Prior: "0", Wrote: "1"}, Current: "0"}},
				{Kind: EditDestination, Service: svc(80), Destination: dst(rs1, 80, ipvs.Masq, 1), x: &changeDetail{FromDestination: dst(rs1, 80, ipvs.Route, 1)}},
				{Kind: EditDestination, Service: svc(80), Destination: dst(rs2, 80, ipvs.Masq, 1), x: &changeDetail{FromDestination: dst(rs2, 80, ipvs.Route, 1)}},
			},
		},
		{
			name:   "ip_forward already 1 and not lvs-rs's: nothing to record or write",
			cfg:    func(c *config.Config) *config.Config { c.Director.IPForward = true; return c },
			kernel: func(o *Observed, _ *Owned) { o.Sysctls[ipf] = "1" },
		},
		{
			name: "ip_forward no longer wanted: restored",
			kernel: func(o *Observed, w *Owned) {
				o.Sysctls[ipf] = "1"
				w.Sysctls = []sysctl.Record{{Key: ipf, Prior: "0", Wrote: "1"}}
			},
			want: []Change{{Kind: RestoreSysctl, x: &changeDetail{Sysctl: sysctl.Record{Key: ipf, Prior: "0", Wrote: "1"}, Current: "1"}}},
		},
		{
			name: "ip_forward changed by someone since: left alone",
			kernel: func(o *Observed, w *Owned) {
				o.Sysctls[ipf] = "2"
				w.Sysctls = []sysctl.Record{{Key: ipf, Prior: "0", Wrote: "1"}}
			},
			want: []Change{{Kind: LeaveSysctl, x: &changeDetail{Sysctl: sysctl.Record{Key: ipf, Prior: "0", Wrote: "1"}, Current: "2"}}},
		},
		{
			name: "ip_forward reset by someone while wanted: set again, original prior kept",
			cfg:  func(c *config.Config) *config.Config { c.Director.IPForward = true; return c },
			kernel: func(o *Observed, w *Owned) {
				o.Sysctls[ipf] = "0"
				w.Sysctls = []sysctl.Record{{Key: ipf, Prior: "0", Wrote: "1"}}
			},
			want: []Change{{Kind: SetSysctl, x: &changeDetail{Sysctl: sysctl.Record{Key: ipf, Prior: "0", Wrote: "1"}, Current: "0"}}},
		},
		{
			name: "a conflicting foreign service is left out of the plan",
			cfg: func(c *config.Config) *config.Config {
				c.VirtualServers = append(c.VirtualServers, config.VirtualServer{VIP: vip2, Port: 443, Protocol: config.TCP, Scheduler: "wrr", Mode: config.ModeDR})
				return c
			},
			kernel: func(o *Observed, _ *Owned) {
				o.Services[foreign.Key()] = ObservedService{ServiceExtended: ipvs.ServiceExtended{Service: foreign}}
			},
			want: []Change{{Kind: Bind, x: &changeDetail{Addr: eth0(vip2, "eth0:1")}}},
		},
		{
			name: "service no longer configured: deleted with its VIP",
			cfg:  func(c *config.Config) *config.Config { c.VirtualServers = nil; return c },
			want: []Change{
				{Kind: DeleteService, Service: svc(80)},
				{Kind: Unbind, x: &changeDetail{Addr: eth0(vip1, "eth0:0")}},
			},
		},
		{
			name: "service no longer configured but holding a foreign real server: own ones deleted, service released",
			cfg:  func(c *config.Config) *config.Config { c.VirtualServers = nil; return c },
			kernel: func(o *Observed, _ *Owned) {
				s := o.Services[svcKey(80)]
				s.Destinations = append(s.Destinations, dst(rs3, 80, ipvs.Route, 1))
				o.Services[svcKey(80)] = s
			},
			want: []Change{
				{Kind: DeleteDestination, Service: svc(80), Destination: dst(rs1, 80, ipvs.Route, 1)},
				{Kind: DeleteDestination, Service: svc(80), Destination: dst(rs2, 80, ipvs.Route, 1)},
				{Kind: ReleaseService, Service: svc(80), x: &changeDetail{Foreign: []ipvs.DestinationKey{dstKey(rs3, 80)}}},
				{Kind: Unbind, x: &changeDetail{Addr: eth0(vip1, "eth0:0")}},
			},
		},
		{
			name: "real server missing from own service is added back",
			kernel: func(o *Observed, _ *Owned) {
				s := o.Services[svcKey(80)]
				s.Destinations = s.Destinations[:1]
				o.Services[svcKey(80)] = s
			},
			want: []Change{{Kind: AddDestination, Service: svc(80), Destination: dst(rs2, 80, ipvs.Route, 1)}},
		},
		{
			name:  "pre-existing VIP adopted, next free label for a new one",
			fresh: true,
			cfg: func(c *config.Config) *config.Config {
				c.VirtualServers = append(c.VirtualServers, config.VirtualServer{VIP: vip2, Port: 80, Protocol: config.TCP, Scheduler: "rr", Mode: config.ModeDR})
				return c
			},
			kernel: func(o *Observed, _ *Owned) {
				o.Addrs = []vip.Addr{{Dev: "eth0", Prefix: netip.MustParsePrefix("10.0.0.100/24"), Label: "eth0:0"}}
			},
			want: []Change{
				{Kind: Bind, x: &changeDetail{Addr: eth0(vip2, "eth0:1")}},
				{Kind: AddService, Service: svc(80)},
				{Kind: AddDestination, Service: svc(80), Destination: dst(rs1, 80, ipvs.Route, 1)},
				{Kind: AddDestination, Service: svc(80), Destination: dst(rs2, 80, ipvs.Route, 1)},
				{Kind: AddService, Service: ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: vip2, Port: 80, Scheduler: "rr", Netmask: 32}},
			},
		},
		{
			name:  "a VIP recorded but not bound (a run killed before its bind) gets its recorded label again",
			fresh: true,
			kernel: func(_ *Observed, o *Owned) {
				o.Addrs = []vip.Addr{eth0(vip1, "eth0:0")}
			},
			want: []Change{
				{Kind: Bind, x: &changeDetail{Addr: eth0(vip1, "eth0:0")}},
				{Kind: AddService, Service: svc(80)},
				{Kind: AddDestination, Service: svc(80), Destination: dst(rs1, 80, ipvs.Route, 1)},
				{Kind: AddDestination, Service: svc(80), Destination: dst(rs2, 80, ipvs.Route, 1)},
			},
		},
		{
			name:  "a recorded label another address holds now is not used again",
			fresh: true,
			kernel: func(ob *Observed, o *Owned) {
				o.Addrs = []vip.Addr{eth0(vip1, "eth0:0")}
				ob.Addrs = []vip.Addr{eth0(vip2, "eth0:0")}
			},
			want: []Change{
				{Kind: Bind, x: &changeDetail{Addr: eth0(vip1, "eth0:1")}},
				{Kind: AddService, Service: svc(80)},
				{Kind: AddDestination, Service: svc(80), Destination: dst(rs1, 80, ipvs.Route, 1)},
				{Kind: AddDestination, Service: svc(80), Destination: dst(rs2, 80, ipvs.Route, 1)},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obs, owned := converged()
			if tc.fresh {
				obs = Observed{Services: map[ipvs.ServiceKey]ObservedService{}, Sysctls: map[string]string{ipf: "0"}}
				owned = Owned{Services: ownedOf(map[ipvs.ServiceKey]map[ipvs.DestinationKey]bool{})}
			}
			if tc.kernel != nil {
				tc.kernel(&obs, &owned)
			}
			cfg := web()
			if tc.cfg != nil {
				cfg = tc.cfg(cfg)
			}
			got := Plan(cfg, obs, owned)
			if diff := cmp.Diff(tc.want, got, cmpOpts); diff != "" {
				t.Fatalf("Plan (-want +got):\n%s", diff)
			}
			// The plan is stable: a second call gives the same.
			if again := Plan(cfg, obs, owned); !cmp.Equal(got, again, cmpOpts) {
				t.Fatal("Plan is not deterministic")
			}
		})
	}
}

func setRSPort(c *config.Config, port uint16) *config.Config {
	for i := range c.VirtualServers[0].RealServers {
		c.VirtualServers[0].RealServers[i].Port = port
	}
	return c
}

func TestConflicts(t *testing.T) {
	obs, owned := converged()
	other := ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.UDP, Address: vip1, Port: 53, Scheduler: "rr", Netmask: 32}
	obs.Services[other.Key()] = ObservedService{ServiceExtended: ipvs.ServiceExtended{Service: other}}
	cfg := web()
	if c := Conflicts(cfg, obs, owned); len(c) != 0 {
		t.Fatalf("Conflicts with only own services = %v", c)
	}
	cfg.VirtualServers = append(cfg.VirtualServers, config.VirtualServer{VIP: vip1, Port: 53, Protocol: config.UDP, Scheduler: "rr"})
	if diff := cmp.Diff([]ipvs.ServiceKey{other.Key()}, Conflicts(cfg, obs, owned), cmpOpts); diff != "" {
		t.Fatalf("Conflicts (-want +got):\n%s", diff)
	}
}

func TestPlanTeardown(t *testing.T) {
	obs, owned := converged()
	owned.Sysctls = []sysctl.Record{{Key: ipf, Prior: "0", Wrote: "1"}}
	obs.Sysctls[ipf] = "1"
	adopted := vip.Addr{Dev: "eth0", Prefix: netip.MustParsePrefix("10.0.0.250/32")}
	obs.Addrs = append(obs.Addrs, adopted) // on the interface, not lvs-rs's
	want := []Change{
		{Kind: DeleteService, Service: svc(80)},
		{Kind: Unbind, x: &changeDetail{Addr: eth0(vip1, "eth0:0")}},
		{Kind: RestoreSysctl, x: &changeDetail{Sysctl: owned.Sysctls[0], Current: "1"}},
	}
	if diff := cmp.Diff(want, Plan(nil, obs, owned), cmpOpts); diff != "" {
		t.Fatalf("teardown (-want +got):\n%s", diff)
	}
}

func TestPlanFeatures(t *testing.T) {
	v6 := netip.MustParseAddr("2001:db8::100")
	r6 := netip.MustParseAddr("2001:db8::11")
	cfg := &config.Config{
		Director: config.Director{Interface: "eth0"},
		VirtualServers: []config.VirtualServer{
			{VIP: vip1, FWMark: 10, Scheduler: "sh", Mode: config.ModeTUN, PersistenceNetmask: 32,
				RealServers: []config.RealServer{{Address: rs1, Weight: 0, Mode: config.ModeTUN}}},
			{VIP: v6, Port: 0, Protocol: config.UDP, Scheduler: "mh", Persistence: 60, PersistenceNetmask: 64, Mode: config.ModeDR,
				RealServers: []config.RealServer{{Address: r6, Weight: 5}}},
			{VIP: vip1, Port: 3868, Protocol: config.SCTP, Scheduler: "rr", Mode: config.ModeNAT,
				RealServers: []config.RealServer{{Address: rs2, Port: 13868, Weight: 1, Mode: config.ModeNAT}}},
		},
	}
	obs := Observed{Services: map[ipvs.ServiceKey]ObservedService{}, Sysctls: map[string]string{ipf: "1"}}
	got := Plan(cfg, obs, Owned{})
	fw := ipvs.Service{Family: ipvs.Inet, FWMark: 10, Scheduler: "sh", Netmask: 32}
	u6 := ipvs.Service{Family: ipvs.Inet6, Protocol: ipvs.UDP, Address: v6, Scheduler: "mh", Flags: ipvs.FlagPersistent, Timeout: 60, Netmask: 64}
	sc := ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.SCTP, Address: vip1, Port: 3868, Scheduler: "rr", Netmask: 32}
	want := []Change{
		{Kind: Bind, x: &changeDetail{Addr: eth0(vip1, "eth0:0")}},
		{Kind: Bind, x: &changeDetail{Addr: vip.Addr{Dev: "eth0", Prefix: netip.MustParsePrefix("2001:db8::100/128")}}},
		{Kind: AddService, Service: fw},
		{Kind: AddDestination, Service: fw, Destination: dst(rs1, 0, ipvs.Tunnel, 0)},
		{Kind: AddService, Service: u6},
		{Kind: AddDestination, Service: u6, Destination: ipvs.Destination{Family: ipvs.Inet6, Address: r6, Forward: ipvs.Route, Weight: 5}},
		{Kind: AddService, Service: sc},
		{Kind: AddDestination, Service: sc, Destination: dst(rs2, 13868, ipvs.Masq, 1)},
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Fatalf("Plan (-want +got):\n%s", diff)
	}
	for _, c := range got {
		if c.String() == "" || c.Drift() == "" {
			t.Errorf("%v: empty rendering", c.Kind)
		}
	}
}

func TestChangeStrings(t *testing.T) {
	to := svc(80)
	to.Scheduler, to.Flags, to.Timeout = "lc", ipvs.FlagPersistent, 360
	for _, c := range []struct {
		ch   Change
		want string
	}{
		{Change{Kind: Bind, x: &changeDetail{Addr: eth0(vip1, "eth0:0")}}, "bind 10.0.0.100/32 dev eth0 label eth0:0"},
		{Change{Kind: AddService, Service: svc(80)}, "add service tcp 10.0.0.100:80 scheduler wrr"},
		{Change{Kind: AddDestination, Service: svc(80), Destination: dst(rs1, 80, ipvs.Tunnel, 2)},
			"add destination 10.0.0.11:80 to tcp 10.0.0.100:80: tunnel, weight 2"},
		{Change{Kind: EditService, Service: to, x: &changeDetail{From: svc(80)}},
			"edit service tcp 10.0.0.100:80: scheduler wrr -> lc, persistence off -> 360s"},
		{Change{Kind: EditDestination, Service: svc(80), Destination: dst(rs1, 80, ipvs.Masq, 3), x: &changeDetail{FromDestination: dst(rs1, 80, ipvs.Route, 1)}},
			"edit destination 10.0.0.11:80 of tcp 10.0.0.100:80: forward route -> masq, weight 1 -> 3"},
		{Change{Kind: SetSysctl, x: &changeDetail{Sysctl: sysctl.Record{Key: ipf, Prior: "0", Wrote: "1"}, Current: "0"}}, "set net/ipv4/ip_forward=1 (was 0)"},
		{Change{Kind: RestoreSysctl, x: &changeDetail{Sysctl: sysctl.Record{Key: ipf, Prior: "0", Wrote: "1"}}}, "restore net/ipv4/ip_forward=0"},
	} {
		if got := c.ch.String(); got != c.want {
			t.Errorf("String:\n got %q\nwant %q", got, c.want)
		}
	}
}

func TestSettle(t *testing.T) {
	obs, owned := converged()
	cfg := web()
	cfg.VirtualServers[0].RealServers = append(cfg.VirtualServers[0].RealServers,
		config.RealServer{Address: rs3, Port: 80, Weight: 1, Mode: config.ModeDR})
	cfg.VirtualServers = append(cfg.VirtualServers, config.VirtualServer{VIP: vip2, Port: 80, Protocol: config.TCP, Scheduler: "rr",
		RealServers: []config.RealServer{{Address: rs1, Port: 80, Weight: 1}}})
	d := DesiredFrom(cfg)
	// rs3 exists already (hand-added, identical): adopted without a change.
	s := obs.Services[svcKey(80)]
	s.Destinations = append(s.Destinations, dst(rs3, 80, ipvs.Route, 1))
	obs.Services[svcKey(80)] = s
	changes := plan(d, obs, owned)
	// The new service's add fails: neither it nor its real server is in
	// the kernel after; the VIP was bound.
	errs := make([]error, len(changes))
	for i, c := range changes {
		if c.Kind == AddService {
			errs[i] = errFake
		}
		if c.Kind == AddDestination && c.Service.Address == vip2 {
			errs[i] = ipvs.ErrNotAttempted
		}
	}
	after := obs
	after.Addrs = append(slices.Clone(obs.Addrs), eth0(vip2, "eth0:1"))
	got := recordOf(desiredEnc{}, settle(intents(owned, changes), after, d, changes, errs))
	var keys []string
	for _, s := range got.Services {
		for _, d := range s.Destinations {
			keys = append(keys, s.ServiceKey.String()+" "+d.String())
		}
	}
	want := []string{"tcp 10.0.0.100:80 10.0.0.11:80", "tcp 10.0.0.100:80 10.0.0.12:80", "tcp 10.0.0.100:80 10.0.0.13:80"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Fatalf("owned after (-want +got):\n%s", diff)
	}
	if !slices.ContainsFunc(got.Addresses, func(a recordAddr) bool { return a.Prefix.Addr() == vip2 }) {
		t.Fatalf("the bound VIP is not recorded: %+v", got.Addresses)
	}
}

// TestPlanLongAndShortServices: a service's destinations are found by key
// whether searched in place (a few) or through a map (many): one edit,
// one addition and one deletion each.
func TestPlanLongAndShortServices(t *testing.T) {
	for _, n := range []int{3, destLinear + 4} {
		s := svc(80)
		mine := map[ipvs.ServiceKey]map[ipvs.DestinationKey]bool{s.Key(): {}}
		var have []ipvs.Destination
		var want []ipvs.Destination
		for i := range n {
			d := dst(netip.AddrFrom4([4]byte{10, 9, 0, byte(i + 1)}), 80, ipvs.Route, 1)
			have = append(have, d)
			mine[s.Key()][d.Key()] = true
			want = append(want, d)
		}
		owned := Owned{Services: ownedOf(mine)}
		want[1].Weight = 7
		want[0] = dst(netip.MustParseAddr("10.9.1.1"), 80, ipvs.Route, 1) // replaces the first
		obs := Observed{Services: map[ipvs.ServiceKey]ObservedService{s.Key(): {ServiceExtended: ipvs.ServiceExtended{Service: s}, Destinations: have}}}
		d := Desired{Services: []DesiredService{{Service: s, Destinations: want}}}
		var got []string
		for _, c := range plan(d, obs, owned) {
			got = append(got, c.String())
		}
		wantChanges := []string{
			"add destination 10.9.1.1:80 to tcp 10.0.0.100:80: route, weight 1",
			"edit destination 10.9.0.2:80 of tcp 10.0.0.100:80: weight 1 -> 7",
			"delete destination 10.9.0.1:80 from tcp 10.0.0.100:80",
		}
		if diff := cmp.Diff(wantChanges, got); diff != "" {
			t.Fatalf("%d destinations (-want +got):\n%s", n, diff)
		}
	}
}
