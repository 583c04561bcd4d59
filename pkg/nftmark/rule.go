package nftmark

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	"golang.org/x/sys/unix"
)

// Table and chain names.
const (
	TableName = "lvs_rs"
	ChainName = "prerouting"
)

// Rule marks the packets to VIP with transport protocol Protocol and
// destination port Port with Mark.
type Rule struct {
	VIP      netip.Addr `json:"vip"`
	Protocol uint8      `json:"protocol"` // unix.IPPROTO_TCP, IPPROTO_UDP or IPPROTO_SCTP
	Port     uint16     `json:"port"`
	Mark     uint32     `json:"mark"`
}

// String renders "tcp 10.0.0.100:80 mark 10".
func (r Rule) String() string {
	return fmt.Sprintf("%s %v mark %d", protoName(r.Protocol), netip.AddrPortFrom(r.VIP, r.Port), r.Mark)
}

func protoName(p uint8) string {
	switch p {
	case unix.IPPROTO_TCP:
		return "tcp"
	case unix.IPPROTO_UDP:
		return "udp"
	case unix.IPPROTO_SCTP:
		return "sctp"
	}
	return fmt.Sprintf("proto(%d)", p)
}

// Validate reports a rule that cannot be written, or two rules that give
// the same packets different marks.
func Validate(rules []Rule) error {
	seen := map[Rule]uint32{}
	for _, r := range rules {
		switch {
		case !r.VIP.IsValid():
			return fmt.Errorf("nftables mark %v: no VIP", r)
		case r.Protocol != unix.IPPROTO_TCP && r.Protocol != unix.IPPROTO_UDP && r.Protocol != unix.IPPROTO_SCTP:
			return fmt.Errorf("nftables mark %v: protocol must be tcp, udp or sctp", r)
		case r.Port == 0:
			return fmt.Errorf("nftables mark %v: port 0", r)
		case r.Mark == 0:
			return fmt.Errorf("nftables mark %v: mark 0 marks nothing", r)
		}
		k := r
		k.VIP, k.Mark = r.VIP.Unmap(), 0
		if m, ok := seen[k]; ok && m != r.Mark {
			return fmt.Errorf("nftables mark %v: the same packets get mark %d too", r, m)
		}
		seen[k] = r.Mark
	}
	return nil
}

// canonical returns rules sorted by VIP, protocol and port, without
// duplicates, IPv4-mapped VIPs as IPv4: the order they are written in.
func canonical(rules []Rule) []Rule {
	out := make([]Rule, 0, len(rules))
	for _, r := range rules {
		r.VIP = r.VIP.Unmap()
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Rule) int {
		return cmp.Or(a.VIP.Compare(b.VIP), cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.Port, b.Port), cmp.Compare(a.Mark, b.Mark))
	})
	return slices.Compact(out)
}
