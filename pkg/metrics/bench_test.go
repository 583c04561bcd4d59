package metrics

import (
	"io"
	"net/http/httptest"
	"net/netip"
	"testing"
)

// manyRealServers returns n tcp real servers spread over services of 100.
func manyRealServers(n int) []RealServerMetric {
	rs := make([]RealServerMetric, n)
	for i := range rs {
		rs[i] = RealServerMetric{
			Proto: "tcp", VIP: netip.AddrFrom4([4]byte{10, 0, 0, byte(i / 100)}), Port: 80,
			Address: netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), RealPort: 80,
			State: States[i%len(States)], ConfiguredWeight: 1, EffectiveWeight: i % 2,
		}
	}
	return rs
}

// BenchmarkSetRealServers10k measures replacing a 10,000-server snapshot.
func BenchmarkSetRealServers10k(b *testing.B) {
	reg, rs := New(), manyRealServers(10000)
	b.ReportAllocs()
	for b.Loop() {
		reg.SetRealServers(rs)
	}
}

// BenchmarkScrape10k measures one /metrics scrape with 10,000 real servers.
func BenchmarkScrape10k(b *testing.B) {
	reg := New()
	reg.SetRealServers(manyRealServers(10000))
	h := reg.Handler()
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
		io.Copy(io.Discard, w.Body)
	}
}
