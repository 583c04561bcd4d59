package crash

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestDirectorStatusWithoutRole: on a director, `status --config FILE`
// without --role reports the director against the file and exits 0 once
// it converged: the file making this host no real server is not an error
// (it was "cannot tell", exit 4, naming the real server role).
func TestDirectorStatusWithoutRole(t *testing.T) {
	h := newDirHost(t, dirYAML)
	h.must("start", "start")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := h.ns.Command(ctx, h.bin, "status", "--state-dir", h.state, "--config", h.config)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("status --config without --role: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "== director") {
		t.Fatalf("status did not report the director:\n%s", stdout.String())
	}
	h.must("stop", "stop")
}
