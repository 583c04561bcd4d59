package reconcile

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/control"
	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/health"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// Setup is what the loop derives from one accepted configuration: the
// configuration's desired state, the failure handling of each service and
// the health checks to run.
type Setup struct {
	// Base is the configuration's desired state (weights as written).
	Base director.Desired
	// Policies are the services' failure handling.
	Policies map[ipvs.ServiceKey]Policy
	// Targets are the health checks, one per checked real server.
	Targets []health.Target
	// Members maps a target's ID to its real server.
	Members map[string]Member
	// Checked lists each service's targets, by ID.
	Checked map[ipvs.ServiceKey][]string
	// Probes are the firewall-mark services of the checks through the
	// VIP (via: vip), one per real server, VIP and forwarding checked so,
	// holding only that real server (see probeMarks).
	Probes []director.DesiredService
	// Interval is director.reconcile_interval.
	Interval time.Duration
}

// NewSetup builds the loop's setup from a validated configuration.
func NewSetup(cfg *config.Config) (Setup, error) {
	s := Setup{
		Base:     director.DesiredFrom(cfg),
		Policies: map[ipvs.ServiceKey]Policy{},
		Members:  map[string]Member{},
		Checked:  map[ipvs.ServiceKey][]string{},
		Interval: cfg.Director.ReconcileInterval,
	}
	if s.Interval <= 0 {
		s.Interval = config.DefaultReconcileInterval
	}
	if len(s.Base.Services) != len(cfg.VirtualServers) {
		return Setup{}, fmt.Errorf("reconcile: %s: duplicate virtual servers", cfg.Source)
	}
	marks, err := probeMarksOf(cfg)
	if err != nil {
		return Setup{}, err
	}
	for i, vs := range cfg.VirtualServers {
		svc := s.Base.Services[i].Service
		k := svc.Key()
		s.Policies[k] = policyOf(vs, svc)
		for _, rs := range vs.RealServers {
			c := vs.CheckFor(rs)
			if c == nil {
				continue
			}
			m := Member{Service: k, Destination: ipvs.DestinationKey{Address: rs.Address.Unmap(), Port: portOf(vs, rs)}}
			t := health.Target{ID: m.String(), Address: m.Destination.Address, Port: m.Destination.Port, Spec: specOf(*c, m.Destination.Address)}
			if _, dup := s.Members[t.ID]; dup {
				continue
			}
			if c.Via == config.ViaVIP {
				if err := s.probe(&t, vs.VIP.Unmap(), destinationOf(s.Base.Services[i], m), marks); err != nil {
					return Setup{}, fmt.Errorf("%s: virtual server %v, real server %s: check.via: %w", cfg.Source, k, rs.Address, err)
				}
			}
			s.Members[t.ID] = m
			s.Checked[k] = append(s.Checked[k], t.ID)
			s.Targets = append(s.Targets, t)
		}
	}
	return s, nil
}

// String names a member as "tcp 10.0.0.100:80 10.0.0.11:80": the target
// ID of its health check and its name in log lines.
func (m Member) String() string { return m.Service.String() + " " + m.Destination.String() }

// portOf is the real server's port as the kernel has it.
func portOf(vs config.VirtualServer, rs config.RealServer) uint16 {
	if rs.Port != 0 {
		return rs.Port
	}
	return vs.Port
}

// policyOf is a service's failure handling.
func policyOf(vs config.VirtualServer, svc ipvs.Service) Policy {
	p := Policy{Remove: vs.OnFailure == config.OnFailureRemove, DrainTimeout: vs.DrainTimeout, SlowStart: vs.SlowStart, VIP: vs.VIP.Unmap()}
	if vs.SorryServer.IsValid() {
		a := vs.SorryServer.Unmap()
		p.Sorry = &ipvs.Destination{Family: ipvs.FamilyOf(a), Address: a, Port: vs.Port, Forward: director.ForwardOf(vs.Mode), Weight: 1}
	}
	return p
}

// selectorOf names a service as the control socket and `lvs-rs drain` do.
func selectorOf(k ipvs.ServiceKey) control.Service {
	if k.FWMark != 0 {
		return control.Service{FWMark: k.FWMark}
	}
	return control.Service{Proto: k.Protocol.String(), VIP: k.Address.Unmap(), Port: k.Port}
}

// specOf turns a resolved configuration check into the checker's Spec.
func specOf(c config.Check, addr netip.Addr) health.Spec {
	sp := health.Spec{
		Type: health.Type(c.Type), Port: c.Port, Via: health.Via(c.Via),
		Interval: c.Interval, Timeout: c.Timeout, Rise: c.Rise, Fall: c.Fall,
		Path: c.Path, Host: c.Host, ExpectBody: c.ExpectBody, Query: c.Query, Command: c.Command,
	}
	var ranges []string
	for _, r := range c.ExpectStatus {
		ranges = append(ranges, strconv.Itoa(r.Lo)+"-"+strconv.Itoa(r.Hi))
	}
	sp.ExpectStatus = strings.Join(ranges, ",")
	if c.Type == config.CheckDNS {
		sp.QueryType = "A"
		if addr.Is6() {
			sp.QueryType = "AAAA"
		}
	}
	return sp
}

// AddProbes adds the probe services of the checks through the VIP to d,
// and, when one has an IPv4 VIP, accept_local on the director, without
// which the answers of the real servers (from the VIP, one of the
// director's own addresses) would be dropped as martians. IPv6 has no
// such check: an IPv6 packet from one of the host's own addresses is
// delivered as any other, so IPv6 probes need no sysctl.
func (s Setup) AddProbes(d *director.Desired) {
	if len(s.Probes) == 0 {
		return
	}
	d.Services = append(slices.Clip(d.Services), s.Probes...)
	if slices.ContainsFunc(s.Probes, func(p director.DesiredService) bool { return p.Service.Family == ipvs.Inet }) {
		d.AcceptLocal()
	}
}

// SetSources sets the source address of every check through the VIP:
// source returns the director's own address of the VIP's family.
func (s Setup) SetSources(source func(v6 bool) (netip.Addr, error)) error {
	for i, t := range s.Targets {
		if t.Spec.Via != health.ThroughVIP {
			continue
		}
		a, err := source(t.VIP.Is6())
		if err != nil {
			return fmt.Errorf("reconcile: check of %s through the VIP: source address: %w", t.ID, err)
		}
		s.Targets[i].Source = a
	}
	return nil
}

// destinationOf is m's destination in ds (every member comes from one).
func destinationOf(ds director.DesiredService, m Member) ipvs.Destination {
	i := slices.IndexFunc(ds.Destinations, func(d ipvs.Destination) bool { return d.Key() == m.Destination })
	return ds.Destinations[i]
}
