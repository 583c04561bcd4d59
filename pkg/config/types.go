package config

import (
	"fmt"
	"net/netip"
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
	Source         string
	Director       Director
	RealServer     RealServerSection
	VirtualServers []VirtualServer
}

// Director holds the director-only settings.
type Director struct {
	// Interface is where the director binds the VIPs (label IFACE:N).
	Interface string
	// IPForward is the resolved ip_forward wish: true when set so in the
	// file, or when absent and any real server uses nat.
	IPForward bool
}

// RealServerSection holds the real-server-only settings.
type RealServerSection struct {
	// Gateway is the director's address that nat real servers route
	// through; the zero Addr means "leave routing alone".
	Gateway netip.Addr
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
	VIP         netip.Addr
	Port        uint16
	Protocol    Protocol // resolved; "tcp" when absent (and for fwmark services, where the kernel ignores it)
	FWMark      uint32   // 0 = not a firewall-mark service
	Scheduler   string   // one of Schedulers; "wlc" when absent
	Persistence uint32   // seconds; 0 = off
	// PersistenceNetmask is a prefix length: 32 (IPv4) or 128 (IPv6) when
	// absent. The file accepts a dotted mask or a prefix length.
	PersistenceNetmask int
	Mode               Mode // default forwarding method for its real servers
	RealServers        []RealServer
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
	Address netip.Addr
	// Port is where the director forwards to: the service's own port for
	// dr and tun, the mapped port (or the service's) for nat. A nat port 0
	// in the file resolves to the service's port.
	Port   uint16
	Weight int  // 0..65535; 1 when absent
	Mode   Mode // the service's Mode unless overridden
}
