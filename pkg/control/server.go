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
// cancelled) and returns nil. It returns an error when Accept fails for
// another reason. Serve owns ln: it is closed when Serve returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		<-ctx.Done()
		ln.Close()
	})
	slots := make(chan struct{}, s.maxConns())
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
			return fmt.Errorf("control: accept: %w", err)
		}
		wg.Go(func() {
			defer func() { <-slots }()
			s.serveConn(ctx, conn)
		})
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
	line, err := readLine(conn)
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
