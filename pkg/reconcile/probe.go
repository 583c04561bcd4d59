package reconcile

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net/netip"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/health"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// Firewall marks of the probe services of checks through the VIP
// (via: vip): ProbeMarkBase + 0 .. ProbeMarkBase + ProbeMarks - 1
// ("LV" in the upper half). A configured fwmark service may not use them:
// config.Parse refuses one at its position; probeMarksOf refuses it again
// for a Config built otherwise.
const (
	ProbeMarkBase = config.ProbeMarkBase
	ProbeMarks    = config.ProbeMarks
)

// probeMarks hands out the marks of the probe services: each probe gets
// the mark its identity hashes to (see probeID: the real server's
// address, the VIP and how the director forwards to it, not the service
// the real server is in nor its port), so the mark, and with it the
// check's state, survives edits of the rest of the file, the check's
// schedule, and a service whose key changes for the same traffic (port:
// 80 made fwmark: 10 with mark: [tcp/80]); collisions take the next free
// mark, in file order. Checks of one real server through one VIP in one
// mode share one probe service (and identical checks one check).
type probeMarks struct {
	of   map[string]uint32 // probe identity -> mark
	used map[uint32]bool
}

// probeMarksOf returns the marks of a configuration's probes, none taken
// yet; it refuses a configured fwmark in their range.
func probeMarksOf(cfg *config.Config) (*probeMarks, error) {
	for _, vs := range cfg.VirtualServers {
		if vs.FWMark >= ProbeMarkBase && vs.FWMark < ProbeMarkBase+ProbeMarks {
			return nil, fmt.Errorf("%s: virtual server fwmark %d: marks %d..%d are reserved for the checks through the VIP",
				cfg.Source, vs.FWMark, ProbeMarkBase, ProbeMarkBase+ProbeMarks-1)
		}
	}
	return &probeMarks{of: map[string]uint32{}, used: map[uint32]bool{}}, nil
}

// take returns the mark of the probe with identity id, and whether an
// earlier probe of the same identity has it already.
func (pm *probeMarks) take(id string) (mark uint32, shared bool, err error) {
	if m, ok := pm.of[id]; ok {
		return m, true, nil
	}
	if len(pm.used) >= ProbeMarks {
		return 0, false, errors.New("more than 65536 real servers checked through the VIP")
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	n := h.Sum32() % ProbeMarks
	for pm.used[ProbeMarkBase+n] {
		n = (n + 1) % ProbeMarks
	}
	mark = ProbeMarkBase + n
	pm.used[mark], pm.of[id] = true, mark
	return mark, false, nil
}

// probeID is the identity of the probe through vip to the real server d
// forwards to: what the probe service holds. The real server's port is
// not part of it (the probe's real server keeps the packet's port), nor
// the check (the service forwards every packet with its mark).
func probeID(vip netip.Addr, d ipvs.Destination) string {
	return fmt.Sprintf("%s %s %d %d %d %d", vip, d.Address.Unmap(), d.Forward, d.TunnelType, d.TunnelPort, d.TunnelFlags)
}

// probe makes t a check through the VIP: a firewall-mark service holding
// only the real server, whose mark the check's socket carries, so the
// check leaves the director as a client's packet to the VIP would. d is
// the real server as its service has it; the probe's copy keeps its
// address and forwarding (tunnel included), at weight 1 on port 0 (the
// packet's port) without thresholds, so that every service of the real
// server asks for the same one.
func (s *Setup) probe(t *health.Target, vip netip.Addr, d ipvs.Destination, pm *probeMarks) error {
	if d.Forward == ipvs.Masq {
		return errors.New("vip is for dr and tun real servers (a nat real server's check already goes through the director)")
	}
	p := ipvs.Destination{Family: d.Family, Address: d.Address, Forward: d.Forward, Weight: 1,
		TunnelType: d.TunnelType, TunnelPort: d.TunnelPort, TunnelFlags: d.TunnelFlags}
	mark, shared, err := pm.take(probeID(vip, p))
	if err != nil {
		return err
	}
	t.VIP, t.Mark = vip, mark
	if !shared {
		s.Probes = append(s.Probes, director.DesiredService{
			Service:      ipvs.Service{Family: ipvs.FamilyOf(vip), FWMark: mark, Scheduler: "rr", Netmask: vip.BitLen()},
			Destinations: []ipvs.Destination{p},
		})
	}
	return nil
}
