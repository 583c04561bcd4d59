package config

import (
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"

	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

// Bounds of the director section.
const (
	minReconcileInterval = time.Second
	maxReconcileInterval = 24 * time.Hour
	maxSyncMaxLen        = 65507 // the largest UDP payload
)

// director2 validates the director settings beyond interface and
// ip_forward; nat tells whether a real server (or sorry server) of an
// IPv4 service uses nat.
func (v *validator) director2(r rawDirector2, d *Director, nat bool) {
	d.ReconcileInterval = DefaultReconcileInterval
	if r.reconcile != nil {
		if iv, ok := v.duration(r.reconcile, minReconcileInterval, maxReconcileInterval, false); ok {
			d.ReconcileInterval = iv
		}
	}
	if r.metrics != nil && r.metrics.ok {
		d.Metrics = v.metrics(r.metrics)
	}
	d.DisableRedirects = nat
	if r.sendRedirects != nil && r.sendRedirects.ok {
		d.DisableRedirects = !r.sendRedirects.b
	}
	for _, s := range r.ipvsSysctls {
		p, _ := sysctl.LookupIPVS(s.name)
		if n, ok := v.intRange(s.v, p.Min, p.Max, ""); ok {
			d.IPVSSysctls = append(d.IPVSSysctls, IPVSSysctl{Name: strings.Clone(s.name), Value: n})
		}
	}
	if t := r.timeouts; t != nil {
		d.Timeouts.TCP, _ = v.duration(t.tcp, time.Second, MaxIPVSTimeout, true)
		d.Timeouts.TCPFin, _ = v.duration(t.tcpFin, time.Second, MaxIPVSTimeout, true)
		d.Timeouts.UDP, _ = v.duration(t.udp, time.Second, MaxIPVSTimeout, true)
	}
	if r.sync != nil {
		d.Sync = v.sync(r.sync)
	}
	if r.announce != nil {
		d.Announce = v.announce(r.announce)
	}
}

// metrics checks the metrics endpoint: ADDRESS:PORT.
func (v *validator) metrics(s *rawString) netip.AddrPort {
	ap, err := netip.ParseAddrPort(s.s)
	switch {
	case err != nil:
		v.ps.add(s.pos, fmt.Sprintf("%s is not an ADDRESS:PORT such as 127.0.0.1:9597 or [::1]:9597", quote(s.s)))
	case ap.Addr().Zone() != "" || ap.Addr().Is4In6() || ap.Addr().IsMulticast():
		v.ps.add(s.pos, fmt.Sprintf("%s: the address must be a plain unicast address (0.0.0.0 or [::] for every address)", quote(s.s)))
	case ap.Port() == 0:
		v.ps.add(s.pos, fmt.Sprintf("%s: the port must be 1..65535", quote(s.s)))
	default:
		return ap
	}
	return netip.AddrPort{}
}

// sync checks director.sync.
func (v *validator) sync(r *rawSync) *Sync {
	s := &Sync{Group: DefaultSyncGroup, Port: DefaultSyncPort, TTL: DefaultSyncTTL}
	switch {
	case r.iface == nil:
		v.missing(r.at, "interface", "the sync daemon sends and receives on it")
	case r.iface.ok:
		if problem := checkInterface(r.iface.s); problem != "" {
			v.ps.add(r.iface.pos, problem)
		}
		s.Interface = strings.Clone(r.iface.s)
	}
	if r.state == nil {
		v.missing(r.at, "state", "master, backup or both")
	} else {
		s.State, _ = oneOf(v, r.state, []SyncState{SyncMaster, SyncBackup, SyncBoth}, "sync state")
	}
	if r.syncid != nil {
		n, _ := v.intRange(r.syncid, 0, math.MaxUint8, "")
		s.SyncID = uint8(n)
	}
	if r.maxlen != nil {
		n, _ := v.intRange(r.maxlen, 1, maxSyncMaxLen, " bytes")
		s.MaxLen = uint16(n)
	}
	if r.group != nil && r.group.ok {
		s.Group = v.syncGroup(r.group)
	}
	if r.port != nil {
		if n, ok := v.intRange(r.port, 1, math.MaxUint16, ""); ok {
			s.Port = uint16(n)
		}
	}
	if r.ttl != nil {
		if n, ok := v.intRange(r.ttl, 1, math.MaxUint8, ""); ok {
			s.TTL = uint8(n)
		}
	}
	return s
}

// syncGroup checks the sync daemon's multicast group.
func (v *validator) syncGroup(s *rawString) netip.Addr {
	a, err := netip.ParseAddr(s.s)
	switch {
	case err != nil:
		v.ps.add(s.pos, fmt.Sprintf("%s is not an IP address", quote(s.s)))
	case a.Zone() != "" || a.Is4In6() || !a.IsMulticast():
		v.ps.add(s.pos, fmt.Sprintf("%s is not a multicast address (such as 224.0.0.81 or ff02::81)", quote(s.s)))
	default:
		return a
	}
	return DefaultSyncGroup
}

// sharedRouteProtocols are the route protocols other programs give routes
// they add without being asked: announce routes tagged so would be
// confused with theirs, and theirs, added by hand to the announce table,
// taken for lvs-rs's and deleted.
var sharedRouteProtocols = map[int64]string{
	3: "boot, the protocol `ip route add` gives every route by default",
	4: "static, the protocol of routes that systemd-networkd, NetworkManager and `ip route add proto static` add",
}

// announce checks director.announce.
func (v *validator) announce(r *rawAnnounce) *Announce {
	a := &Announce{Protocol: DefaultAnnounceProtocol}
	switch {
	case r.table == nil:
		v.missing(r.at, "table", "the routing table the BGP daemon learns the VIP routes from")
	case r.table.ok:
		n, ok := v.intRange(r.table, 1, math.MaxUint32, "")
		if ok && n >= 253 && n <= 255 {
			v.ps.add(r.table.pos, fmt.Sprintf("%d is a reserved table (253 default, 254 main, 255 local); pick a table of its own", n))
		}
		a.Table = uint32(n)
	}
	if r.protocol != nil {
		p := r.protocol
		if why, shared := sharedRouteProtocols[p.n]; shared && p.ok && !p.overflow {
			v.ps.add(p.pos, fmt.Sprintf("%d is %s; lvs-rs knows its routes by their protocol and deletes them by it, so pick one no other program uses (default 250)", p.n, why))
		} else if n, ok := v.intRange(p, 5, math.MaxUint8, " (0..2 are the kernel's own; 3, boot, and 4, static, are what other programs give their routes)"); ok {
			a.Protocol = uint8(n)
		}
	}
	return a
}
