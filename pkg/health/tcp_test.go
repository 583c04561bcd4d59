package health

import (
	"testing"
)

func TestTCPUp(t *testing.T) {
	ln := listenCounting(t, nil)
	wantResult(t, runProbe(target(t, TCP, ln.Addr().String(), nil)), true, "connected")
}

func TestTCPRefused(t *testing.T) {
	wantResult(t, runProbe(target(t, TCP, closedPort(t), nil)), false, "connect: connection refused")
}
