package director

import (
	"slices"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// scope narrows a pass to the virtual services of Options.Services; the
// zero scope is every service.
type scope struct {
	keys map[ipvs.ServiceKey]bool // nil: every service
	list []ipvs.ServiceKey        // keys, sorted; nil: every service
}

func scopeOf(keys []ipvs.ServiceKey) scope {
	if len(keys) == 0 {
		return scope{}
	}
	s := scope{keys: make(map[ipvs.ServiceKey]bool, len(keys))}
	for _, k := range keys {
		s.keys[k] = true
	}
	for k := range s.keys {
		s.list = append(s.list, k)
	}
	slices.SortFunc(s.list, compareKeys)
	return s
}

// want is d with only the services in scope (d itself for every service).
func (s scope) want(d Desired) Desired {
	if s.keys == nil {
		return d
	}
	n := d
	n.Services = nil
	for _, ds := range d.Services {
		if s.keys[ds.Service.Key()] {
			n.Services = append(n.Services, ds)
		}
	}
	return n
}

// view is o with only the services in scope: what a pass may read, plan
// and change. Its destination sets are o's own.
func (s scope) view(o Owned) Owned {
	if s.keys == nil {
		return o
	}
	v := o
	v.Services = make(OwnedServices, 0, len(s.keys))
	for _, x := range o.Services {
		if s.keys[x.ServiceKey] {
			v.Services = append(v.Services, x)
		}
	}
	return v
}

// merge is what lvs-rs owns after a pass that settled part: part's
// addresses, sysctls and services in scope, and full's services outside
// it, which the pass did not look at.
func (s scope) merge(full, part Owned) Owned {
	if s.keys == nil {
		return part
	}
	n := part
	n.Services = slices.Clone(part.Services)
	for _, x := range full.Services {
		if !s.keys[x.ServiceKey] {
			n.Services = append(n.Services, x)
		}
	}
	slices.SortFunc(n.Services, func(a, b OwnedService) int { return compareKeys(a.ServiceKey, b.ServiceKey) })
	return n
}
