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

// probeMarks hands out the marks of the probe services: each real server
// checked through the VIP gets the mark its identity hashes to, so the
// mark (and the check's state) survives edits of the rest of the file;
// collisions take the next free mark, in file order.
type probeMarks map[uint32]bool

// probeMarksOf returns the marks of a configuration's probes, none taken
// yet; it refuses a configured fwmark in their range.
func probeMarksOf(cfg *config.Config) (probeMarks, error) {
	for _, vs := range cfg.VirtualServers {
		if vs.FWMark >= ProbeMarkBase && vs.FWMark < ProbeMarkBase+ProbeMarks {
			return nil, fmt.Errorf("%s: virtual server fwmark %d: marks %d..%d are reserved for the checks through the VIP",
				cfg.Source, vs.FWMark, ProbeMarkBase, ProbeMarkBase+ProbeMarks-1)
		}
	}
	return probeMarks{}, nil
}

// take returns the mark for the member named id.
func (pm probeMarks) take(id string) (uint32, error) {
	if len(pm) >= ProbeMarks {
		return 0, errors.New("more than 65536 real servers checked through the VIP")
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	n := h.Sum32() % ProbeMarks
	for pm[ProbeMarkBase+n] {
		n = (n + 1) % ProbeMarks
	}
	pm[ProbeMarkBase+n] = true
	return ProbeMarkBase + n, nil
}

// probe makes t a check through the VIP: a firewall-mark service holding
// only the real server, whose mark the check's socket carries, so the
// check leaves the director as a client's packet to the VIP would.
func (s *Setup) probe(t *health.Target, vip netip.Addr, d ipvs.Destination, pm probeMarks) error {
	if d.Forward == ipvs.Masq {
		return errors.New("vip is for dr and tun real servers (a nat real server's check already goes through the director)")
	}
	mark, err := pm.take(t.ID)
	if err != nil {
		return err
	}
	t.VIP, t.Mark = vip, mark
	d.Weight = 1
	s.Probes = append(s.Probes, director.DesiredService{
		Service:      ipvs.Service{Family: ipvs.FamilyOf(vip), FWMark: mark, Scheduler: "rr", Netmask: vip.BitLen()},
		Destinations: []ipvs.Destination{d},
	})
	return nil
}
