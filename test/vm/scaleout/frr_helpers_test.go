package scaleout

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/topo"
)

// frrProc is FRR in one namespace: zebra and bgpd, with their sockets,
// pid files and vtysh's configuration in a directory of the test's own
// (nothing under /etc/frr or /run/frr), configured through vtysh the way
// Debian's frr.service loads /etc/frr/frr.conf (vtysh -b).
type frrProc struct {
	t   *testing.T
	ns  *topo.NS
	dir string
	mu  sync.Mutex
	out bytes.Buffer
}

// frrBin is the path of an FRR daemon in the VM image, failing the test
// when the image has none.
func frrBin(t *testing.T, name string) string {
	t.Helper()
	p := "/usr/lib/frr/" + name
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is not in the VM image (scripts/vm-prepare.sh copies it): %v", p, err)
	}
	return p
}

// startFRR starts zebra, then bgpd, in ns, and loads config into them
// with vtysh; a command vtysh rejects fails the test. The daemons run
// until the test ends (SIGTERM: bgpd sends its peers a Cease); their
// output is printed when the test fails, with what vtysh shows of their
// state.
func startFRR(t *testing.T, ns *topo.NS, config string) *frrProc {
	t.Helper()
	f := &frrProc{t: t, ns: ns, dir: t.TempDir()}
	conf := filepath.Join(f.dir, "frr.conf")
	for name, text := range map[string]string{"frr.conf": config, "vtysh.conf": "username root nopassword\n"} {
		if err := os.WriteFile(filepath.Join(f.dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f.daemon("zebra", "zserv.api")
	f.daemon("bgpd", "bgpd.vty")
	t.Cleanup(func() { // before the daemons stop
		if t.Failed() {
			t.Logf("FRR in %s, state:\n%s", ns.Name(), f.show("show bgp summary", "show ip route", "show ipv6 route", "show bgp ipv4 unicast", "show bgp ipv6 unicast"))
		}
	})
	out, err := f.vtysh("-f", conf)
	if err != nil {
		t.Fatalf("vtysh -f frr.conf in %s: %v\n%s", ns.Name(), err, out)
	}
	return f
}

// daemon starts one FRR daemon and waits for its socket (ready, the
// path under f.dir) to appear.
func (f *frrProc) daemon(name, ready string) {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := f.ns.Command(ctx, frrBin(f.t, name), "-u", "root", "-g", "root", "-P", "0", "-f", "/dev/null",
		"-z", filepath.Join(f.dir, "zserv.api"), "--vty_socket", f.dir,
		"-i", filepath.Join(f.dir, name+".pid"), "--log", "stdout")
	w := &lockedWriter{mu: &f.mu, w: &f.out}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		f.t.Fatalf("%s in %s: %v", name, f.ns.Name(), err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	f.t.Cleanup(func() {
		cancel()
		<-done
		if f.t.Failed() {
			f.mu.Lock()
			f.t.Logf("%s in %s:\n%s", name, f.ns.Name(), f.out.String())
			f.out.Reset()
			f.mu.Unlock()
		}
	})
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(f.dir, ready)); err == nil {
			return
		}
		select {
		case <-done:
			f.t.Fatalf("%s in %s exited at start", name, f.ns.Name())
		default:
		}
		if time.Since(start) > 20*time.Second {
			f.t.Fatalf("%s in %s: no %s after 20s", name, f.ns.Name(), ready)
		}
	}
}

// vtysh runs vtysh against this FRR with args.
func (f *frrProc) vtysh(args ...string) (string, error) {
	full := append([]string{"--vty_socket", f.dir, "--config_dir", f.dir}, args...)
	out, err := f.ns.Command(timeout(f.t, 20*time.Second), "/usr/bin/vtysh", full...).CombinedOutput()
	return string(out), err
}

// show returns what vtysh prints for each command.
func (f *frrProc) show(cmds ...string) string {
	var b strings.Builder
	for _, c := range cmds {
		out, err := f.vtysh("-c", c)
		b.WriteString("# " + c + "\n" + out)
		if err != nil {
			b.WriteString("(" + err.Error() + ")\n")
		}
	}
	return b.String()
}
