package crash

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/nlretry"
	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/pkg/tunnel"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
)

// rsHost is one real server: a namespace with its own state directory,
// driven through the faultinject-built lvs-rs binary.
type rsHost struct {
	t    *testing.T
	ns   *topo.NS
	dir  string   // --state-dir
	args []string // start's arguments after --role realserver
	// conf are the conf/DEV directories whose parameters the snapshot reads.
	conf []string
}

// rsRun is one lvs-rs invocation's outcome.
type rsRun struct {
	code   int  // exit code; -1 when killed
	killed bool // SIGKILL (LVS_RS_CRASH_AFTER)
	stdout string
	stderr string
}

// run runs lvs-rs VERB --role realserver --state-dir DIR [extra...] in
// the host's namespace with env added to the environment.
func (h *rsHost) run(env []string, verb string, extra ...string) rsRun {
	h.t.Helper()
	bin := os.Getenv("LVSRS_BIN")
	if bin == "" {
		h.t.Fatal("LVSRS_BIN is not set (run in the VM)")
	}
	args := append([]string{verb, "--role", "realserver", "--state-dir", h.dir}, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := h.ns.Command(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := rsRun{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			r.killed = true
		}
	default:
		h.t.Fatalf("%s: lvs-rs %s: %v", h.ns.Name(), strings.Join(args, " "), err)
	}
	return r
}

// must runs a verb that must exit 0.
func (h *rsHost) must(verb string, extra ...string) {
	h.t.Helper()
	if r := h.run(nil, verb, extra...); r.code != 0 {
		h.t.Fatalf("%s: lvs-rs %s: exit %d\nstdout: %s\nstderr: %s", h.ns.Name(), verb, r.code, r.stdout, r.stderr)
	}
}

func (h *rsHost) start(env ...string) rsRun { return h.run(env, "start", h.args...) }
func (h *rsHost) stop(env ...string) rsRun  { return h.run(env, "stop") }

// writes counts the kernel writes of start (or stop) with
// LVS_RS_FAULT_TRACE=1, and checks it succeeded.
func (h *rsHost) writes(verb string) (int, []string) {
	h.t.Helper()
	var r rsRun
	if verb == "start" {
		r = h.start("LVS_RS_FAULT_TRACE=1")
	} else {
		r = h.stop("LVS_RS_FAULT_TRACE=1")
	}
	if r.code != 0 {
		h.t.Fatalf("%s: traced %s: exit %d: %s", h.ns.Name(), verb, r.code, r.stderr)
	}
	var lines []string
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(l, "faultinject: write ") {
			lines = append(lines, l)
		}
	}
	return len(lines), lines
}

// converge runs start, status and stop, each of which must exit 0, and
// checks that the host is back at before. what names the case.
func (h *rsHost) converge(what string, before rsSnapshot) {
	h.t.Helper()
	if r := h.start(); r.code != 0 {
		h.t.Fatalf("%s: start after %s: exit %d: %s", h.ns.Name(), what, r.code, r.stderr)
	}
	if r := h.run(nil, "status"); r.code != 0 {
		h.t.Errorf("%s: status after %s and start: exit %d:\n%s%s", h.ns.Name(), what, r.code, r.stdout, r.stderr)
	}
	h.restored(what, before)
}

// restored runs stop, which must exit 0 without warnings, and compares
// the host with before.
func (h *rsHost) restored(what string, before rsSnapshot) {
	h.t.Helper()
	r := h.stop()
	if r.code != 0 {
		h.t.Fatalf("%s: stop after %s: exit %d: %s", h.ns.Name(), what, r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "warning") {
		h.t.Errorf("%s: stop after %s warned: %s", h.ns.Name(), what, r.stderr)
	}
	if d := cmp.Diff(before, h.snap()); d != "" {
		h.t.Errorf("%s: after %s, stop did not restore the host (-before +after):\n%s", h.ns.Name(), what, d)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "realserver.json")); !errors.Is(err, os.ErrNotExist) {
		h.t.Errorf("%s: after %s and stop, the record is still there (%v)", h.ns.Name(), what, err)
	}
}

// rsSnapshot is what a host holds: links, addresses, routes (every table
// but local, which follows the addresses; each route whole), sysctls, and
// the IPv4 FOU and GUE receive ports (none while fou is not loaded).
type rsSnapshot struct {
	Links   []string
	Addrs   []string
	Routes  []string
	Sysctls map[string]string
	FOU     []string
}

// rsRoute is netlink.Route without its String method, so that %+v shows
// every field: metric, protocol, type, scope, table, metrics, and each
// next hop with its weight and flags.
type rsRoute netlink.Route

func (h *rsHost) snap() rsSnapshot {
	h.t.Helper()
	nl := h.ns.Handle()
	s := rsSnapshot{Sysctls: map[string]string{}}
	links, err := nlretry.Dump(nl.LinkList)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, l := range links {
		a := l.Attrs()
		s.Links = append(s.Links, fmt.Sprintf("%s type=%s up=%v mtu=%d", a.Name, l.Type(), a.Flags&net.FlagUp != 0, a.MTU))
		as, err := vip.List(nl, a.Name)
		if err != nil {
			h.t.Fatal(err)
		}
		for _, x := range as {
			s.Addrs = append(s.Addrs, x.String())
		}
	}
	rs, err := h.ns.Routes()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, r := range rs {
		if r.Table != unix.RT_TABLE_LOCAL {
			s.Routes = append(s.Routes, fmt.Sprintf("%+v", rsRoute(r)))
		}
	}
	keys := []string{"net/ipv4/ip_forward"}
	for _, dev := range h.conf {
		for _, p := range []string{"arp_ignore", "arp_announce", "rp_filter"} {
			keys = append(keys, "net/ipv4/conf/"+dev+"/"+p)
		}
	}
	for _, k := range keys {
		v, err := h.ns.ReadSysctl(k)
		if err != nil {
			v = "-"
		}
		s.Sysctls[k] = v
	}
	err = h.ns.Do(func() error {
		f, err := tunnel.DialFOU()
		if err != nil {
			return err
		}
		defer f.Close()
		ps, err := f.Ports()
		for _, p := range ps {
			s.FOU = append(s.FOU, p.String())
		}
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	slices.Sort(s.Links)
	slices.Sort(s.Addrs)
	slices.Sort(s.Routes)
	slices.Sort(s.FOU)
	return s
}

// crashEveryWrite proves, for each write k of start and then of stop,
// that a kill -9 right after it, or an EINVAL in its place, leaves a host
// that the next start converges and the next stop restores to before.
func (h *rsHost) crashEveryWrite(before rsSnapshot) {
	h.t.Helper()
	n, trace := h.writes("start")
	m, stopTrace := h.writes("stop")
	h.t.Logf("%s: start makes %d writes, stop %d:\n%s\n%s", h.ns.Name(), n, m, strings.Join(trace, "\n"), strings.Join(stopTrace, "\n"))
	if d := cmp.Diff(before, h.snap()); d != "" {
		h.t.Fatalf("%s: traced start and stop did not restore the host:\n%s", h.ns.Name(), d)
	}
	for k := 1; k <= n; k++ {
		what := fmt.Sprintf("start killed after write %d (%s)", k, trace[k-1])
		if r := h.start("LVS_RS_CRASH_AFTER=" + strconv.Itoa(k)); !r.killed {
			h.t.Fatalf("%s: %s: not killed (exit %d): %s", h.ns.Name(), what, r.code, r.stderr)
		}
		h.converge(what, before)

		if r := h.start("LVS_RS_CRASH_AFTER=" + strconv.Itoa(k)); !r.killed {
			h.t.Fatalf("%s: %s: not killed", h.ns.Name(), what)
		}
		h.restored(what+", then stop alone", before)

		what = fmt.Sprintf("start failing write %d (%s) with EINVAL", k, trace[k-1])
		r := h.start("LVS_RS_FAIL_AT="+strconv.Itoa(k), "LVS_RS_FAIL_ERRNO=EINVAL")
		if r.code != 1 || !strings.Contains(r.stderr, "invalid argument") {
			h.t.Errorf("%s: %s: exit %d, stderr %q; want exit 1 naming the errno", h.ns.Name(), what, r.code, r.stderr)
		}
		h.converge(what, before)
	}
	for k := 1; k <= m; k++ {
		what := fmt.Sprintf("stop killed after write %d (%s)", k, stopTrace[k-1])
		h.must("start", h.args...)
		if r := h.stop("LVS_RS_CRASH_AFTER=" + strconv.Itoa(k)); !r.killed {
			h.t.Fatalf("%s: %s: not killed (exit %d): %s", h.ns.Name(), what, r.code, r.stderr)
		}
		h.restored(what, before)

		what = fmt.Sprintf("stop failing write %d (%s) with EINVAL", k, stopTrace[k-1])
		h.must("start", h.args...)
		if r := h.stop("LVS_RS_FAIL_AT="+strconv.Itoa(k), "LVS_RS_FAIL_ERRNO=EINVAL"); r.code != 1 {
			h.t.Errorf("%s: %s: exit %d, want 1: %s", h.ns.Name(), what, r.code, r.stderr)
		}
		h.restored(what, before)
	}
}
