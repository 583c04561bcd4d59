package config

import (
	"fmt"
	"net/netip"
	"time"
)

// DefaultPath is the configuration file used when neither --config nor
// LVS_RS_CONFIG names one.
const DefaultPath = "/etc/lvs-rs/lvs-rs.yaml"

// Mode is an LVS forwarding method.
type Mode string

// The forwarding methods lvs-rs supports.
const (
	ModeDR  Mode = "dr"  // direct routing (ipvsadm -g)
	ModeTUN Mode = "tun" // IP-in-IP tunnelling (ipvsadm -i)
	ModeNAT Mode = "nat" // masquerading (ipvsadm -m)
)

// Valid reports whether m is one of the known modes.
func (m Mode) Valid() bool { return m == ModeDR || m == ModeTUN || m == ModeNAT }

// Protocol is the transport protocol of a virtual service.
type Protocol string

// The transport protocols lvs-rs supports.
const (
	TCP  Protocol = "tcp"
	UDP  Protocol = "udp"
	SCTP Protocol = "sctp"
)

// Valid reports whether p is one of the known protocols.
func (p Protocol) Valid() bool { return p == TCP || p == UDP || p == SCTP }

// Schedulers lists every IPVS scheduler lvs-rs accepts, in the kernel's
// module naming (ip_vs_NAME).
var Schedulers = []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh", "fo", "ovf"}

// ValidScheduler reports whether name is one of Schedulers.
func ValidScheduler(name string) bool {
	for _, s := range Schedulers {
		if s == name {
			return true
		}
	}
	return false
}

// Config is the whole-cluster configuration, resolved.
type Config struct {
	// Source is the file the config came from ("" for command-line flags).
	Source         string            `json:"source,omitempty"`
	Director       Director          `json:"director"`
	RealServer     RealServerSection `json:"realserver"`
	VirtualServers []VirtualServer   `json:"virtual_servers,omitempty"`
}

// Director holds the director-only settings.
type Director struct {
	// Interface is where the director binds the VIPs (label IFACE:N).
	Interface string `json:"interface,omitempty"`
	// IPForward is the resolved ip_forward wish: true when set so in the
	// file, or when absent and a real server of an IPv4 service uses nat
	// (the sorry server of an IPv4 nat service counts).
	IPForward bool `json:"ip_forward,omitempty"`
	// ReconcileInterval is how often the long-running director compares
	// the kernel with its desired state and repairs drift.
	// DefaultReconcileInterval when absent; 1s..24h.
	ReconcileInterval time.Duration `json:"reconcile_interval"`
	// Metrics is where the long-running director serves Prometheus
	// /metrics; the zero AddrPort (absent) means no metrics endpoint.
	Metrics netip.AddrPort `json:"metrics,omitzero"`
	// DisableRedirects is the resolved send_redirects wish: true when the
	// file says send_redirects: false, or when send_redirects is absent
	// and a real server (or sorry server) of an IPv4 service uses nat. Then
	// net/ipv4/conf/all/send_redirects and conf/INTERFACE/send_redirects
	// are set to 0 (and restored on stop). false leaves them alone.
	DisableRedirects bool `json:"disable_redirects,omitempty"`
	// IPVSSysctls are the net/ipv4/vs parameters to set, sorted by name;
	// each name is one of sysctl.IPVSParams and its value in its range.
	IPVSSysctls []IPVSSysctl `json:"ipvs_sysctls,omitempty"`
	// Timeouts are IPVS's connection timeouts (ipvsadm --set); a zero
	// field leaves the kernel's value alone.
	Timeouts Timeouts `json:"timeouts,omitzero"`
	// Sync runs the kernel's connection sync daemon; nil means off.
	Sync *Sync `json:"sync,omitempty"`
	// Announce keeps routes to the VIPs that have a live real server in a
	// routing table, for a BGP daemon; nil means off.
	Announce *Announce `json:"announce,omitempty"`
}

// RealServerSection holds the real-server-only settings.
type RealServerSection struct {
	// Gateways are the director's addresses that nat real servers route
	// through, at most one per family, the IPv4 one first; none means
	// "leave routing alone". A real server routes through the gateway of
	// each family it serves nat VIPs of. A link-local IPv6 gateway
	// carries the interface it is reached through as its zone
	// (fe80::1%eth0); no other has a zone.
	Gateways []netip.Addr `json:"gateways,omitempty"`
}

// ServiceKey identifies a virtual service the way the kernel does:
// either (protocol, VIP, port) or (family, fwmark). It is comparable.
type ServiceKey struct {
	Protocol Protocol   // empty for fwmark services
	VIP      netip.Addr // for fwmark services the family's unspecified address (see VirtualServer.Key)
	Port     uint16
	FWMark   uint32 // non-zero for a firewall-mark service
}

// String renders the key the way ipvsadm names a service: "tcp 10.0.0.1:80",
// "tcp [2001:db8::1]:80" or "fwmark 10 (inet)".
func (k ServiceKey) String() string {
	if k.FWMark != 0 {
		fam := "inet"
		if k.VIP.Is6() {
			fam = "inet6"
		}
		return fmt.Sprintf("fwmark %d (%s)", k.FWMark, fam)
	}
	return fmt.Sprintf("%s %s", k.Protocol, netip.AddrPortFrom(k.VIP, k.Port))
}

// VirtualServer is one virtual service with its real servers, resolved.
type VirtualServer struct {
	VIP         netip.Addr `json:"vip"`
	Port        uint16     `json:"port"`
	Protocol    Protocol   `json:"protocol"`              // resolved; "tcp" when absent (and for fwmark services, where the kernel ignores it)
	FWMark      uint32     `json:"fwmark,omitempty"`      // 0 = not a firewall-mark service
	Scheduler   string     `json:"scheduler"`             // one of Schedulers; "wlc" when absent
	Persistence uint32     `json:"persistence,omitempty"` // seconds; 0 = off
	// PersistenceNetmask is a prefix length: 32 (IPv4) or 128 (IPv6) when
	// absent. The file accepts a dotted mask or a prefix length.
	PersistenceNetmask int          `json:"persistence_netmask"`
	Mode               Mode         `json:"mode"` // default forwarding method for its real servers
	RealServers        []RealServer `json:"real_servers,omitempty"`

	// Check is the health check of every real server, with its defaults
	// filled in; nil means no checks (weights as written). Its Port 0
	// means each real server's own port. Use CheckFor for the check of
	// one real server, its override applied.
	Check *Check `json:"check,omitempty"`
	// OnFailure is what a failed real server gets: weight 0 or removal.
	// OnFailureQuiesce when absent.
	OnFailure OnFailure `json:"on_failure"`
	// DrainTimeout bounds how long a real server removed from the file or
	// drained by hand keeps weight 0 before it is deleted (it is deleted
	// earlier once idle). DefaultDrainTimeout when absent; 0..720h.
	DrainTimeout time.Duration `json:"drain_timeout"`
	// SlowStart is how long a recovered real server's weight ramps from 1
	// to its configured weight; 0 (the default) means at once. 0..1h.
	SlowStart time.Duration `json:"slow_start,omitempty"`
	// SorryServer is added (on the service's port, in the service's mode)
	// while no real server is up, and removed when one is; the zero Addr
	// means none. Of the VIP's family, not one of RealServers. Its host
	// binds the VIP as a real server of the service's mode would
	// (RealServerVIPs).
	SorryServer netip.Addr `json:"sorry_server,omitzero"`
	// Marks are the packets a fwmark service's nftables rules mark with
	// FWMark: to the VIP, on each protocol and port. Only for fwmark
	// services; unique.
	Marks []Mark `json:"mark,omitempty"`
	// SchedulerFlags are IPVS scheduler flags, as written (unique):
	// mh-port and mh-fallback only with the mh scheduler, sh-port and
	// sh-fallback only with sh, ops with any scheduler of a udp or fwmark
	// service.
	SchedulerFlags []SchedulerFlag `json:"scheduler_flags,omitempty"`
}

// Key returns the service's kernel identity. For a firewall-mark service
// the kernel knows only the mark and the family, so the key's VIP is the
// family's unspecified address (0.0.0.0 or ::), and the key compares equal
// to one built from what the kernel reports.
func (v VirtualServer) Key() ServiceKey {
	if v.FWMark != 0 {
		vip := netip.IPv4Unspecified()
		if v.VIP.Is6() {
			vip = netip.IPv6Unspecified()
		}
		return ServiceKey{VIP: vip, FWMark: v.FWMark}
	}
	return ServiceKey{Protocol: v.Protocol, VIP: v.VIP, Port: v.Port}
}

// RealServer is one real server of a virtual service, resolved.
type RealServer struct {
	Address netip.Addr `json:"address"`
	// Port is where the director forwards to: the service's own port for
	// dr and tun, the mapped port (or the service's) for nat. A nat port 0
	// in the file resolves to the service's port.
	Port   uint16 `json:"port"`
	Weight int    `json:"weight"` // 0..65535; 1 when absent
	Mode   Mode   `json:"mode"`   // the service's Mode unless overridden

	// Check overrides the service's check field by field, as written;
	// nil means none. VirtualServer.CheckFor merges the two.
	Check *CheckOverride `json:"check,omitempty"`
	// UpperThreshold is the connection count above which the real server
	// gets no new connections (ipvsadm -x); 0 means no limit.
	UpperThreshold uint32 `json:"upper_threshold,omitempty"`
	// LowerThreshold is the connection count under which an overloaded
	// real server gets new connections again (ipvsadm -y); 0 means the
	// kernel's rule (three quarters of UpperThreshold). At most
	// UpperThreshold, and only with it.
	LowerThreshold uint32 `json:"lower_threshold,omitempty"`
	// Tunnel is the encapsulation of a tun real server (Type TunnelIPIP
	// when absent); the zero Tunnel for dr and nat.
	Tunnel Tunnel `json:"tunnel,omitzero"`
}
