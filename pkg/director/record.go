package director

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"net/netip"
	"slices"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/state"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
)

// recordVersion is the state record's format version.
const recordVersion = 1

// record is the director's state file: what the last start applied and
// everything lvs-rs created or changed.
type record struct {
	Version   int             `json:"version"`
	Applied   *config.Config  `json:"applied,omitempty"`
	Addresses []recordAddr    `json:"addresses,omitempty"`
	Sysctls   []sysctl.Record `json:"sysctls,omitempty"`
	Services  []recordService `json:"services,omitempty"`
}

// recordAddr is an address lvs-rs bound.
type recordAddr struct {
	Dev    string       `json:"dev"`
	Prefix netip.Prefix `json:"prefix"`
	Label  string       `json:"label,omitempty"`
}

// recordService is a virtual service lvs-rs created, with the
// destinations in it that are lvs-rs's.
type recordService struct {
	ipvs.ServiceKey
	Destinations []ipvs.DestinationKey `json:"destinations,omitempty"`
}

// owned returns the record as an Owned set.
func (r record) owned() Owned {
	o := Owned{Services: map[ipvs.ServiceKey]map[ipvs.DestinationKey]bool{}, Sysctls: slices.Clone(r.Sysctls)}
	for _, a := range r.Addresses {
		o.Addrs = append(o.Addrs, vip.Addr{Dev: a.Dev, Prefix: a.Prefix, Label: a.Label})
	}
	for _, s := range r.Services {
		ds := map[ipvs.DestinationKey]bool{}
		for _, d := range s.Destinations {
			ds[d] = true
		}
		o.Services[s.ServiceKey] = ds
	}
	return o
}

// recordOf renders o (sorted, so equal sets give equal files).
func recordOf(applied *config.Config, o Owned) record {
	r := record{Version: recordVersion, Applied: applied, Sysctls: slices.Clone(o.Sysctls)}
	for _, a := range o.Addrs {
		r.Addresses = append(r.Addresses, recordAddr{Dev: a.Dev, Prefix: a.Prefix, Label: a.Label})
	}
	slices.SortFunc(r.Addresses, func(a, b recordAddr) int {
		return cmp.Or(cmp.Compare(a.Dev, b.Dev), a.Prefix.Addr().Compare(b.Prefix.Addr()))
	})
	slices.SortFunc(r.Sysctls, func(a, b sysctl.Record) int { return cmp.Compare(a.Key, b.Key) })
	for k, ds := range o.Services {
		rs := recordService{ServiceKey: k}
		for d := range ds {
			rs.Destinations = append(rs.Destinations, d)
		}
		slices.SortFunc(rs.Destinations, func(a, b ipvs.DestinationKey) int {
			return cmp.Or(a.Address.Compare(b.Address), cmp.Compare(a.Port, b.Port))
		})
		r.Services = append(r.Services, rs)
	}
	slices.SortFunc(r.Services, func(a, b recordService) int { return compareKeys(a.ServiceKey, b.ServiceKey) })
	return r
}

// empty reports whether o holds nothing.
func (o Owned) empty() bool { return len(o.Services) == 0 && len(o.Addrs) == 0 && len(o.Sysctls) == 0 }

// clone deep-copies o.
func (o Owned) clone() Owned {
	c := Owned{Services: map[ipvs.ServiceKey]map[ipvs.DestinationKey]bool{}, Addrs: slices.Clone(o.Addrs), Sysctls: slices.Clone(o.Sysctls)}
	for k, ds := range o.Services {
		c.Services[k] = map[ipvs.DestinationKey]bool{}
		for d := range ds {
			c.Services[k][d] = true
		}
	}
	return c
}

func loadRecord(s state.Store) (record, bool, error) {
	var r record
	ok, err := s.Load(Role, &r)
	if err != nil || !ok {
		return record{}, ok, err
	}
	if r.Version != recordVersion {
		return record{}, false, errors.New("director: state record has an unknown format version")
	}
	return r, true, nil
}

// intents returns o plus everything changes will create: the record
// written before any change, so that a crash midway leaves no orphan.
// Deleting what does not exist is success, so over-recording is harmless.
func intents(o Owned, changes []Change) Owned {
	n := o.clone()
	for _, c := range changes {
		n.take(c)
	}
	return n
}

// take records what a successful creating change made lvs-rs's.
func (o *Owned) take(c Change) {
	switch c.Kind {
	case SetSysctl:
		o.Sysctls = slices.DeleteFunc(o.Sysctls, func(r sysctl.Record) bool { return r.Key == c.Sysctl.Key })
		o.Sysctls = append(o.Sysctls, c.Sysctl)
	case Bind:
		o.Addrs = slices.DeleteFunc(o.Addrs, func(a vip.Addr) bool { return keyOf(a) == keyOf(c.Addr) })
		o.Addrs = append(o.Addrs, c.Addr)
	case AddService:
		if o.Services[c.Service.Key()] == nil {
			o.Services[c.Service.Key()] = map[ipvs.DestinationKey]bool{}
		}
	case AddDestination, EditDestination:
		if ds := o.Services[c.Service.Key()]; ds != nil {
			ds[c.Destination.Key()] = true
		}
	}
}

// drop forgets what a successful removing change removed.
func (o *Owned) drop(c Change) {
	switch c.Kind {
	case Unbind:
		o.Addrs = slices.DeleteFunc(o.Addrs, func(a vip.Addr) bool { return keyOf(a) == keyOf(c.Addr) })
	case DeleteService, ReleaseService:
		delete(o.Services, c.Service.Key())
	case DeleteDestination:
		delete(o.Services[c.Service.Key()], c.Destination.Key())
	case RestoreSysctl, LeaveSysctl:
		o.Sysctls = slices.DeleteFunc(o.Sysctls, func(r sysctl.Record) bool { return r.Key == c.Sysctl.Key })
	}
}

// settle returns what lvs-rs owns after changes ran with results errs
// (nil = done): what it owned that still exists, plus what it created,
// minus what it removed. Destinations of its services that the config
// names are its own from now on (adopted), edited or not.
func settle(o Owned, obs Observed, d Desired, changes []Change, errs []error) Owned {
	n := Owned{Services: map[ipvs.ServiceKey]map[ipvs.DestinationKey]bool{}}
	present := map[addrKey]bool{}
	for _, a := range obs.Addrs {
		present[keyOf(a)] = true
	}
	for _, a := range o.Addrs {
		if present[keyOf(a)] {
			n.Addrs = append(n.Addrs, a)
		}
	}
	for k, ds := range o.Services {
		cur, exists := obs.Services[k]
		if !exists {
			continue
		}
		nd := map[ipvs.DestinationKey]bool{}
		for _, dx := range cur.Destinations {
			if ds[dx.Key()] {
				nd[dx.Key()] = true
			}
		}
		n.Services[k] = nd
	}
	restoreFailed := map[string]bool{}
	for i, c := range changes {
		if errs[i] != nil {
			if c.Kind == RestoreSysctl {
				restoreFailed[c.Sysctl.Key] = true
			}
			continue
		}
		n.take(c)
		n.drop(c)
	}
	// Sysctls: keep a record while the value is wanted or its
	// restoration failed; a done restoration was dropped above.
	ipf := sysctl.IPForward().String()
	for _, r := range o.Sysctls {
		if _, kept := ownedSysctl(n, r.Key); kept {
			continue
		}
		if r.Key != ipf || d.IPForward || restoreFailed[r.Key] {
			n.Sysctls = append(n.Sysctls, r)
		}
	}
	// Adopt: a destination of a service lvs-rs owns (before and after)
	// that the config names.
	for _, ds := range d.Services {
		k := ds.Service.Key()
		nd, mine := n.Services[k]
		if !mine {
			continue
		}
		present := map[ipvs.DestinationKey]bool{}
		for _, dx := range obs.Services[k].Destinations {
			present[dx.Key()] = true
		}
		for _, dst := range ds.Destinations {
			if present[dst.Key()] {
				nd[dst.Key()] = true
			}
		}
	}
	return n
}

// sameRecord reports whether a and b would be saved identically.
func sameRecord(a, b record) bool {
	ja, erra := json.Marshal(a)
	jb, errb := json.Marshal(b)
	return erra == nil && errb == nil && bytes.Equal(ja, jb)
}
