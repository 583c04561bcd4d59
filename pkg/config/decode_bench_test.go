package config

import (
	"fmt"
	"net/netip"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"syscall"
	"testing"
	"time"
)

// benchYAML is the bench's start config (test/vm/bench): services x
// perService dr real servers under one VIP.
func benchYAML(services, perService int) []byte {
	return benchFile(services, perService, benchStyle{
		head:    "director:\n  interface: eth0\nvirtual_servers:\n",
		service: "  - vip: 10.100.0.1\n    port: %d\n    protocol: tcp\n    scheduler: wrr\n    mode: dr\n    real_servers:\n",
		rs:      "      - address: %v\n        weight: 1\n",
	})
}

// benchFlowYAML is benchYAML written as the README's examples are: flow
// mappings for the director's IPVS sysctls, each service's check and
// each real server.
func benchFlowYAML(services, perService int) []byte {
	return benchFile(services, perService, benchStyle{
		head:    "director:\n  interface: eth0\n  ipvs_sysctls: {expire_nodest_conn: 1, conn_reuse_mode: 2}\nvirtual_servers:\n",
		service: "  - vip: 10.100.0.1\n    port: %d\n    scheduler: wrr\n    check: {type: tcp, interval: 2s, timeout: 1s}\n    real_servers:\n",
		rs:      "      - {address: %v, weight: 1}\n",
	})
}

// benchStyle is how benchFile writes the file's head, each service (its
// port the verb's argument) and each real server (its address).
type benchStyle struct{ head, service, rs string }

func benchFile(services, perService int, st benchStyle) []byte {
	var b strings.Builder
	b.WriteString(st.head)
	for i := range services {
		fmt.Fprintf(&b, st.service, 10000+i)
		for j := range perService {
			n := 172<<24 | 16<<16 + uint32(i)<<10 + uint32(j) + 1
			fmt.Fprintf(&b, st.rs, netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}))
		}
	}
	return []byte(b.String())
}

// BenchmarkDecodeValidate times what Parse does after YAML parsing:
// decoding the node tree and validating it, on the bench's 1,000 x 10
// config. The tree is parsed once (by the fast path), outside the timer.
func BenchmarkDecodeValidate(b *testing.B) {
	t, ok := fastParse(benchYAML(1000, 10))
	if !ok {
		b.Fatal("the fast path declines the bench config")
	}
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		ps := &problems{file: "bench.yaml"}
		cfg := validate(decodeDocument(t, ps), ps)
		if err := ps.err(); err != nil || len(cfg.VirtualServers) != 1000 {
			b.Fatal(err)
		}
	}
}

// BenchmarkParse times the whole of Parse on the same config.
func BenchmarkParse(b *testing.B) {
	data := benchYAML(1000, 10)
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if _, err := Parse("bench.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

// reportCPU reports the CPU time the process spent per operation (garbage
// collection included), a steadier measure than ns/op on a shared
// machine; call the function it returns after the loop.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

// cpuTime is the user and system time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkParseGC runs Parse on the bench's 1,000 x 10 config under the
// soft heap limit lvs-rs sets, and reports the garbage collector's work
// per Parse: cycles and CPU time (the runtime's estimate, all cores).
func BenchmarkParseGC(b *testing.B) {
	data := benchYAML(1000, 10)
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(20 << 20))
	samples := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/cpu/classes/gc/total:cpu-seconds"}}
	runtime.GC()
	metrics.Read(samples)
	cycles, cpu := samples[0].Value.Uint64(), samples[1].Value.Float64()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("bench.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
	metrics.Read(samples)
	b.ReportMetric(float64(samples[0].Value.Uint64()-cycles)/float64(b.N), "gc-cycles/op")
	b.ReportMetric((samples[1].Value.Float64()-cpu)*1e9/float64(b.N), "gc-cpu-ns/op")
}
