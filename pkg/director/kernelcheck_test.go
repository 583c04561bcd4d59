package director

import (
	"context"
	"strings"
	"testing"
)

func TestCheckKernelTunnelTypes(t *testing.T) {
	defer func(f func() (string, error)) { kernelRelease = f }(kernelRelease)
	for _, tc := range []struct {
		rel   string
		wave2 bool
		fail  bool
	}{
		{"6.1.0-57-amd64", true, false},
		{"5.3.0", true, false},
		{"5.2.21-generic", true, true},
		{"4.19.0-27-amd64", true, true},
		{"4.19.0-27-amd64", false, false}, // ipip only: any kernel
		{"garbage", true, true},
	} {
		kernelRelease = func() (string, error) { return tc.rel, nil }
		cfg := web()
		if tc.wave2 {
			cfg = wave2()
		}
		err := CheckKernel(DesiredFrom(cfg))
		if (err != nil) != tc.fail {
			t.Errorf("%s (tunnel types %v): %v", tc.rel, tc.wave2, err)
		}
		if err != nil && !strings.Contains(err.Error(), "needs Linux 5.3") {
			t.Errorf("%s: message %q", tc.rel, err)
		}
	}
	// Start refuses before any write.
	kernelRelease = func() (string, error) { return "5.2.0", nil }
	b := newWave2Bed(t)
	if _, err := Start(context.Background(), wave2(), b.opts()); err == nil || b.k.writes != 0 {
		t.Fatalf("start on 5.2: %v, %d writes", err, b.k.writes)
	}
}
