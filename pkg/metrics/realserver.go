package metrics

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// States are the values of lvsrs_real_server_state's state label.
var States = []string{"up", "down", "draining", "drained", "unchecked"}

// RealServerMetric is one real server of one service in a snapshot.
type RealServerMetric struct {
	// Proto is "tcp", "udp" or "sctp"; empty for a fwmark service.
	Proto string `json:"proto,omitempty"`
	// VIP and Port identify a protocol service; FWMark a fwmark service.
	VIP    netip.Addr `json:"vip,omitzero"`
	Port   uint16     `json:"port,omitempty"`
	FWMark uint32     `json:"fwmark,omitempty"`
	// Address and RealPort are the real server's.
	Address  netip.Addr `json:"address"`
	RealPort uint16     `json:"real_port"`
	// State is one of States; up means lvsrs_real_server_up 1.
	State string `json:"state"`
	// ConfiguredWeight is the weight in the file, EffectiveWeight the
	// weight in the kernel.
	ConfiguredWeight int `json:"configured_weight"`
	EffectiveWeight  int `json:"effective_weight"`
}

// ipvsLabels are node_exporter's IPVS backend label names.
var ipvsLabels = []string{"local_address", "local_port", "proto", "local_mark", "remote_address", "remote_port"}

// labelValues returns the values of ipvsLabels, as node_exporter writes
// them for the same real server.
func (m RealServerMetric) labelValues() []string {
	if m.FWMark != 0 {
		return []string{"", "0", "FWM", fmt.Sprintf("%08X", m.FWMark),
			m.Address.String(), strconv.Itoa(int(m.RealPort))}
	}
	local := ""
	if m.VIP.IsValid() {
		local = m.VIP.String()
	}
	return []string{local, strconv.Itoa(int(m.Port)), strings.ToUpper(m.Proto), "",
		m.Address.String(), strconv.Itoa(int(m.RealPort))}
}

// realServerCollector emits the latest snapshot at each scrape, so real
// servers left out of a snapshot leave no series behind.
type realServerCollector struct {
	up, weight, state *prometheus.Desc

	mu    sync.Mutex
	rows  [][]string // label values per real server, deduplicated
	last  []RealServerMetric
	built []prometheus.Metric // the snapshot's metrics, built at the first scrape
}

func newRealServerCollector() *realServerCollector {
	return &realServerCollector{
		up: prometheus.NewDesc("lvsrs_real_server_up",
			"Whether the real server is up (1) or not (0: down, draining, drained or unchecked).", ipvsLabels, nil),
		weight: prometheus.NewDesc("lvsrs_real_server_weight",
			"The real server's weight: configured (in the file) or effective (in the kernel).",
			append(append([]string{}, ipvsLabels...), "kind"), nil),
		state: prometheus.NewDesc("lvsrs_real_server_state",
			"The real server's state: 1 for the current one, 0 for the others.",
			append(append([]string{}, ipvsLabels...), "state"), nil),
	}
}

// set replaces the snapshot; of rows with the same labels the last wins.
func (c *realServerCollector) set(rs []RealServerMetric) {
	index := make(map[string]int, len(rs))
	rows := make([][]string, 0, len(rs))
	last := make([]RealServerMetric, 0, len(rs))
	for _, m := range rs {
		lv := m.labelValues()
		key := strings.Join(lv, "\x00")
		if i, ok := index[key]; ok {
			last[i] = m
			continue
		}
		index[key] = len(rows)
		rows = append(rows, lv)
		last = append(last, m)
	}
	c.mu.Lock()
	c.rows, c.last, c.built = rows, last, nil
	c.mu.Unlock()
}

// Describe implements prometheus.Collector.
func (c *realServerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.up
	ch <- c.weight
	ch <- c.state
}

// Collect implements prometheus.Collector. The metrics of a snapshot are
// built once, by the first scrape that sees it.
func (c *realServerCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	if c.built == nil {
		c.built = c.build()
	}
	built := c.built
	c.mu.Unlock()
	for _, m := range built {
		ch <- m
	}
}

// build makes the snapshot's metrics; c.mu is held.
func (c *realServerCollector) build() []prometheus.Metric {
	out := make([]prometheus.Metric, 0, len(c.last)*(3+len(States)))
	for i, m := range c.last {
		lv := c.rows[i]
		out = append(out,
			prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, boolValue(m.State == "up"), lv...),
			prometheus.MustNewConstMetric(c.weight, prometheus.GaugeValue, float64(m.ConfiguredWeight), with(lv, "configured")...),
			prometheus.MustNewConstMetric(c.weight, prometheus.GaugeValue, float64(m.EffectiveWeight), with(lv, "effective")...))
		for _, s := range States {
			out = append(out, prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, boolValue(m.State == s), with(lv, s)...))
		}
	}
	return out
}

func with(lv []string, v string) []string {
	return append(lv[:len(lv):len(lv)], v)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
