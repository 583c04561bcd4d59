package metrics

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// States are the values of lvsrs_real_server_state's state label.
var States = []string{"up", "down", "draining", "drained", "unchecked", "sorry"}

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

// realServerPrefix starts the names of the per-real-server families.
const realServerPrefix = "lvsrs_real_server_"

// The per-real-server families, in name order.
var (
	realServerState = family{realServerPrefix + "state", typeGauge,
		"The real server's state: 1 for the current one, 0 for the others."}
	realServerUp = family{realServerPrefix + "up", typeGauge,
		"Whether the real server is up (1) or not (0: down, draining, drained, unchecked, or the sorry server)."}
	realServerWeight = family{realServerPrefix + "weight", typeGauge,
		"The real server's weight: configured (in the file) or effective (in the kernel)."}
)

// family names a metric family.
type family struct{ name, typ, help string }

// realServerCollector renders the latest snapshot at each scrape, so real
// servers left out of a snapshot leave no series behind.
type realServerCollector struct {
	mu    sync.Mutex
	rows  [][]string // label values per real server, deduplicated
	last  []RealServerMetric
	built string // the snapshot's text, built at the first scrape
	fresh bool   // built is the current snapshot's
}

func newRealServerCollector() *realServerCollector { return &realServerCollector{} }

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
	c.rows, c.last, c.built, c.fresh = rows, last, "", false
	c.mu.Unlock()
}

// write writes the snapshot's families; their text is built once, by the
// first scrape that sees the snapshot. Families without series are left
// out.
func (c *realServerCollector) write(b *strings.Builder) {
	c.mu.Lock()
	if !c.fresh {
		c.built, c.fresh = c.build(), true
	}
	built := c.built
	c.mu.Unlock()
	b.WriteString(built)
}

// build renders the snapshot; c.mu is held. Labels are written in name
// order and series sorted by their label values, as client_golang wrote
// them.
func (c *realServerCollector) build() string {
	if len(c.last) == 0 {
		return ""
	}
	rows := make([][]string, len(c.rows))
	order := make([]int, len(c.rows))
	for i, r := range c.rows {
		rows[i], order[i] = permute(r, ipvsPerm), i
	}
	sort.Slice(order, func(a, b int) bool { return slices.Compare(rows[order[a]], rows[order[b]]) < 0 })
	var b strings.Builder
	b.Grow(len(c.last) * (3 + len(States)) * 160)
	header(&b, realServerState.name, realServerState.help, realServerState.typ)
	names := append(slices.Clone(ipvsSorted), "state") // "state" sorts last
	for _, i := range order {
		for _, s := range sortedStates {
			sample(&b, realServerState.name, names, with(rows[i], s), "", boolValue(c.last[i].State == s))
		}
	}
	header(&b, realServerUp.name, realServerUp.help, realServerUp.typ)
	for _, i := range order {
		sample(&b, realServerUp.name, ipvsSorted, rows[i], "", boolValue(c.last[i].State == "up"))
	}
	header(&b, realServerWeight.name, realServerWeight.help, realServerWeight.typ)
	names = append([]string{"kind"}, ipvsSorted...) // "kind" sorts first
	for _, kind := range []string{"configured", "effective"} {
		for _, i := range order {
			w := c.last[i].ConfiguredWeight
			if kind == "effective" {
				w = c.last[i].EffectiveWeight
			}
			sample(&b, realServerWeight.name, names, append([]string{kind}, rows[i]...), "", float64(w))
		}
	}
	return b.String()
}

// ipvsSorted are ipvsLabels sorted, ipvsPerm the permutation that sorts
// their values.
var ipvsSorted, ipvsPerm = sortLabels(ipvsLabels)

// sortedStates are States in sort order.
var sortedStates = func() []string {
	s := append([]string(nil), States...)
	sort.Strings(s)
	return s
}()

func with(lv []string, v string) []string {
	return append(lv[:len(lv):len(lv)], v)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
