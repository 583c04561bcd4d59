package config

import (
	"net/netip"
	"time"
)

// Defaults of the director section.
const (
	DefaultReconcileInterval = 10 * time.Second
	DefaultSyncPort          = 8848 // the kernel's
	DefaultSyncTTL           = 1    // the kernel's
	// DefaultAnnounceProtocol is the rtnetlink protocol of announced
	// routes: 250, unassigned in the kernel and in iproute2's rt_protos,
	// so routes added by hand ("ip route add" uses 3, boot) are never
	// taken for lvs-rs's.
	DefaultAnnounceProtocol = 250
)

// DefaultSyncGroup is the kernel's IPv4 sync multicast group.
var DefaultSyncGroup = netip.AddrFrom4([4]byte{224, 0, 0, 81})

// MaxIPVSTimeout is the longest IPVS connection timeout accepted: 24 days,
// which stays within the kernel's int jiffies at HZ=1000.
const MaxIPVSTimeout = 24 * 24 * time.Hour

// IPVSSysctl is one net/ipv4/vs parameter to set.
type IPVSSysctl struct {
	Name  string `json:"name"`  // e.g. "expire_nodest_conn"
	Value int64  `json:"value"` // within the kernel's range for Name
}

// Timeouts are IPVS's connection timeouts, in whole seconds; zero leaves
// the kernel's value alone.
type Timeouts struct {
	TCP    time.Duration `json:"tcp,omitempty"`     // established TCP (kernel default 900s)
	TCPFin time.Duration `json:"tcp_fin,omitempty"` // TCP after FIN (kernel default 120s)
	UDP    time.Duration `json:"udp,omitempty"`     // UDP (kernel default 300s)
}

// SyncState is the role of the IPVS connection sync daemon.
type SyncState string

// The sync daemon roles: master sends this director's connections, backup
// receives its peers', both does both.
const (
	SyncMaster SyncState = "master"
	SyncBackup SyncState = "backup"
	SyncBoth   SyncState = "both"
)

// Sync configures the kernel's IPVS connection sync daemon.
type Sync struct {
	// Interface carries the sync messages (multicast); required.
	Interface string    `json:"interface"`
	State     SyncState `json:"state"` // required
	// SyncID tells sync groups apart on one network, 0..255 (0 when
	// absent; a backup with 0 accepts every group).
	SyncID uint8 `json:"syncid"`
	// MaxLen is the largest sync message payload in bytes, 1..65507; 0
	// (absent) lets the kernel derive it from the interface MTU.
	MaxLen uint16 `json:"maxlen,omitempty"`
	// Group is the multicast group, IPv4 or IPv6; DefaultSyncGroup when
	// absent.
	Group netip.Addr `json:"group"`
	Port  uint16     `json:"port"` // UDP port, 1..65535; DefaultSyncPort when absent
	TTL   uint8      `json:"ttl"`  // multicast TTL, 1..255; DefaultSyncTTL when absent
}

// Announce configures the routes the director keeps for VIPs with at
// least one real server up, for a BGP daemon to announce.
type Announce struct {
	// Table is the kernel routing table, 1..4294967295 except the
	// reserved 253 (default), 254 (main) and 255 (local); required.
	Table uint32 `json:"table"`
	// Protocol is the rtnetlink protocol of the routes, 5..255 (0..2 are
	// the kernel's own, and BIRD ignores kernel routes; 3, boot, and 4,
	// static, are what other programs give their routes);
	// DefaultAnnounceProtocol when absent.
	Protocol uint8 `json:"protocol"`
}
