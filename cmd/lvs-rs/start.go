package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/lvs-rs/lvs-rs/internal/phase"
	"github.com/lvs-rs/lvs-rs/internal/rtnl"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/realserver"
	"github.com/lvs-rs/lvs-rs/pkg/state"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
	"github.com/lvs-rs/lvs-rs/pkg/tunnel"
)

// lockWait bounds how long a command waits for another one to finish.
const lockWait = 30 * time.Second

func newStartCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	f := &roleFlags{}
	cmd := &cobra.Command{
		Use:   "start --role director|realserver",
		Short: "Converge this host to the config (idempotent)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.checkRole(false); err != nil {
				return err
			}
			f.changed = cmd.Flags().Changed
			if err := f.checkStartFlags(); err != nil {
				return err
			}
			return runStart(cmd.Context(), g, f, stdout, stderr)
		},
	}
	addRoleFlag(cmd, f, false)
	addConfigFlag(cmd, f)
	addStartFlags(cmd, f)
	return cmd
}

// session is what every kernel-touching command needs: privileges, the
// lock, and a netlink handle in this host's namespace.
type session struct {
	handle *netlink.Handle
	unlock func()
	opts   func(dryRun bool) (realserver.Options, director.Options)
}

// openSession checks privileges, takes the host lock exclusively and
// opens netlink. A dry run (which changes nothing) on a host without a
// state directory creates neither it nor the lock: nothing was applied
// and no other command holds the lock.
func openSession(g *globalFlags, dryRun bool) (*session, error) {
	if !hasNetAdmin() {
		return nil, withCode(exitKernel, errNotPrivileged)
	}
	dir := state.Dir(g.stateDir)
	lock := state.Store{Dir: dir}.Lock
	if dryRun {
		lock = state.Store{Dir: dir}.LockIfPresent
	}
	unlock, err := lock(lockWait)
	if err != nil {
		return nil, withCode(exitKernel, err)
	}
	return newSession(dir, unlock)
}

// openReadSession is openSession for status: the lock is taken shared and
// without waiting, and when a start or stop holds it, status goes on
// without it (notice is written to stderr). Records are replaced
// atomically, so status reads whole ones either way. A missing state
// directory is not created (nothing applied: no lock to take).
func openReadSession(g *globalFlags, stderr io.Writer) (*session, error) {
	if !hasNetAdmin() {
		return nil, withCode(exitKernel, errNotPrivileged)
	}
	dir := state.Dir(g.stateDir)
	unlock, held, err := state.Store{Dir: dir}.TryShared()
	if err != nil {
		return nil, withCode(exitKernel, err)
	}
	if !held {
		fmt.Fprintln(stderr, "lvs-rs: note: another lvs-rs command is changing this host; this status is a snapshot taken meanwhile")
	}
	return newSession(dir, unlock)
}

// newSession opens netlink for a session whose lock is held.
func newSession(dir string, unlock func()) (*session, error) {
	h, err := rtnl.Open(netns.None())
	if err != nil {
		unlock()
		return nil, withCode(exitKernel, err)
	}
	phase.Mark("session")
	return &session{
		handle: h,
		unlock: unlock,
		opts: func(dryRun bool) (realserver.Options, director.Options) {
			return realserver.Options{StateDir: dir, DryRun: dryRun, Handle: h, Sysctl: sysctl.Proc()},
				director.Options{StateDir: dir, DryRun: dryRun, Handle: h, Sysctl: sysctl.Proc()}
		},
	}, nil
}

func (s *session) close() {
	s.handle.Close()
	s.unlock()
}

func runStart(ctx context.Context, g *globalFlags, f *roleFlags, stdout, stderr io.Writer) error {
	// The director's desired state needs no kernel: validate it before
	// anything else so bad input exits 2 with nothing touched.
	var dcfg = f.role == roleDirector
	if dcfg {
		cfg, err := f.directorConfig()
		if err != nil {
			return err
		}
		if !f.dryRun && daemonActive(ctx, g) {
			return withCode(exitKernel, errDaemonActive)
		}
		s, err := openSession(g, f.dryRun)
		if err != nil {
			return err
		}
		defer s.close()
		_, o := s.opts(f.dryRun)
		res, err := director.Start(ctx, cfg, o)
		report(stdout, stderr, roleDirector, "start", f.dryRun, err != nil, res.Changes, res.Warnings)
		return kernelErr(err)
	}
	// Read the file once and check the flags, before taking the lock: bad
	// input exits 2 with nothing touched, and what is applied is what was
	// validated.
	var cfg *config.Config
	if !f.flagsOnly() {
		c, err := f.loadFile()
		if err != nil {
			return err
		}
		cfg = c
	}
	if err := f.checkRealServer(cfg); err != nil {
		return err
	}
	s, err := openSession(g, f.dryRun)
	if err != nil {
		return err
	}
	defer s.close()
	d, err := f.realServerDesired(s.handle, cfg)
	if err != nil {
		return err
	}
	phase.Mark("desired")
	o, _ := s.opts(f.dryRun)
	res, err := realserver.Start(ctx, d, o)
	report(stdout, stderr, roleRealServer, "start", f.dryRun, err != nil, res.Changes, res.Warnings)
	return kernelErr(err)
}

// kernelErr maps an apply failure to exit 1, with the missing-module
// sentinels kept as their one-line messages.
func kernelErr(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, realserver.ErrInvalid):
		// The desired state cannot be applied; nothing was changed.
		return withCode(exitUsage, err)
	case errors.Is(err, director.ErrNoIPVS):
		return withCode(exitKernel, director.ErrNoIPVS)
	case errors.Is(err, tunnel.ErrNoIPIP):
		return withCode(exitKernel, tunnel.ErrNoIPIP)
	case errors.Is(err, tunnel.ErrNoGRE):
		return withCode(exitKernel, tunnel.ErrNoGRE)
	case errors.Is(err, tunnel.ErrNoFOU):
		return withCode(exitKernel, tunnel.ErrNoFOU)
	}
	return withCode(exitKernel, err)
}

// report prints the changes made (or planned), then a one-line summary.
// After a failure (failed is true) changes are those applied before it, and
// the summary says so; the error itself is printed by run.
func report[C fmt.Stringer](stdout, stderr io.Writer, role, verb string, dryRun, failed bool, changes []C, warnings []string) {
	for _, w := range warnings {
		fmt.Fprintf(stderr, "lvs-rs: %s: warning: %s\n", role, w)
	}
	prefix := ""
	if dryRun {
		prefix = "would "
	}
	writeChanges(stdout, role+": "+prefix, changes)
	var summary string
	switch {
	case failed:
		summary = fmt.Sprintf("%s failed after %d change(s)", verb, len(changes))
	case len(changes) == 0 && verb == "stop":
		summary = "nothing applied, nothing to remove"
	case len(changes) == 0:
		summary = "already converged, nothing to change"
	case dryRun:
		summary = fmt.Sprintf("dry run: %d change(s) planned, nothing changed", len(changes))
	default:
		summary = fmt.Sprintf("%s: %d change(s) applied", verb, len(changes))
	}
	fmt.Fprintf(stdout, "%s: %s\n", role, summary)
	if !dryRun {
		notifyStatus(role + ": " + summary)
	}
	phase.Mark("report")
}

// writeChanges writes one line per change, each prefix then the change.
// Lines are appended to one 64 KiB chunk written whole (10,000 changes are
// a few writes, not one each, and no line is copied again); a director's
// changes are appended by Change.AppendText rather than formatted through
// fmt.
func writeChanges[C fmt.Stringer](stdout io.Writer, prefix string, changes []C) {
	const chunk = 64 << 10
	buf := make([]byte, 0, chunk+512)
	dc, direct := any(changes).([]director.Change)
	for i := range changes {
		buf = append(buf, prefix...)
		if direct {
			buf, _ = dc[i].AppendText(buf)
		} else {
			buf = append(buf, changes[i].String()...)
		}
		buf = append(buf, '\n')
		if len(buf) >= chunk {
			_, _ = stdout.Write(buf)
			buf = buf[:0]
		}
	}
	if len(buf) > 0 {
		_, _ = stdout.Write(buf)
	}
}
