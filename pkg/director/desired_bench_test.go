package director

import "testing"

// BenchmarkDesiredFrom times resolving the bench's 1,000 x 10 config into
// the director's desired state, as start does before planning.
func BenchmarkDesiredFrom(b *testing.B) {
	cfg := bigConfig(1000, 10)
	b.ReportAllocs()
	for b.Loop() {
		d := DesiredFrom(cfg)
		if len(d.Services) != 1000 {
			b.Fatal(len(d.Services))
		}
		if err := CheckKernel(d); err != nil {
			b.Fatal(err)
		}
	}
}
