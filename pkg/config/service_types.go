package config

import "time"

// DefaultDrainTimeout is VirtualServer.DrainTimeout when absent.
const DefaultDrainTimeout = 5 * time.Minute

// OnFailure is what a real server that fails its check gets.
type OnFailure string

// The failure actions.
const (
	// OnFailureQuiesce sets the weight to 0: established connections
	// finish, new ones go elsewhere. The default.
	OnFailureQuiesce OnFailure = "quiesce"
	// OnFailureRemove deletes the real server from the service.
	OnFailureRemove OnFailure = "remove"
)

// Firewall marks of the probe services of checks through the VIP
// (check.via: vip): ProbeMarkBase + 0 .. ProbeMarkBase + ProbeMarks - 1,
// 0x4c560000..0x4c56ffff ("LV" in the upper half). A configured fwmark
// service may not use them: Parse refuses such a fwmark.
const (
	ProbeMarkBase uint32 = 0x4c560000
	ProbeMarks           = 1 << 16
)

// Mark is one class of packets a fwmark service's rules mark: those to
// the VIP on Protocol and Port.
type Mark struct {
	Protocol Protocol `json:"protocol"` // tcp when absent
	Port     uint16   `json:"port"`     // 1..65535, required
}

// SchedulerFlag is an IPVS scheduler flag (ipvsadm -b).
type SchedulerFlag string

// The scheduler flags.
const (
	FlagMHPort     SchedulerFlag = "mh-port"     // mh: hash the source port too
	FlagMHFallback SchedulerFlag = "mh-fallback" // mh: skip weight-0 or overloaded servers
	FlagSHPort     SchedulerFlag = "sh-port"     // sh: hash the source port too
	FlagSHFallback SchedulerFlag = "sh-fallback" // sh: skip weight-0 or overloaded servers
	FlagOPS        SchedulerFlag = "ops"         // one-packet scheduling (udp)
)

// schedulerFlags lists the flags in documentation order.
func schedulerFlags() []SchedulerFlag {
	return []SchedulerFlag{FlagMHPort, FlagMHFallback, FlagSHPort, FlagSHFallback, FlagOPS}
}

// TunnelType is the encapsulation of a tun real server.
type TunnelType string

// The tunnel types (kernel 5.3 and later for gue and gre).
const (
	TunnelIPIP TunnelType = "ipip" // IP-in-IP, the default
	TunnelGUE  TunnelType = "gue"  // Generic UDP Encapsulation, on Tunnel.Port
	TunnelGRE  TunnelType = "gre"
)

// TunnelFlag is a checksum option of a gue or gre tunnel.
type TunnelFlag string

// The tunnel flags; without one the outer packet has no checksum.
const (
	TunnelCsum    TunnelFlag = "csum"    // gue, gre: checksum the outer packet
	TunnelRemCsum TunnelFlag = "remcsum" // gue: remote checksum offload
)

// Tunnel is the encapsulation of a tun real server.
type Tunnel struct {
	Type TunnelType `json:"type"`
	// Port is the UDP port of a gue tunnel (1..65535, required for gue);
	// 0 for the others.
	Port uint16 `json:"port,omitempty"`
	// Flags holds at most one flag: csum (gue, gre) or remcsum (gue).
	Flags []TunnelFlag `json:"flags,omitempty"`
}
