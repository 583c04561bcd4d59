package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"
)

// Handler answers control requests; the daemon's reconcile loop
// implements it. Each call gets a context with a deadline and must return
// when it is done. Calls may come from several connections at once.
type Handler interface {
	// Status reports the daemon and every real server.
	Status(ctx context.Context) (Status, error)
	// Drain drains the real servers the request matches (weight 0, deleted
	// once idle) and keeps them drained across restarts. An error wrapping
	// ErrNotFound means the request matched no real server.
	Drain(ctx context.Context, req DrainRequest) (DrainResult, error)
	// Enable undoes Drain for the real servers the request matches.
	Enable(ctx context.Context, req DrainRequest) (DrainResult, error)
}

// Defaults for a Server's zero fields.
const (
	DefaultMaxConns    = 8
	DefaultIOTimeout   = 5 * time.Second
	DefaultCallTimeout = 30 * time.Second
)

// Server answers requests on a control socket. The zero values of its
// limits mean the defaults above.
type Server struct {
	// Handler answers the requests.
	Handler Handler
	// MaxConns bounds the connections handled at once; further ones wait
	// in the socket's backlog.
	MaxConns int
	// IOTimeout bounds reading a request and writing its response.
	IOTimeout time.Duration
	// CallTimeout bounds one Handler call.
	CallTimeout time.Duration
	// Logger receives one line per failed connection; nil discards them.
	Logger *slog.Logger
}

// Serve answers requests on ln with h and default limits until ctx is
// cancelled; see Server.Serve.
func Serve(ctx context.Context, ln net.Listener, h Handler) error {
	return (&Server{Handler: h}).Serve(ctx, ln)
}

// Serve accepts connections on ln until ctx is cancelled, then closes ln,
// waits for the connections in progress (their Handler calls see ctx
// cancelled) and returns nil. An Accept error that a moment may cure
// (out of file descriptors or memory, an aborted connection) is logged
// and Accept retried after a pause that doubles from 5 ms to at most 1 s;
// Serve returns any other Accept error (a listener closed by someone
// else, say). Serve owns ln: it is closed when Serve returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel() // before wg.Wait: it ends the goroutine below
	wg.Go(func() {
		<-ctx.Done()
		ln.Close()
	})
	slots := make(chan struct{}, s.maxConns())
	var pause time.Duration
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		conn, err := ln.Accept()
		if err != nil {
			<-slots
			if ctx.Err() != nil {
				return nil
			}
			if !temporaryAcceptErr(err) {
				return fmt.Errorf("control: accept: %w", err)
			}
			pause = min(max(2*pause, minAcceptPause), maxAcceptPause)
			if s.Logger != nil {
				s.Logger.Warn("control: accept failed, retrying", "error", err, "pause", pause)
			}
			if !sleep(ctx, pause) {
				return nil
			}
			continue
		}
		pause = 0
		wg.Go(func() {
			defer func() { <-slots }()
			s.serveConn(ctx, conn)
		})
	}
}

// Bounds of the pause before Serve retries a failed Accept.
const (
	minAcceptPause = 5 * time.Millisecond
	maxAcceptPause = time.Second
)

// temporaryAcceptErr reports whether err, from Accept, names a condition
// that may pass: the process or system out of file descriptors, the
// kernel out of memory or buffers, a connection aborted before it was
// accepted, an interrupted call.
func temporaryAcceptErr(err error) bool {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS,
		syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR, syscall.EAGAIN} {
		if errors.Is(err, errno) {
			return true
		}
	}
	return false
}

// sleep waits for d or ctx, whichever ends first, and reports whether it
// was d.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Server) maxConns() int {
	if s.MaxConns > 0 {
		return s.MaxConns
	}
	return DefaultMaxConns
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// serveConn answers the one request of conn.
func (s *Server) serveConn(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	// Shutting down ends a wait for the request, never the answer: a
	// call in flight answers its cancellation within the I/O timeout
	// (ending writes too would race with that answer, and the client
	// would read EOF).
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now()) })
	defer stop()
	iot := orDefault(s.IOTimeout, DefaultIOTimeout)
	conn.SetReadDeadline(time.Now().Add(iot))
	line, err := readLine(conn, maxRequest)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return // a probe (Listen, Dial) that sent nothing
		}
		s.answer(conn, iot, response{Code: codeBadRequest, Error: fmt.Sprintf("read request: %v", err)})
		return
	}
	callCtx, cancel := context.WithTimeout(ctx, orDefault(s.CallTimeout, DefaultCallTimeout))
	defer cancel()
	s.answer(conn, iot, s.dispatch(callCtx, line))
}

// answer writes resp within the I/O timeout.
func (s *Server) answer(conn net.Conn, iot time.Duration, resp response) {
	resp.Version = Version
	conn.SetWriteDeadline(time.Now().Add(iot))
	if err := writeLine(conn, resp); err != nil && s.Logger != nil {
		s.Logger.Warn("control: write response", "error", err)
	}
	if resp.Code == codeBadRequest && s.Logger != nil {
		s.Logger.Warn("control: bad request", "error", resp.Error)
	}
}

// dispatch decodes one request line and calls the Handler.
func (s *Server) dispatch(ctx context.Context, line []byte) response {
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		return response{Code: codeBadRequest, Error: fmt.Sprintf("decode request: %v", err)}
	}
	if req.Version != Version {
		return response{Code: codeBadRequest, Error: fmt.Sprintf("protocol version %d, this daemon speaks %d", req.Version, Version)}
	}
	switch req.Op {
	case opStatus:
		st, err := s.Handler.Status(ctx)
		if err != nil {
			return failure(err)
		}
		return response{Status: &st}
	case opDrain, opEnable:
		if req.Drain == nil || !req.Drain.Address.IsValid() {
			return response{Code: codeBadRequest, Error: req.Op + ": no address"}
		}
		call := s.Handler.Drain
		if req.Op == opEnable {
			call = s.Handler.Enable
		}
		res, err := call(ctx, *req.Drain)
		if err != nil {
			return failure(err)
		}
		return response{Drain: &res}
	default:
		return response{Code: codeBadRequest, Error: fmt.Sprintf("unknown operation %q", req.Op)}
	}
}

// failure turns a Handler error into a response.
func failure(err error) response {
	code := codeFailed
	if errors.Is(err, ErrNotFound) {
		code = codeNotFound
	}
	return response{Code: code, Error: err.Error()}
}
