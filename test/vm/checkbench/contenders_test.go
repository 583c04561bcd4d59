package checkbench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/topo"
)

// keepalivedBin is where scripts/vm-prepare.sh puts Debian's keepalived.
const keepalivedBin = "/usr/sbin/keepalived"

// contender is one health checker under test.
type contender struct {
	name string
	// command returns the process to run in the director namespace for n
	// real servers; dir is a fresh scratch directory.
	command func(ctx context.Context, ns *topo.NS, n int, dir string) (*exec.Cmd, error)
	// window, when set, is told that the measurement window starts.
	window func(p *os.Process) error
}

// running is a started contender.
type running struct {
	cmd     *exec.Cmd
	out     *bytes.Buffer
	done    chan error // cmd.Wait's result, once
	once    sync.Once  // of stop
	stopErr error
}

// start runs c's process with its output collected.
func start(ctx context.Context, c contender, ns *topo.NS, n int, dir string) (*running, error) {
	cmd, err := c.command(ctx, ns, n, dir)
	if err != nil {
		return nil, err
	}
	r := &running{cmd: cmd, out: &bytes.Buffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = r.out, r.out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	go func() { r.done <- cmd.Wait() }()
	return r, nil
}

// alive reports an error when the process has already exited.
func (r *running) alive() error {
	select {
	case err := <-r.done:
		r.done <- err
		return fmt.Errorf("exited early (%v):\n%s", err, r.out)
	default:
		return nil
	}
}

// stop sends SIGTERM and waits (keepalived removes its IPVS services
// first); after grace it kills the process. Only the first call acts;
// later ones return its result.
func (r *running) stop(grace time.Duration) error {
	r.once.Do(func() { r.stopErr = r.terminate(grace) })
	return r.stopErr
}

func (r *running) terminate(grace time.Duration) error {
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-r.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() <= 0 {
			err = nil // ended by the signal
		}
		return err
	case <-time.After(grace):
		_ = r.cmd.Process.Kill()
		<-r.done
		return fmt.Errorf("did not stop within %v after SIGTERM", grace)
	}
}

// lvsrs runs pkg/health in a child process: this test binary again, with
// only TestCheckerHelper (see helper_test.go).
var lvsrs = contender{
	name: "lvs-rs",
	command: func(ctx context.Context, ns *topo.NS, n int, _ string) (*exec.Cmd, error) {
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cmd := ns.Command(ctx, self, "-test.run=^TestCheckerHelper$", "-test.count=1", "-test.timeout=0")
		cmd.Env = append(os.Environ(), helperEnv+"=1", targetsEnv+"="+strconv.Itoa(n))
		return cmd, nil
	},
	window: func(p *os.Process) error { return p.Signal(syscall.SIGUSR1) },
}

// keepalived runs Debian's keepalived, checker subsystem only, in the
// foreground, with the configuration keepalivedConf writes.
var keepalived = contender{
	name: "keepalived",
	command: func(ctx context.Context, ns *topo.NS, n int, dir string) (*exec.Cmd, error) {
		conf := filepath.Join(dir, "keepalived.conf")
		if err := os.WriteFile(conf, []byte(keepalivedConf(n)), 0o600); err != nil {
			return nil, err
		}
		return ns.Command(ctx, keepalivedBin, "--check", "--dont-fork", "--log-console", "--no-syslog",
			"--use-file="+conf, "--pid="+filepath.Join(dir, "keepalived.pid"),
			"--checkers_pid="+filepath.Join(dir, "checkers.pid"), "--vrrp_pid="+filepath.Join(dir, "vrrp.pid")), nil
	},
}

// keepalivedConf is the configuration for the n real servers: one NAT
// virtual server per port (VIP 10.77.200.1) holding that port's real
// servers, each with a TCP_CHECK, every check once a second with a 1 s
// connect timeout, as lvs-rs's targets.
func keepalivedConf(n int) string {
	var b strings.Builder
	b.WriteString("global_defs {\n\trouter_id checkbench\n}\n")
	rs := realServers(n)
	for p := range min(n, portsPerAddr) {
		port := portBase + p
		fmt.Fprintf(&b, "virtual_server 10.77.200.1 %d {\n\tdelay_loop 1\n\tlb_algo rr\n\tlb_kind NAT\n\tprotocol TCP\n", port)
		for i := p; i < len(rs); i += portsPerAddr {
			fmt.Fprintf(&b, "\treal_server %s %d {\n\t\tweight 1\n\t\tTCP_CHECK {\n\t\t\tconnect_timeout 1\n\t\t}\n\t}\n",
				rs[i].Addr(), rs[i].Port())
		}
		b.WriteString("}\n")
	}
	return b.String()
}
