package metrics

import (
	"errors"
	"math"
	"sort"
	"strconv"
	"strings"
)

// The Prometheus text exposition format, version 0.0.4: what /metrics
// serves. The package writes it itself rather than through client_golang,
// whose package initialisation (protobuf, procfs, runtime/metrics) every
// lvs-rs command would otherwise pay at startup.

// contentType is the text format's media type.
const contentType = "text/plain; version=0.0.4; charset=utf-8"

// Metric types, as # TYPE names them.
const (
	typeCounter   = "counter"
	typeGauge     = "gauge"
	typeHistogram = "histogram"
	typeSummary   = "summary"
)

// header writes a family's # HELP and # TYPE lines.
func header(b *strings.Builder, name, help, typ string) {
	b.WriteString("# HELP ")
	b.WriteString(name)
	b.WriteByte(' ')
	b.WriteString(helpEscaper.Replace(help))
	b.WriteString("\n# TYPE ")
	b.WriteString(name)
	b.WriteByte(' ')
	b.WriteString(typ)
	b.WriteByte('\n')
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

// sample writes one sample line: name{names[i]="values[i]",...,extra} v.
// extra is an already formatted last label (le="0.5"), or "".
func sample(b *strings.Builder, name string, names, values []string, extra string, v float64) {
	b.WriteString(name)
	if len(names) > 0 || extra != "" {
		b.WriteByte('{')
		for i, n := range names {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(n)
			b.WriteString(`="`)
			b.WriteString(labelEscaper.Replace(values[i]))
			b.WriteByte('"')
		}
		if extra != "" {
			if len(names) > 0 {
				b.WriteByte(',')
			}
			b.WriteString(extra)
		}
		b.WriteByte('}')
	}
	b.WriteByte(' ')
	b.WriteString(formatFloat(v))
	b.WriteByte('\n')
}

// formatFloat formats v as the text format wants it.
func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// labelKey joins label values into a map key.
func labelKey(values []string) string { return strings.Join(values, "\xff") }

// sortedKeys returns m's keys in order (series are written sorted, as
// client_golang wrote them).
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// errBadStat is a /proc file that does not parse.
var errBadStat = errors.New("metrics: unexpected /proc format")
