package metrics

import (
	"sort"
	"strings"
)

// vec is a counter or gauge family with labels: one value per label
// combination. The Registry's mutex guards it.
type vec struct {
	name, help, typ string
	labels          []string // sorted
	perm            []int    // labels[i] is the perm[i]th of the caller's
	values          map[string]*value
}

type value struct {
	labels []string // in sorted label name order
	v      float64
}

func newVec(name, help, typ string, labels ...string) *vec {
	sorted, perm := sortLabels(labels)
	return &vec{name: name, help: help, typ: typ, labels: sorted, perm: perm, values: map[string]*value{}}
}

// at returns the series of the label values (in the order the family was
// created with), created at 0.
func (f *vec) at(values ...string) *value {
	return seriesAt(f.values, f.perm, values, func(labels []string) *value { return &value{labels: labels} })
}

// seriesAt returns the series of a family's label values (in the order
// the family was created with), made by create on first use.
func seriesAt[S any](series map[string]*S, perm []int, values []string, create func(labels []string) *S) *S {
	values = permute(values, perm)
	k := labelKey(values)
	s, ok := series[k]
	if !ok {
		s = create(values)
		series[k] = s
	}
	return s
}

// write writes the family; one without series (a vector nothing was
// counted in yet) is left out, as client_golang did.
func (f *vec) write(b *strings.Builder) {
	if len(f.values) == 0 {
		return
	}
	header(b, f.name, f.help, f.typ)
	for _, k := range sortedKeys(f.values) {
		s := f.values[k]
		sample(b, f.name, f.labels, s.labels, "", s.v)
	}
}

// histogramVec is a histogram family with labels.
type histogramVec struct {
	name, help string
	labels     []string  // sorted
	perm       []int     // labels[i] is the perm[i]th of the caller's
	buckets    []float64 // upper bounds, ascending, without +Inf
	values     map[string]*histogram
}

type histogram struct {
	labels []string
	counts []uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	count  uint64
}

func newHistogramVec(name, help string, buckets []float64, labels ...string) *histogramVec {
	sorted, perm := sortLabels(labels)
	return &histogramVec{name: name, help: help, labels: sorted, perm: perm, buckets: buckets, values: map[string]*histogram{}}
}

// at returns the histogram of the label values, created empty.
func (f *histogramVec) at(values ...string) *histogram {
	return seriesAt(f.values, f.perm, values, func(labels []string) *histogram {
		return &histogram{labels: labels, counts: make([]uint64, len(f.buckets)+1)}
	})
}

// observe adds v to the histogram of the label values.
func (f *histogramVec) observe(v float64, values ...string) {
	h := f.at(values...)
	i := 0
	for i < len(f.buckets) && v > f.buckets[i] {
		i++
	}
	h.counts[i]++
	h.sum += v
	h.count++
}

// write writes the family: cumulative buckets, _sum and _count per series.
func (f *histogramVec) write(b *strings.Builder) {
	if len(f.values) == 0 {
		return
	}
	header(b, f.name, f.help, typeHistogram)
	for _, k := range sortedKeys(f.values) {
		h := f.values[k]
		var cum uint64
		for i, ub := range f.buckets {
			cum += h.counts[i]
			sample(b, f.name+"_bucket", f.labels, h.labels, `le="`+formatFloat(ub)+`"`, float64(cum))
		}
		sample(b, f.name+"_bucket", f.labels, h.labels, `le="+Inf"`, float64(h.count))
		sample(b, f.name+"_sum", f.labels, h.labels, "", h.sum)
		sample(b, f.name+"_count", f.labels, h.labels, "", float64(h.count))
	}
}

// sortLabels returns label names sorted (the text format's series list
// them so, as client_golang wrote them) and the permutation that sorts
// their values.
func sortLabels(names []string) (sorted []string, perm []int) {
	perm = make([]int, len(names))
	for i := range perm {
		perm[i] = i
	}
	sort.Slice(perm, func(a, b int) bool { return names[perm[a]] < names[perm[b]] })
	sorted = permute(names, perm)
	return sorted, perm
}

// permute returns a new slice of values in perm's order.
func permute(values []string, perm []int) []string {
	out := make([]string, len(perm))
	for i, j := range perm {
		out[i] = values[j]
	}
	return out
}
