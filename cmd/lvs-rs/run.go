package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/spf13/cobra"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/lvs-rs/lvs-rs/internal/rtnl"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/control"
	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/metrics"
	"github.com/lvs-rs/lvs-rs/pkg/reconcile"
	"github.com/lvs-rs/lvs-rs/pkg/state"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

// errDaemonStop is what stop says while lvs-rs run owns the director.
var errDaemonStop = errors.New("lvs-rs run is active and owns the director: stop it first " +
	"(systemctl stop lvs-rs-director-daemon, or kill -TERM its pid; the kernel stays as it is), then stop again")

// errDaemonActive is what start says while lvs-rs run owns the director.
var errDaemonActive = errors.New("lvs-rs run is active and owns the director: edit the file and reload it " +
	"(systemctl reload lvs-rs-director-daemon, or kill -HUP its pid) instead of start")

func newRunCmd(g *globalFlags, stderr io.Writer) *cobra.Command {
	f := &roleFlags{}
	cmd := &cobra.Command{
		Use:   "run --role director [--config FILE]",
		Short: "Run the long-running director in the foreground: health checks, drain, reload on SIGHUP, drift repair",
		Long: "Converges like start, then keeps converging: health checks set weights, SIGHUP re-reads the file,\n" +
			"drift is repaired. SIGTERM or SIGINT exits 0 and leaves the kernel as it is.\n" +
			"Exit 0: stopped by a signal; 1: another run is active, or the kernel failed; 2: bad command line or config.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.role != roleDirector {
				return usageErr("--role: run supports only the director role (--role director)")
			}
			return runDaemon(cmd.Context(), g, f, stderr)
		},
	}
	addRoleFlag(cmd, f, true)
	addConfigFlag(cmd, f)
	return cmd
}

// daemonGC is the long-running director's GOGC unless GOGC sets one:
// Go's default, a heap that grows to twice its live size between
// collections. It holds its state for as long as it runs, so oneShotGC's
// fourfold growth would keep that memory for nothing: an idle daemon
// holding 11,000 objects stays at 38 MB resident instead of 63 MB (VM,
// kernel 6.1), and collects a few times per reconcile pass.
const daemonGC = 100

func runDaemon(parent context.Context, g *globalFlags, f *roleFlags, stderr io.Writer) error {
	setGC(daemonGC)
	cfg, err := f.loadFile()
	if err != nil {
		return err
	}
	if err := cfg.CheckDirector(); err != nil {
		return withCode(exitUsage, err)
	}
	if cfg.Director.Interface == "" && len(cfg.VirtualServers) > 0 {
		return usageErr("%s: director.interface is not set", cfg.Source)
	}
	setup, err := reconcile.NewSetup(cfg)
	if err != nil {
		return withCode(exitUsage, err)
	}
	if err := director.CheckKernel(setup.Base); err != nil {
		return withCode(exitKernel, err)
	}
	if !hasNetAdmin() {
		return withCode(exitKernel, errNotPrivileged)
	}
	dir := state.Dir(g.stateDir)
	ln, err := control.Listen(dir)
	if err != nil {
		return withCode(exitKernel, err)
	}
	k, err := openDaemonKernel(parent)
	if err != nil {
		ln.Close()
		return withCode(exitKernel, err)
	}
	defer k.close()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	var reg *metrics.Registry
	if cfg.Director.Metrics.IsValid() {
		reg = metrics.New()
	}
	path := f.resolvedConfigPath()
	sd := newNotifier()
	loop, err := reconcile.New(reconcile.Options{
		Config: cfg, File: path, StateDir: dir,
		Director: director.Options{StateDir: dir, Handle: k.handle, IPVS: k.ipvs, Sysctl: sysctl.Proc()},
		IPVS:     k.ipvs,
		Lock:     func(ctx context.Context) (func(), error) { return state.Store{Dir: dir}.LockContext(ctx, lockWait) },
		Watch: func(ctx context.Context, changed func(removed bool)) error {
			return reconcile.WatchAddresses(ctx, netns.None(), changed)
		},
		// The loop names the configuration (a reload's, not this one):
		// director.interface and the VIPs may change.
		Source: func(c *config.Config, v6 bool) (netip.Addr, error) {
			return directorSource(k.handle, c, v6, heldVIPs(dir))
		},
		Metrics:  reg,
		Logger:   log,
		Ready:    func(s string) { sd.Notify(daemon.SdNotifyReady, "STATUS="+s) },
		Progress: func(s string) { sd.Notify("STATUS=" + s) },
	})
	if err != nil {
		ln.Close()
		return withCode(exitKernel, err)
	}
	return serveDaemon(parent, loop, ln, sd, log)
}

// serveDaemon runs the loop, the control socket, the signal handlers, the
// watchdog and the notifier sd until SIGTERM or SIGINT.
func serveDaemon(parent context.Context, loop *reconcile.Loop, ln net.Listener, sd *notifier, log *slog.Logger) error {
	sigCtx, stop := signal.NotifyContext(parent, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	// The notifier stops last (its deferred cancel and wait run after the
	// others'), sending STOPPING=1 on its way out.
	sdCtx, sdCancel := context.WithCancel(context.Background())
	var sdDone sync.WaitGroup
	defer sdDone.Wait()
	defer sdCancel()
	sdDone.Go(func() { sd.run(sdCtx) })
	// cancel stops the helpers below when the loop returns on its own.
	ctx, cancel := context.WithCancel(sigCtx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				loop.Reload()
			}
		}
	})
	wg.Go(func() {
		srv := control.Server{Handler: loop, Logger: log}
		if err := srv.Serve(ctx, ln); err != nil {
			log.Error("control socket failed", "error", err)
		}
	})
	wg.Go(func() { watchdog(ctx, loop, sd) })
	log.Info("lvs-rs run started", "pid", os.Getpid())
	err := loop.Run(ctx)
	sd.Notify(daemon.SdNotifyStopping)
	if err != nil {
		return kernelErr(err)
	}
	log.Info("lvs-rs run stopping; the kernel is left as it is")
	return nil
}

// watchdog sends WATCHDOG=1 through sd at half the unit's WatchdogSec,
// when set, while the loop is live (see pingWhileLive).
func watchdog(ctx context.Context, loop *reconcile.Loop, sd *notifier) {
	every := watchdogInterval()
	if every <= 0 {
		return
	}
	pingWhileLive(ctx, every, loop.Heartbeat, func() { sd.Notify(daemon.SdNotifyWatchdog) })
}

// watchdogInterval is the unit's WatchdogSec as systemd passes it to this
// process (WATCHDOG_USEC, for WATCHDOG_PID when set), read by go-systemd's
// daemon.SdWatchdogEnabled; 0 without a watchdog or with a value it
// refuses. The variables are left set: nothing this process starts
// inherits them as its own (exec checks run a command of the file, which
// is not the watched PID).
func watchdogInterval() time.Duration {
	every, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		return 0
	}
	return every
}

// watchdogLimit is how long the loop may go without progress before the
// pings stop: reconcile.StallLimit, which exceeds the longest step of a
// healthy pass (a converge, up to its 60 s deadline; the host lock, up to
// 30 s), or WatchdogSec when that is longer. Stopping at WatchdogSec
// (30 s in the unit) would kill a healthy daemon that waits 30 s for the
// host lock or converges a large file under emulation; systemd kills a
// stuck loop within the limit plus WatchdogSec (2 min with the unit's
// 30 s) instead of never.
func watchdogLimit(every time.Duration) time.Duration { return max(every, reconcile.StallLimit) }

// loopLive is the watchdog's rule: the loop waits idle for a trigger
// (live however long it waits), or the work in hand made progress less
// than limit before now.
func loopLive(at time.Time, idle bool, now time.Time, limit time.Duration) bool {
	return idle || now.Sub(at) < limit
}

// pingWhileLive calls ping every every/2 (systemd's advice: twice per
// WatchdogSec) while the loop, whose heartbeat beat returns, is live
// (loopLive with watchdogLimit), until ctx is done. It sends no ping of
// its own accord: a ticker that pinged regardless, as this did before,
// kept a hung loop alive forever. A loop that makes progress again
// after a pause (a long step) is pinged again from the next tick.
func pingWhileLive(ctx context.Context, every time.Duration, beat func() (time.Time, bool), ping func()) {
	limit := watchdogLimit(every)
	t := time.NewTicker(every / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if at, idle := beat(); loopLive(at, idle, now, limit) {
				ping()
			}
		}
	}
}

// daemonKernel is the long-lived kernel access of run.
type daemonKernel struct {
	handle *netlink.Handle
	ipvs   *ipvs.Client
}

func (k daemonKernel) close() {
	k.ipvs.Close()
	k.handle.Close()
}

// openDaemonKernel opens rtnetlink and IPVS (loading ip_vs with modprobe
// once when the kernel has no IPVS yet).
func openDaemonKernel(ctx context.Context) (daemonKernel, error) {
	c, err := ipvs.Dial(nil)
	if errors.Is(err, ipvs.ErrNoIPVS) {
		mctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		merr := exec.CommandContext(mctx, "modprobe", "ip_vs").Run()
		cancel()
		if merr == nil {
			c, err = ipvs.Dial(nil)
		}
	}
	if errors.Is(err, ipvs.ErrNoIPVS) {
		return daemonKernel{}, director.ErrNoIPVS
	}
	if err != nil {
		return daemonKernel{}, err
	}
	h, err := rtnl.Open(netns.None())
	if err != nil {
		c.Close()
		return daemonKernel{}, err
	}
	return daemonKernel{handle: h, ipvs: c}, nil
}
