package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// DefaultClientTimeout bounds a Client call whose context has no deadline.
const DefaultClientTimeout = DefaultCallTimeout + DefaultIOTimeout

// Client talks to a running daemon over its control socket. Each call
// opens its own connection (the protocol carries one request per
// connection). A Client is safe for concurrent use.
type Client struct {
	path string

	mu      sync.Mutex
	pending net.Conn // opened by Dial, used by the first call
}

// Dial connects to the daemon's control socket in stateDir. When no daemon
// is running (no socket, or nobody listening on it) the error matches
// ErrNotRunning. Close releases the connection if no call used it.
func Dial(ctx context.Context, stateDir string) (*Client, error) {
	c := &Client{path: SocketPath(stateDir)}
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	c.pending = conn
	return c, nil
}

// Close releases the connection Dial opened if no call used it.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending == nil {
		return nil
	}
	err := c.pending.Close()
	c.pending = nil
	return err
}

// Status asks the daemon for its status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	resp, err := c.call(ctx, request{Op: opStatus})
	if err != nil {
		return Status{}, err
	}
	if resp.Status == nil {
		return Status{}, fmt.Errorf("control: %s: status response without status", c.path)
	}
	return *resp.Status, nil
}

// Drain asks the daemon to drain the real servers req matches.
func (c *Client) Drain(ctx context.Context, req DrainRequest) (DrainResult, error) {
	return c.drainCall(ctx, opDrain, req)
}

// Enable asks the daemon to undo the drain of the real servers req matches.
func (c *Client) Enable(ctx context.Context, req DrainRequest) (DrainResult, error) {
	return c.drainCall(ctx, opEnable, req)
}

func (c *Client) drainCall(ctx context.Context, op string, req DrainRequest) (DrainResult, error) {
	if !req.Address.IsValid() {
		return DrainResult{}, fmt.Errorf("control: %s: no address", op)
	}
	resp, err := c.call(ctx, request{Op: op, Drain: &req})
	if err != nil {
		return DrainResult{}, err
	}
	if resp.Drain == nil {
		return DrainResult{}, fmt.Errorf("control: %s: %s response without result", c.path, op)
	}
	return *resp.Drain, nil
}

// call sends one request and reads its response, all within ctx's
// deadline (or DefaultClientTimeout).
func (c *Client) call(ctx context.Context, req request) (response, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultClientTimeout)
		defer cancel()
	}
	conn, err := c.take(ctx)
	if err != nil {
		return response{}, err
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	req.Version = Version
	if err := writeLine(conn, req); err != nil {
		return response{}, c.ioErr(ctx, "send "+req.Op, err)
	}
	line, err := readLine(conn, maxResponse)
	if err != nil {
		return response{}, c.ioErr(ctx, "read "+req.Op+" response", err)
	}
	var resp response
	if err := json.Unmarshal(line, &resp); err != nil {
		return response{}, fmt.Errorf("control: %s: decode %s response: %w", c.path, req.Op, err)
	}
	if resp.Error != "" {
		return response{}, &RemoteError{Code: resp.Code, Message: resp.Error}
	}
	if resp.Version != Version {
		return response{}, fmt.Errorf("control: %s: daemon speaks protocol version %d, this command %d", c.path, resp.Version, Version)
	}
	return resp, nil
}

// ioErr prefers the context's error (deadline, cancel) to the I/O one.
// The connection's deadline is the context's, and may fire a moment
// before the context notices.
func (c *Client) ioErr(ctx context.Context, what string, err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		err = oe.Err // its addresses name the socket's bind-time path
	}
	d, hasDeadline := ctx.Deadline()
	switch {
	case ctx.Err() != nil:
		err = ctx.Err()
	case errors.Is(err, os.ErrDeadlineExceeded) && hasDeadline && !time.Now().Before(d):
		err = context.DeadlineExceeded
	}
	return fmt.Errorf("control: %s: %s: %w", c.path, what, err)
}

// take returns the connection Dial opened, or a new one.
func (c *Client) take(ctx context.Context) (net.Conn, error) {
	c.mu.Lock()
	conn := c.pending
	c.pending = nil
	c.mu.Unlock()
	if conn != nil {
		return conn, nil
	}
	return c.dial(ctx)
}

func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
		return nil, fmt.Errorf("control: %s: %w", c.path, ErrNotRunning)
	}
	if err != nil {
		return nil, fmt.Errorf("control: connect %s: %w", c.path, err)
	}
	return conn, nil
}
