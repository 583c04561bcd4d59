package director

import (
	"context"
	"net/netip"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/state"
)

// Status compares the kernel with desired (nil: the desired state of the
// last start, from the state record) and reports lvs-rs's VIPs,
// sysctls, services and real servers with their counters, plus each
// difference. Without a state record it reports Applied false and reads
// nothing else. A kernel without IPVS is an error wrapping ErrNoIPVS.
func Status(ctx context.Context, desired *config.Config, o Options) (*Report, error) {
	rec, found, err := loadRecord(state.Store{Dir: o.StateDir})
	if err != nil {
		return nil, err
	}
	if !found {
		return &Report{Drift: []string{}, VIPs: []VIPRow{}, Sysctls: []SysctlRow{}, Timeouts: []TimeoutRow{}, Sync: []SyncRow{},
			Announce: []RouteRow{}, Marks: []MarkRow{}, Services: []ServiceRow{}}, nil
	}
	var d Desired
	if desired != nil {
		d = DesiredFrom(desired)
	} else if recorded, err := rec.desired(); err != nil {
		return nil, state.Store{Dir: o.StateDir}.Corrupt(Role, err)
	} else if recorded != nil {
		d = *recorded
	}
	owned := rec.owned()
	k, info, closeK, err := openKernel(ctx, o, false)
	if closeK != nil {
		defer closeK()
	}
	if err != nil {
		return nil, err
	}
	obs, err := observeCounters(ctx, k, d, owned)
	if err != nil {
		return nil, err
	}
	return buildReport(info, d, obs, owned, plan(d, obs, owned), conflicts(d, obs, owned)), nil
}

// buildReport assembles the report. It is pure.
func buildReport(info ipvs.Info, d Desired, obs Observed, owned Owned, changes []Change, conflicts []ipvs.ServiceKey) *Report {
	r := &Report{
		Applied: true, Interface: d.Interface, IPVSVersion: info.Version.String(), ConnTableSize: info.ConnTableSize,
		Drift: []string{}, VIPs: []VIPRow{}, Sysctls: []SysctlRow{}, Timeouts: []TimeoutRow{}, Sync: []SyncRow{},
		Services: []ServiceRow{},
	}
	for _, k := range conflicts {
		r.Drift = append(r.Drift, "service "+k.String()+" exists but was not created by lvs-rs (start refuses to take it over)")
	}
	for _, c := range changes {
		if c.Quiesces() {
			continue // part of the addition before it, which says the real server is missing
		}
		r.Drift = append(r.Drift, c.Drift())
	}
	// VIPs: the configured ones, then lvs-rs's that are not.
	bound := map[addrKey]bool{}
	for _, a := range owned.Addrs {
		bound[keyOf(a)] = true
	}
	labels := map[addrKey]string{}
	for _, a := range obs.Addrs {
		labels[keyOf(a)] = a.Label
	}
	seen := map[addrKey]bool{}
	row := func(dev string, v netip.Addr) {
		k := addrKey{dev, v}
		if seen[k] {
			return
		}
		seen[k] = true
		l, present := labels[k]
		r.VIPs = append(r.VIPs, VIPRow{Address: v, Dev: dev, Label: l, Present: present, Owned: bound[k]})
	}
	for _, v := range d.VIPs {
		row(d.Interface, v)
	}
	for _, a := range owned.Addrs {
		row(a.Dev, hostAddr(a))
	}
	r.Sysctls, r.Timeouts, r.Sync = settingRows(d, obs, owned)
	r.Announce, r.Marks = networkRows(d, obs)
	// Services: the configured ones lvs-rs owns or would create, then
	// lvs-rs's that are no longer configured. Foreign ones never appear.
	r.Services = make([]ServiceRow, 0, len(d.Services))
	listed := make([]bool, len(owned.Services)) // owned services listed, by index
	ownedAt := ownedCursor{s: owned.Services}
	for _, ds := range d.Services {
		k := ds.Service.Key()
		cur, exists := obs.Services[k]
		i, mine := ownedAt.find(k)
		var mineDests ownedDests
		if mine {
			listed[i], mineDests = true, owned.Services[i].Destinations
		} else if exists {
			continue
		}
		r.Services = append(r.Services, serviceRow(ds.Service, ds.Destinations, cur, exists, mineDests))
	}
	for i, s := range owned.Services { // in key order
		if cur, exists := obs.Services[s.ServiceKey]; exists && !listed[i] {
			r.Services = append(r.Services, serviceRow(cur.Service, nil, cur, true, s.Destinations))
		}
	}
	return r
}

// serviceRow reports one service: the kernel's values when it exists, the
// wanted ones otherwise; its wanted destinations and lvs-rs's others.
func serviceRow(want ipvs.Service, dests []ipvs.Destination, cur ObservedService, exists bool, mineDests ownedDests) ServiceRow {
	s := want
	if exists {
		s = cur.Service
	}
	sr := ServiceRow{
		ServiceKey: s.Key(), Scheduler: s.Scheduler, Flags: flagsString(s),
		Present: exists, Stats: cur.Stats,
	}
	if s.Flags&ipvs.FlagPersistent != 0 {
		sr.Persistence, sr.PersistenceNetmask = s.Timeout, s.Netmask
	}
	sr.Destinations = make([]DestinationRow, 0, max(len(dests), len(cur.Destinations)))
	var have, listed keyIndex // on the stack: the usual service's keys fit in
	for _, dx := range cur.Destinations {
		have.add(dx.Key())
	}
	add := func(d ipvs.Destination) {
		k := d.Key()
		if _, dup := listed.find(k); dup {
			return
		}
		listed.add(k)
		var dx ipvs.DestinationExtended
		i, present := have.find(k)
		if present {
			d = cur.Destinations[i]
			if i < len(cur.Counters) {
				dx = cur.Counters[i]
			}
		}
		sr.Destinations = append(sr.Destinations, DestinationRow{
			Address: d.Address, Port: d.Port, Forward: d.Forward, Weight: d.Weight, Present: present,
			UpperThreshold: d.UpperThreshold, LowerThreshold: d.LowerThreshold, Tunnel: tunnelString(d),
			ActiveConns: dx.ActiveConnections, InactiveConns: dx.InactiveConnections, PersistentConns: dx.PersistentConnections,
			Stats: dx.Stats,
		})
	}
	for _, d := range dests {
		add(d)
	}
	for d := range sortedDests(cur.Destinations) {
		if mineDests.has(d.Key()) {
			add(d)
		}
	}
	return sr
}

// keyIndex finds destinations by key in the order they were added (the
// last of equal keys wins): a linear scan of an array held in place while
// they are few, as a service's real servers usually are (no allocation),
// a map beyond.
type keyIndex struct {
	n   int // keys added
	few [keyIndexLinear]ipvs.DestinationKey
	m   map[ipvs.DestinationKey]int // nil while n <= keyIndexLinear
}

// keyIndexLinear is the most keys a keyIndex scans.
const keyIndexLinear = 16

// add appends k.
func (x *keyIndex) add(k ipvs.DestinationKey) {
	switch {
	case x.m != nil:
	case x.n < keyIndexLinear:
		x.few[x.n] = k
		x.n++
		return
	default:
		x.m = make(map[ipvs.DestinationKey]int, 4*keyIndexLinear)
		for i, k := range x.few {
			x.m[k] = i
		}
	}
	x.m[k] = x.n
	x.n++
}

// find returns the index of the last k added.
func (x *keyIndex) find(k ipvs.DestinationKey) (int, bool) {
	if x.m != nil {
		i, ok := x.m[k]
		return i, ok
	}
	for i := x.n - 1; i >= 0; i-- {
		if x.few[i] == k {
			return i, true
		}
	}
	return 0, false
}
