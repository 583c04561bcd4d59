package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// notifyTimeout bounds one write to systemd's notify socket. PID 1 reads
// it between other work; a socket it has not drained for that long takes
// the message later, or never (see notifier).
const notifyTimeout = time.Second

// notifyRetry is how long the notifier waits before sending again lines
// whose write failed.
const notifyRetry = time.Second

// notifyStatus tells systemd, when lvs-rs runs under a unit with
// NotifyAccess=main, the outcome of the command, so that
// `systemctl status lvs-rs-director` shows it. Outside systemd
// (no NOTIFY_SOCKET) it does nothing.
func notifyStatus(msg string) {
	_ = sdNotify("STATUS="+msg, notifyTimeout)
}

// sdNotify sends msg (newline-separated KEY=VALUE lines) to the socket
// NOTIFY_SOCKET names, as sd_notify(3) does, waiting at most timeout for
// the write: a service manager that does not drain its socket makes the
// write fail, never wait. Without NOTIFY_SOCKET it does nothing. An
// address starting with @ is in the abstract namespace, as systemd
// writes it (net maps the @ to the leading NUL byte).
func sdNotify(msg string, timeout time.Duration) error {
	sock := os.Getenv("NOTIFY_SOCKET")
	if sock == "" {
		return nil
	}
	d := net.Dialer{Timeout: timeout}
	c, err := d.Dial("unixgram", sock)
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer c.Close()
	if err := c.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	if _, err := c.Write([]byte(msg)); err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	return nil
}

// notifier hands the daemon's sd_notify messages to systemd from a
// goroutine of its own (run), so that a caller (the reconcile loop after
// every pass, the watchdog) never waits on the socket: Notify only
// records the lines. Lines not sent yet are coalesced by key: a newer
// STATUS= replaces an older one, READY=1 stays until it is sent. A write
// that fails (the socket not drained within notifyTimeout, say) is
// retried after notifyRetry with whatever is newer merged in, except
// WATCHDOG=1: a ping stands for the moment it was sent at, and the
// watchdog sends the next one while the loop is still live.
type notifier struct {
	send func(msg string) error

	mu      sync.Mutex
	pending []string // KEY=VALUE lines, one per key, in the order first set
	wake    chan struct{}
}

// newNotifier returns a notifier writing to NOTIFY_SOCKET (sdNotify).
func newNotifier() *notifier {
	return &notifier{
		send: func(msg string) error { return sdNotify(msg, notifyTimeout) },
		wake: make(chan struct{}, 1),
	}
}

// Notify queues lines (KEY=VALUE each) for run to send; it never blocks.
func (n *notifier) Notify(lines ...string) {
	n.mu.Lock()
	n.pending = merge(n.pending, lines)
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// merge returns pending with each of lines in it: replacing the line of
// the same key, or appended.
func merge(pending, lines []string) []string {
	for _, l := range lines {
		k, _, _ := strings.Cut(l, "=")
		i := 0
		for ; i < len(pending); i++ {
			if pk, _, _ := strings.Cut(pending[i], "="); pk == k {
				pending[i] = l
				break
			}
		}
		if i == len(pending) {
			pending = append(pending, l)
		}
	}
	return pending
}

// take removes and returns the pending lines.
func (n *notifier) take() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	lines := n.pending
	n.pending = nil
	return lines
}

// putBack queues again the lines of a failed write, under any newer line
// of the same key, leaving out WATCHDOG=1.
func (n *notifier) putBack(lines []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var old []string
	for _, l := range lines {
		if l != daemon.SdNotifyWatchdog {
			old = append(old, l)
		}
	}
	n.pending = merge(old, n.pending)
}

// flush sends the pending lines in one message; on failure they are
// queued again (putBack) and false is returned.
func (n *notifier) flush() bool {
	lines := n.take()
	if len(lines) == 0 {
		return true
	}
	if err := n.send(strings.Join(lines, "\n")); err != nil {
		n.putBack(lines)
		return false
	}
	return true
}

// run sends what Notify queues until ctx is done, then makes one last
// attempt at what is still queued (STOPPING=1 at shutdown) and returns.
func (n *notifier) run(ctx context.Context) {
	retry := time.NewTimer(0)
	defer retry.Stop()
	<-retry.C
	for {
		select {
		case <-ctx.Done():
			n.flush()
			return
		case <-n.wake:
		case <-retry.C:
		}
		if !n.flush() {
			retry.Reset(notifyRetry)
		}
	}
}
