package bench

import (
	"bytes"
	"os"
	"runtime/pprof"
	"testing"
	"time"
)

// BenchmarkDumps reads a loaded table of 1,000 services of 10 real servers
// (the services, then each one's destinations) three ways, in turn within
// every iteration so that a busy host disturbs each alike: floor
// (floor-status: pre-encoded, raw sendto/recvfrom system calls, not decoded),
// dumps (lvs-rs's client, DestinationConfigsOf: one call for every
// service) and 1by1 (the same client, one DestinationConfigs call per
// service). It reports each one's median in ms and the ratios to floor:
// the client's own cost of reading. With LVSRS_TEST_BENCH_PROFILE=1 it
// prints a CPU profile of the whole benchmark as TestTable does (pprof
// -focus dumpAll shows the client's part).
func BenchmarkDumps(b *testing.B) {
	s := shape{1000, 10}
	e := newBed(b)
	ns := e.fresh()
	c := dial(b, ns)
	defer c.Close()
	applyAll(b, c, s.ops())
	raw := openRaw(b, ns)
	reads := encodeReads(b, s, raw.family)
	want := s.services * (1 + s.perService)
	ways := []struct {
		name string
		read func() int
		took []time.Duration
	}{
		{name: "floor", read: func() int { return raw.readAll(b, reads) }},
		{name: "dumps", read: func() int { return dumpAll(b, c) }},
		{name: "1by1", read: func() int { return dumpAll1(b, c) }},
	}
	if os.Getenv(envProfile) != "" {
		var prof bytes.Buffer
		if err := pprof.StartCPUProfile(&prof); err != nil {
			b.Fatal(err)
		}
		defer func() { pprof.StopCPUProfile(); printProfile("dumps", prof.Bytes()) }()
	}
	b.ResetTimer()
	for range b.N {
		for i := range ways {
			w := &ways[i]
			t0 := time.Now()
			if n := w.read(); n != want {
				b.Fatalf("%s read %d entries, want %d", w.name, n, want)
			}
			w.took = append(w.took, time.Since(t0))
		}
	}
	f := medianMS(ways[0].took)
	for _, w := range ways {
		b.ReportMetric(medianMS(w.took), w.name+"-ms")
		if w.name != "floor" {
			b.ReportMetric(medianMS(w.took)/f, w.name+"/floor")
		}
	}
}
