package reconcile

import (
	"net/netip"

	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/metrics"
)

// publishMetrics publishes the last pass to the metrics: the IPVS
// requests that failed in it (lvsrs_netlink_errors_total), the VIPs it
// announces when it succeeded (lvsrs_vip_announced: a failed pass may
// have left announcements as they were), and the per-real-server snapshot
// of its rows.
func (l *Loop) publishMetrics() {
	l.mu.Lock()
	rows, err := l.last.Rows, l.passErr
	var announced map[netip.Addr]bool
	if err == nil {
		announced = announcedOf(l.setup.Base, l.last.Desired)
	}
	l.mu.Unlock()
	l.opts.Metrics.NetlinkErrors(err)
	if err == nil {
		l.opts.Metrics.SetAnnounced(announced)
	}
	out := make([]metrics.RealServerMetric, 0, len(rows))
	for _, r := range rows {
		out = append(out, metricOf(r))
	}
	l.opts.Metrics.SetRealServers(out)
}

// announcedOf maps each VIP base may announce to whether effective (the
// pass's desired state) announces it; nil without announce.
func announcedOf(base, effective director.Desired) map[netip.Addr]bool {
	if base.Announce == nil {
		return nil
	}
	m := make(map[netip.Addr]bool, len(base.Announce.VIPs))
	for _, v := range base.Announce.VIPs {
		m[v.Unmap()] = false
	}
	if effective.Announce != nil {
		for _, v := range effective.Announce.VIPs {
			m[v.Unmap()] = true
		}
	}
	return m
}

// metricOf renders one row in node_exporter's terms.
func metricOf(r Row) metrics.RealServerMetric {
	m := metrics.RealServerMetric{
		Address: r.Destination.Address, RealPort: r.Destination.Port,
		State:            string(controlState(r.State)),
		ConfiguredWeight: int(r.Configured), EffectiveWeight: int(r.KernelWeight),
	}
	if r.State == StateSorry {
		m.ConfiguredWeight = int(r.Effective)
	}
	k := r.Service
	if k.FWMark != 0 {
		m.FWMark = k.FWMark
		return m
	}
	m.Proto, m.VIP, m.Port = k.Protocol.String(), k.Address, k.Port
	if k.Protocol == 0 {
		m.Proto = ipvs.TCP.String()
	}
	return m
}
