package control

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeHandler answers from fixed data and records the requests it got.
type fakeHandler struct {
	status Status
	block  chan struct{} // when set, calls wait for it or ctx

	mu    sync.Mutex
	calls []string
}

func (h *fakeHandler) record(ctx context.Context, call string) error {
	h.mu.Lock()
	h.calls = append(h.calls, call)
	h.mu.Unlock()
	if h.block == nil {
		return nil
	}
	select {
	case <-h.block:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("gave up: %w", ctx.Err())
	}
}

func (h *fakeHandler) Status(ctx context.Context) (Status, error) {
	if err := h.record(ctx, "status"); err != nil {
		return Status{}, err
	}
	return h.status, nil
}

func (h *fakeHandler) Drain(ctx context.Context, r DrainRequest) (DrainResult, error) {
	return h.drain(ctx, "drain", r)
}

func (h *fakeHandler) Enable(ctx context.Context, r DrainRequest) (DrainResult, error) {
	return h.drain(ctx, "enable", r)
}

func (h *fakeHandler) drain(ctx context.Context, op string, r DrainRequest) (DrainResult, error) {
	if err := h.record(ctx, op+" "+r.Address.String()+" "+r.Service.String()); err != nil {
		return DrainResult{}, err
	}
	var res DrainResult
	for _, rs := range h.status.RealServers {
		if r.Matches(rs.Service, rs.Address) {
			res.Targets = append(res.Targets, DrainTarget{Service: rs.Service, Address: rs.Address, Changed: true})
		}
	}
	if len(res.Targets) == 0 {
		return res, fmt.Errorf("%s is not a real server of %s: %w", r.Address, r.Service, ErrNotFound)
	}
	return res, nil
}

func (h *fakeHandler) callLog() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.calls...)
}

func mustService(t *testing.T, s string) Service {
	t.Helper()
	svc, err := ParseService(s)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func sampleStatus(t *testing.T) Status {
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return Status{
		PID:     4242,
		Started: started,
		Config: ConfigStatus{File: "/etc/lvs-rs/lvs-rs.yaml", Accepted: false, Loaded: started,
			Rejection: "/etc/lvs-rs/lvs-rs.yaml:4:10: virtual_servers[0].vip: \"10.0.0.300\" is not an IP address",
			Rejected:  started.Add(time.Minute)},
		Reconcile:    ReconcileStatus{Last: started.Add(2 * time.Minute), Duration: 3 * time.Millisecond},
		DriftRepairs: 2,
		RealServers: []RealServer{
			{Service: mustService(t, "tcp:10.0.0.100:80"), Address: netip.MustParseAddr("10.0.0.11"), Port: 80,
				ConfiguredWeight: 3, EffectiveWeight: 3, State: StateUp, LastResult: ResultPass, Consecutive: 7,
				Since: started, CheckDuration: 1500 * time.Microsecond},
			{Service: mustService(t, "fwmark:10"), Address: netip.MustParseAddr("10.0.0.11"),
				ConfiguredWeight: 1, State: StateDown, LastResult: ResultFail, Reason: "connect: connection refused",
				Consecutive: 3, Since: started},
		},
	}
}

// startServer serves h on a fresh state directory until the test ends.
func startServer(t *testing.T, srv *Server) string {
	t.Helper()
	dir, stop := serveStoppable(t, srv)
	t.Cleanup(stop)
	return dir
}

// serveStoppable serves srv in a new state directory; stop cancels Serve
// and fails t unless it returns nil within 10 s.
func serveStoppable(t *testing.T, srv *Server) (dir string, stop func()) {
	t.Helper()
	dir = t.TempDir()
	ln, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	var once sync.Once
	return dir, func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Serve: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("Serve did not return within 10 s of its context ending (I/O timeout %v)", srv.IOTimeout)
			}
		})
	}
}

func dial(t *testing.T, dir string) *Client {
	t.Helper()
	c, err := Dial(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRoundTrip(t *testing.T) {
	h := &fakeHandler{status: sampleStatus(t)}
	dir := startServer(t, &Server{Handler: h})
	c := dial(t, dir)
	ctx := context.Background()
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(h.status, st, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("status (-sent +received):\n%s", diff)
	}
	web := mustService(t, "tcp:10.0.0.100:80")
	a := netip.MustParseAddr("10.0.0.11")
	res, err := c.Drain(ctx, DrainRequest{Address: a, Service: web})
	if err != nil {
		t.Fatal(err)
	}
	if want := []DrainTarget{{Service: web, Address: a, Changed: true}}; !cmp.Equal(want, res.Targets, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })) {
		t.Errorf("drain targets %+v, want %+v", res.Targets, want)
	}
	res, err = c.Enable(ctx, DrainRequest{Address: a})
	if err != nil || len(res.Targets) != 2 {
		t.Errorf("enable without service: %+v, %v; want both services", res, err)
	}
	want := []string{"status", "drain 10.0.0.11 tcp:10.0.0.100:80", "enable 10.0.0.11 "}
	if diff := cmp.Diff(want, h.callLog()); diff != "" {
		t.Errorf("handler calls (-want +got):\n%s", diff)
	}
}

func TestHandlerErrors(t *testing.T) {
	h := &fakeHandler{status: sampleStatus(t)}
	c := dial(t, startServer(t, &Server{Handler: h}))
	_, err := c.Drain(context.Background(), DrainRequest{Address: netip.MustParseAddr("10.9.9.9")})
	var re *RemoteError
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &re) || re.Message != "10.9.9.9 is not a real server of : no such real server" {
		t.Errorf("drain of an unknown address: %v (%#v), want ErrNotFound with the handler's message", err, re)
	}
}

func TestSocketIs0600AndRemovedOnStop(t *testing.T) {
	dir := t.TempDir()
	ln, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(SocketPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("control socket mode %v, want a socket with 0600", fi.Mode())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("state dir holds %v, want only %s", entries, SocketName)
	}
	if got := ln.Addr().String(); got != SocketPath(dir) {
		t.Errorf("listener address %s, want %s", got, SocketPath(dir))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, &fakeHandler{}) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve after cancel: %v", err)
	}
	if _, err := os.Lstat(SocketPath(dir)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket after Serve returned: %v, want it removed", err)
	}
	if _, err := Dial(context.Background(), dir); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Dial after stop: %v, want ErrNotRunning", err)
	}
}

func TestListenCreatesStateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	ln, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("state dir: %v %v, want 0700", fi.Mode(), err)
	}
}

// deadSocket leaves a socket file nobody listens on at path: what a
// killed daemon leaves behind.
func deadSocket(t *testing.T, path string) {
	t.Helper()
	old, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	old.SetUnlinkOnClose(false)
	old.Close()
}

func TestStaleSocketReplaced(t *testing.T) {
	dir := t.TempDir()
	deadSocket(t, SocketPath(dir))
	// A daemon killed between binding and publishing its socket.
	deadSocket(t, filepath.Join(dir, ".control.99999999.sock"))
	if _, err := Dial(context.Background(), dir); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Dial to a stale socket: %v, want ErrNotRunning", err)
	}
	h := &fakeHandler{status: Status{PID: 7}}
	ln, err := Listen(dir)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Serve(ctx, ln, h)
	st, err := dial(t, dir).Status(context.Background())
	if err != nil || st.PID != 7 {
		t.Errorf("status from the new daemon: %+v %v", st, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("state dir holds %v, want only %s", entries, SocketName)
	}
}

func TestSecondDaemonRefused(t *testing.T) {
	h := &fakeHandler{status: Status{PID: 1}}
	dir := startServer(t, &Server{Handler: h})
	before, _ := os.Lstat(SocketPath(dir))
	_, err := Listen(dir)
	if !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("second Listen: %v, want ErrAlreadyRunning", err)
	}
	after, _ := os.Lstat(SocketPath(dir))
	if !os.SameFile(before, after) {
		t.Error("second Listen replaced the running daemon's socket")
	}
	if st, err := dial(t, dir).Status(context.Background()); err != nil || st.PID != 1 {
		t.Errorf("first daemon after the refused second: %+v %v", st, err)
	}
}

func TestListenRefusesNonSocket(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(SocketPath(dir), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Listen(dir)
	if err == nil || !strings.Contains(err.Error(), "is not a socket") {
		t.Errorf("Listen over a regular file: %v", err)
	}
	if b, _ := os.ReadFile(SocketPath(dir)); string(b) != "x" {
		t.Error("Listen removed a file that is not a socket")
	}
}

func TestNoDaemon(t *testing.T) {
	for _, dir := range []string{t.TempDir(), filepath.Join(t.TempDir(), "missing")} {
		if _, err := Dial(context.Background(), dir); !errors.Is(err, ErrNotRunning) {
			t.Errorf("Dial(%s): %v, want ErrNotRunning", dir, err)
		}
	}
}

// rawCall sends line on a fresh connection and returns the answer line.
func rawCall(t *testing.T, dir, line string) string {
	t.Helper()
	conn, err := net.Dial("unix", SocketPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte(line)); err != nil {
		t.Fatal(err)
	}
	resp, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("request %q: no answer: %v", line, err)
	}
	return resp
}

func TestBadRequestsAnswered(t *testing.T) {
	h := &fakeHandler{status: Status{PID: 9}}
	dir := startServer(t, &Server{Handler: h})
	for _, c := range []struct{ line, want string }{
		{"not json\n", `"error":"decode request: invalid character`},
		{`{"version":2,"op":"status"}` + "\n", `"error":"protocol version 2, this daemon speaks 1","code":"bad_request"`},
		{`{"op":"status"}` + "\n", `protocol version 0`},
		{`{"version":1,"op":"reboot"}` + "\n", `"error":"unknown operation \"reboot\""`},
		{`{"version":1,"op":"drain"}` + "\n", `"error":"drain: no address"`},
		{`{"version":1,"op":"enable","drain":{"service":"fwmark:3"}}` + "\n", `"error":"enable: no address"`},
		{`{"version":1,"op":"enable","drain":{"address":"10.0.0.1","service":"tcp:1.2.3.4"}}` + "\n", `missing :PORT`},
		{`{"version":1,"op":"status"}`, `"error":"read request: line not terminated by a newline"`},
		{strings.Repeat("x", maxRequest+10), `"error":"read request: line longer than 1048576 bytes"`},
	} {
		line := c.line
		if !strings.HasSuffix(line, "\n") && len(line) < maxRequest {
			// No newline and then half-close: the server sees EOF mid-line.
			conn, err := net.Dial("unix", SocketPath(dir))
			if err != nil {
				t.Fatal(err)
			}
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			conn.Write([]byte(line))
			conn.(*net.UnixConn).CloseWrite()
			resp, _ := bufio.NewReader(conn).ReadString('\n')
			conn.Close()
			if !strings.Contains(resp, c.want) {
				t.Errorf("request %q: answer %q, want it to contain %q", line, resp, c.want)
			}
			continue
		}
		if resp := rawCall(t, dir, line); !strings.Contains(resp, c.want) || !strings.Contains(resp, `"version":1`) {
			t.Errorf("request %.40q: answer %q, want it to contain %q", line, resp, c.want)
		}
	}
	if len(h.callLog()) != 0 {
		t.Errorf("bad requests reached the handler: %v", h.callLog())
	}
	if st, err := dial(t, dir).Status(context.Background()); err != nil || st.PID != 9 {
		t.Errorf("status after bad requests: %+v %v", st, err)
	}
}

func TestIdleConnectionClosed(t *testing.T) {
	dir := startServer(t, &Server{Handler: &fakeHandler{}, IOTimeout: 50 * time.Millisecond})
	conn, err := net.Dial("unix", SocketPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte(`{"version":1,`)) // and then nothing
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.Contains(resp, "i/o timeout") {
		t.Errorf("a client that stalls: answer %q, %v; want a timeout error answer", resp, err)
	}
}

func TestHandlerDeadline(t *testing.T) {
	h := &fakeHandler{block: make(chan struct{})}
	dir := startServer(t, &Server{Handler: h, CallTimeout: 50 * time.Millisecond})
	_, err := dial(t, dir).Status(context.Background())
	want := "gave up: context deadline exceeded"
	if err == nil || err.Error() != want {
		t.Errorf("status from a stuck handler: %v, want the server's deadline error %q", err, want)
	}
}

func TestClientDeadline(t *testing.T) {
	h := &fakeHandler{block: make(chan struct{})}
	dir := startServer(t, &Server{Handler: h})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := dial(t, dir).Status(ctx)
	want := "control: " + SocketPath(dir) + ": read status response: context deadline exceeded"
	if !errors.Is(err, context.DeadlineExceeded) || err.Error() != want {
		t.Errorf("status past the caller's deadline: %v, want DeadlineExceeded: %q", err, want)
	}
	if time.Since(start) > DefaultCallTimeout/2 {
		t.Errorf("status returned after %v, the caller's deadline was 50ms", time.Since(start))
	}
}

func TestConnectionsBounded(t *testing.T) {
	h := &fakeHandler{block: make(chan struct{})}
	dir := startServer(t, &Server{Handler: h, MaxConns: 2})
	c := &Client{path: SocketPath(dir)}
	errs := make(chan error, 3)
	for range 3 {
		go func() { _, err := c.Status(context.Background()); errs <- err }()
	}
	// Two calls reach the handler; the third waits in the backlog.
	deadline := time.Now().Add(5 * time.Second)
	for len(h.callLog()) < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if n := len(h.callLog()); n != 2 {
		t.Errorf("%d handler calls at once, want MaxConns=2", n)
	}
	close(h.block)
	for range 3 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := len(h.callLog()); n != 3 {
		t.Errorf("%d handler calls in all, want 3", n)
	}
}

func TestServeCancelsCallsInFlight(t *testing.T) {
	h := &fakeHandler{block: make(chan struct{})}
	dir, stop := serveStoppable(t, &Server{Handler: h})
	defer stop()
	callErr := make(chan error, 1)
	go func() { _, err := dial(t, dir).Status(context.Background()); callErr <- err }()
	for deadline := time.Now().Add(5 * time.Second); len(h.callLog()) == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	stop()
	if err := <-callErr; err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("the call in flight: %v, want the daemon's cancellation", err)
	}
}

// TestServeEndsWaitsForRequests: shutting down does not wait out the I/O
// timeout of a connection whose request has not arrived.
func TestServeEndsWaitsForRequests(t *testing.T) {
	dir, stop := serveStoppable(t, &Server{Handler: &fakeHandler{}, IOTimeout: time.Minute})
	defer stop()
	conn, err := net.Dial("unix", SocketPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte(`{"version":1,`)) // and then nothing
	time.Sleep(50 * time.Millisecond)   // the server is reading
	stop()                              // fails unless Serve returns long before the minute
}

// flakyListener fails its first fails Accepts with err, then accepts on
// its Listener (nil: fails for ever). It records whether it was closed.
type flakyListener struct {
	net.Listener
	err error

	mu     sync.Mutex
	fails  int
	closed chan struct{}
}

func newFlakyListener(ln net.Listener, err error, fails int) *flakyListener {
	return &flakyListener{Listener: ln, err: err, fails: fails, closed: make(chan struct{})}
}

func (l *flakyListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	fail := l.fails > 0 || l.Listener == nil
	l.fails--
	l.mu.Unlock()
	if !fail {
		return l.Listener.Accept()
	}
	select {
	case <-l.closed:
		return nil, net.ErrClosed
	default:
		return nil, l.err
	}
}

func (l *flakyListener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.closed:
		return nil
	default:
	}
	close(l.closed)
	if l.Listener != nil {
		return l.Listener.Close()
	}
	return nil
}

func (l *flakyListener) Addr() net.Addr { return &net.UnixAddr{Name: "flaky", Net: "unix"} }

// acceptErr is the error a listener's Accept returns when accept(2)
// fails with errno.
func acceptErr(errno syscall.Errno) error {
	return &net.OpError{Op: "accept", Net: "unix", Err: os.NewSyscallError("accept", errno)}
}

// TestServeReturnsOnAcceptError: an Accept error that retrying cannot
// cure ends Serve with that error, and the listener is closed.
func TestServeReturnsOnAcceptError(t *testing.T) {
	boom := errors.New("boom")
	ln := newFlakyListener(nil, boom, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // ends a Serve stuck in its deferred calls
	done := make(chan error, 1)
	go func() { done <- (&Server{Handler: &fakeHandler{}}).Serve(ctx, ln) }()
	select {
	case err := <-done:
		if !errors.Is(err, boom) {
			t.Errorf("Serve after a failed Accept: %v, want it to wrap %v", err, boom)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return within 5 s of Accept failing")
	}
	select {
	case <-ln.closed:
	default:
		t.Error("Serve returned and left its listener open")
	}
}

// TestServeRetriesTemporaryAcceptErrors: running out of file descriptors
// (EMFILE, ENFILE, ...) is waited out, not the end of the control socket;
// cancelling ctx ends the wait.
func TestServeRetriesTemporaryAcceptErrors(t *testing.T) {
	dir := t.TempDir()
	real, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	ln := newFlakyListener(real, acceptErr(syscall.EMFILE), 4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- (&Server{Handler: &fakeHandler{status: Status{PID: 7}}}).Serve(ctx, ln) }()
	callCtx, callCancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer callCancel()
	c, err := Dial(callCtx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if st, err := c.Status(callCtx); err != nil || st.PID != 7 {
		t.Errorf("status after 4 accepts failed with EMFILE: %+v, %v", st, err)
	}
	select {
	case err := <-done:
		t.Fatalf("Serve returned %v after a temporary Accept error", err)
	default:
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after its context ended: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return within 5 s of its context ending")
	}

	// Failing for ever: Serve waits until its context ends, then returns nil.
	ln = newFlakyListener(nil, acceptErr(syscall.ENFILE), 0)
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	go func() { done <- (&Server{Handler: &fakeHandler{}}).Serve(ctx, ln) }()
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Serve returned %v while Accept failed with ENFILE", err)
	default:
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after its context ended: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return within 5 s of its context ending while retrying Accept")
	}
}

// TestStatusOfLargeDirector: the status of a director with 10,000 real
// servers (the benchmarks' 1,000 services of 10), one line of about
// 2 MB, reaches the client.
func TestStatusOfLargeDirector(t *testing.T) {
	st := sampleStatus(t)
	row := st.RealServers[0]
	st.RealServers = make([]RealServer, 0, 10000)
	for i := range 1000 {
		row.Service = mustService(t, fmt.Sprintf("tcp:10.0.%d.%d:80", i>>8, i&0xff))
		for j := range 10 {
			row.Address = netip.AddrFrom4([4]byte{10, 1, byte(i >> 4), byte(i<<4 | j)})
			st.RealServers = append(st.RealServers, row)
		}
	}
	dir := startServer(t, &Server{Handler: &fakeHandler{status: st}})
	got, err := dial(t, dir).Status(context.Background())
	if err != nil {
		t.Fatalf("status of 10,000 real servers: %v", err)
	}
	if diff := cmp.Diff(st, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("status of 10,000 real servers (-sent +got):\n%s", diff)
	}
}
