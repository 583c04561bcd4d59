package director

import (
	"net/netip"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/nftmark"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

// Desired is the director's desired state: what the kernel should hold,
// in kernel values, independent of the file format. DesiredFrom builds it
// from a config; the long-running director overrides it (weights from
// health checks, drains, the sorry server) before planning. It is stored
// in the state record as JSON.
type Desired struct {
	// Interface is the device the VIPs are bound on.
	Interface string `json:"interface"`
	// Sysctls are the kernel parameters to set, sorted by key, one per
	// key: net/ipv4/ip_forward, net/ipv4/conf/{all,IFACE}/send_redirects,
	// net/ipv4/vs/NAME, net/ipv4/conf/IFACE/accept_local,
	// net/ipv6/conf/all/forwarding (an IPv6 nat service; the plan then
	// keeps router advertisements working, see forwarding6.go). Every key
	// is one pkg/sysctl manages. lvs-rs records the value it found before
	// its first write and restores it when the key is no longer wanted
	// (or on stop) while the key still holds what lvs-rs wrote. Add with
	// Want, or AcceptLocal.
	Sysctls []SysctlWant `json:"sysctls,omitempty"`
	// Timeouts are IPVS's connection timeouts (host-global, ipvsadm
	// --set), whole seconds (in JSON, nanoseconds as time.Duration); a
	// zero field leaves the kernel's value alone. Prior values are
	// recorded and restored like sysctls.
	Timeouts ipvs.Timeouts `json:"timeouts,omitzero"`
	// Sync are the connection sync daemons to run: at most one master and
	// one backup. lvs-rs stops on stop only a daemon it started.
	Sync []ipvs.Daemon `json:"sync,omitempty"`
	// VIPs are bound on Interface as /32 or /128; unique, in config order.
	VIPs []netip.Addr `json:"vips,omitempty"`
	// Services are the virtual services, in config order.
	Services []DesiredService `json:"services,omitempty"`
	// Announce, when set, keeps a route per servable VIP in a routing
	// table for a BGP daemon (see Announce for the VIPs' contract).
	Announce *Announce `json:"announce,omitempty"`
	// Marks are the nftables rules that mark the packets of fwmark
	// services (table inet lvs_rs); none removes the table.
	Marks []nftmark.Rule `json:"marks,omitempty"`
}

// SysctlWant is one kernel parameter the director wants, with its value.
type SysctlWant struct {
	Key   string `json:"key"` // sysctl.Key.String(), "net/ipv4/ip_forward"
	Value string `json:"value"`
}

// DesiredService is one virtual service and its real servers.
type DesiredService struct {
	Service ipvs.Service `json:"service"`
	// Destinations have unique keys, in config order: the order they are
	// added to the kernel, so that every director given the same file
	// builds the same list (the kernel puts a new destination at the head
	// of the service's list, and mh fills its lookup table walking that
	// list). A real server taken out of rotation is quiesced (weight 0),
	// never deleted and re-added, which would move it in the list.
	Destinations []ipvs.Destination `json:"destinations,omitempty"`
	// LastWeights are, for an mh service, the weights its real servers
	// at weight 0 (failed, not checked yet, drained) are added with when
	// the kernel does not have them: the plan adds such a real server at
	// its LastWeight and sets it to 0 right after, in the same batch. The
	// kernel's mh scheduler builds its lookup table from each real
	// server's last weight above 0 (__ip_vs_update_dest keeps it on an
	// edit to 0, and sets it to 0 on an addition at 0), leaving out one
	// added at 0: without this, a director started while a real server
	// is down would build another table than one that saw it up, and
	// flows moving between them would change real server. One entry per
	// real server at most, in Destinations' order; a real server without
	// one (or with Weight above 0) is added at Weight.
	LastWeights []LastWeight `json:"last_weights,omitempty"`
}

// LastWeight is the weight the real server Address:Port of a service is
// added with while its desired weight is 0 (see DesiredService.LastWeights).
type LastWeight struct {
	Address netip.Addr `json:"address"`
	Port    uint16     `json:"port"`
	Weight  uint32     `json:"weight"`
}

// Key is the key of the real server w is of.
func (w *LastWeight) Key() ipvs.DestinationKey {
	return ipvs.DestinationKey{Address: w.Address.Unmap(), Port: w.Port}
}

// lastWeight returns the weight the destination dst (at index j of
// ds.Destinations) is added with: its own, or under mh for one at weight
// 0 its LastWeight above 0, with true when it is to be set to 0 right
// after. at is a cursor into ds.LastWeights (they usually follow
// Destinations' order), kept between calls for one service.
func (ds *DesiredService) lastWeight(dst *ipvs.Destination, at *int) (uint32, bool) {
	if dst.Weight != 0 || len(ds.LastWeights) == 0 || ds.Service.Scheduler != "mh" {
		return dst.Weight, false
	}
	k := dst.Key()
	n := len(ds.LastWeights)
	for i := range n { // from the cursor on, round: a miss costs one sweep
		x := (*at + i) % n
		if ds.LastWeights[x].Key() == k {
			*at = x + 1
			w := ds.LastWeights[x].Weight
			return w, w != 0
		}
	}
	return 0, false
}

// DesiredFrom resolves cfg into kernel values; nil asks for nothing (stop).
func DesiredFrom(cfg *config.Config) Desired {
	var d Desired
	if cfg == nil {
		return d
	}
	d.Interface = cfg.Director.Interface
	d.settingsFrom(cfg.Director)
	if natIPv6(cfg) {
		d.Want(sysctl.IPv6Conf("all", "forwarding"), "1")
	}
	d.Announce, d.Marks = announceFrom(cfg), marksFrom(cfg)
	var seenVIP seenSet[netip.Addr]
	seenSvc := seenSet[ipvs.ServiceKey]{hint: len(cfg.VirtualServers)}
	var seenDest seenSet[ipvs.DestinationKey]
	d.Services = make([]DesiredService, 0, len(cfg.VirtualServers))
	// One array for every service's destinations: one allocation, not
	// one per service.
	all := make([]ipvs.Destination, 0, realServers(cfg))
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		vip := vs.VIP.Unmap()
		if seenVIP.add(vip) {
			d.VIPs = append(d.VIPs, vip)
		}
		s := serviceFrom(vs)
		if !seenSvc.add(s.Key()) {
			continue // the config loader refuses duplicates; first wins here
		}
		start := len(all)
		seenDest.reset(len(vs.RealServers))
		for j := range vs.RealServers {
			// Resolved in place, in the array: a returned Destination is
			// copied twice more (see the package doc on copies).
			all = append(all, ipvs.Destination{})
			dst := &all[len(all)-1]
			resolveDestination(dst, vs, &vs.RealServers[j])
			if !seenDest.add(dst.Key()) {
				all = all[:len(all)-1]
			}
		}
		ds := DesiredService{Service: s}
		if len(all) > start {
			ds.Destinations = all[start:len(all):len(all)]
		}
		d.Services = append(d.Services, ds)
	}
	if len(d.Services) == 0 {
		d.Services = nil
	}
	return d
}

// realServers counts the real servers of cfg.
func realServers(cfg *config.Config) int {
	n := 0
	for i := range cfg.VirtualServers {
		n += len(cfg.VirtualServers[i].RealServers)
	}
	return n
}

// serviceFrom maps a virtual server onto an IPVS service.
func serviceFrom(vs *config.VirtualServer) ipvs.Service {
	vip := vs.VIP.Unmap()
	fam := ipvs.FamilyOf(vip)
	full := vip.BitLen()
	s := ipvs.Service{Family: fam, Scheduler: vs.Scheduler, Netmask: full, Flags: schedulerFlagsOf(vs.SchedulerFlags)}
	if s.Scheduler == "" {
		s.Scheduler = "wlc" // ipvsadm's default, as the config's
	}
	if vs.FWMark != 0 {
		s.FWMark = vs.FWMark
	} else {
		s.Protocol, s.Address, s.Port = protocolOf(vs.Protocol), vip, vs.Port
	}
	if vs.Persistence > 0 {
		s.Flags, s.Timeout = s.Flags|ipvs.FlagPersistent, vs.Persistence
		// 0 is "absent" in a hand-built Config: a /0 mask (one real
		// server for every client) is not offered.
		if vs.PersistenceNetmask > 0 && vs.PersistenceNetmask <= full {
			s.Netmask = vs.PersistenceNetmask
		}
	}
	return s
}

// resolveDestination maps a real server onto the IPVS destination d,
// which holds the zero value.
func resolveDestination(d *ipvs.Destination, vs *config.VirtualServer, rs *config.RealServer) {
	addr := rs.Address.Unmap()
	mode := rs.Mode
	if mode == "" {
		mode = vs.Mode
	}
	port := rs.Port
	if port == 0 {
		port = vs.Port
	}
	w := rs.Weight
	if w < 0 {
		w = 0
	}
	d.Family, d.Address, d.Port, d.Forward, d.Weight = ipvs.FamilyOf(addr), addr, port, ForwardOf(mode), uint32(w)
	d.UpperThreshold, d.LowerThreshold = rs.UpperThreshold, rs.LowerThreshold
	if d.Forward == ipvs.Tunnel {
		d.TunnelType, d.TunnelPort, d.TunnelFlags = tunnelOf(rs.Tunnel)
	}
}

func protocolOf(p config.Protocol) ipvs.Protocol {
	switch p {
	case config.UDP:
		return ipvs.UDP
	case config.SCTP:
		return ipvs.SCTP
	}
	return ipvs.TCP
}

// ForwardOf maps a forwarding mode onto IPVS's forwarding method (dr:
// Route, tun: Tunnel, nat: Masq).
func ForwardOf(m config.Mode) ipvs.ForwardMethod {
	switch m {
	case config.ModeNAT:
		return ipvs.Masq
	case config.ModeTUN:
		return ipvs.Tunnel
	}
	return ipvs.Route
}
