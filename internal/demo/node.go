package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/topo"
)

// commandTimeout bounds one lvs-rs run.
const commandTimeout = time.Minute

// node is a cluster member that runs lvs-rs.
type node struct {
	ns       *topo.NS
	role     string // director or realserver
	addr     netip.Addr
	weight   int // real servers only
	stateDir string
	started  bool // start ran (stop must run too)
}

// output is what one lvs-rs run printed.
type output struct{ stdout, stderr string }

// lvsrs runs `lvs-rs VERB --role ROLE --state-dir DIR ARGS...` inside the
// node's namespace; a non-zero exit is an error naming the node.
func (n *node) lvsrs(bin, verb string, args ...string) (output, error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	argv := append([]string{verb, "--role", n.role, "--state-dir", n.stateDir}, args...)
	cmd := n.ns.Command(ctx, bin, argv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	out := output{stdout: stdout.String(), stderr: stderr.String()}
	if err != nil {
		msg := strings.TrimSpace(out.stderr)
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return out, fmt.Errorf("demo: %s: lvs-rs %s exited with status %d: %s", n.ns.Name(), strings.Join(argv, " "), ee.ExitCode(), msg)
		}
		return out, fmt.Errorf("demo: %s: running lvs-rs: %w", n.ns.Name(), err)
	}
	return out, nil
}
