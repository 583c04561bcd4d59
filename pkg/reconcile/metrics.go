package reconcile

import (
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/metrics"
)

// publishMetrics replaces the metrics' per-real-server snapshot with the
// last pass's rows.
func (l *Loop) publishMetrics() {
	l.mu.Lock()
	rows := l.last.Rows
	l.mu.Unlock()
	out := make([]metrics.RealServerMetric, 0, len(rows))
	for _, r := range rows {
		out = append(out, metricOf(r))
	}
	l.opts.Metrics.SetRealServers(out)
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
