package ipvs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// DefaultTimeout bounds a call whose context has no deadline.
const DefaultTimeout = 60 * time.Second

// Config configures Dial.
type Config struct {
	// NetNS is a network namespace file descriptor to open the socket in;
	// 0 means the calling thread's namespace.
	NetNS int
	// ReceiveBuffer, when not 0, sets the socket's receive buffer to this
	// many bytes after Apply's chunks were sized for the usual buffers, so
	// that acknowledgements overflow it (ENOBUFS). It exists for tests of
	// lost acknowledgements; leave it 0.
	ReceiveBuffer int
}

// Client talks to the kernel's IPVS over one generic netlink socket. Its
// methods may be called from several goroutines; requests are serialised.
// Every call takes a context whose deadline (DefaultTimeout when it has
// none) and cancellation bound the wait for the client while another call
// runs, and the socket's reads and writes. They cannot end a request the
// kernel is still handling: generic netlink runs the handler inside
// sendmsg, which neither a socket deadline nor a cancellation interrupts,
// so a request the kernel never finishes keeps its call, and the client,
// for good; later calls then end at their own deadline, with
// context.DeadlineExceeded. A call that
// fails midway (a timeout, a receive-buffer overflow) leaves no reply
// behind for the next: the socket is drained, or reopened when it cannot
// be.
type Client struct {
	mu      ctxMutex // one request (or one Apply) on the socket at a time
	cfg     Config   // Dial's, to reopen the socket
	nl      *netlink.Conn
	conn    *genetlink.Conn // nl, speaking generic netlink
	family  uint16
	version uint8
	tr      transport       // Apply's way to the socket
	limits  chunkLimits     // how Apply cuts its batches
	maxOps  int             // limits.ops as the buffers allow it
	streak  int             // chunks in a row whose acknowledgements all came
	seq     uint32          // Apply's next sequence number
	dirty   bool            // a call failed midway: replies may be queued
	ctx     context.Context // the running call's, for naming why it was cut short
	redial  bool            // the socket came from Dial and can be reopened

	cancelMu sync.Mutex  // orders a cancellation against the end of its call
	gen      uint64      // counts the calls begun (under cancelMu)
	live     uint64      // gen of the call running, 0 for none (under cancelMu)
	closing  bool        // a Close gave up waiting: the call running closes the socket (under cancelMu)
	closed   bool        // the socket is closed (under mu)
	stop     func() bool // the running call's context.AfterFunc stop
	endFn    func()      // c.end, bound once

	dumpReq  []byte // dump's request buffer, reused (under mu)
	dumpBody []byte // a destination dump's service attributes, reused (under mu)
	reqBuf   []byte // Apply's request buffer, reused up to keepReqBuf (under mu)

	slabMu     sync.Mutex            // guards slab and configSlab
	slab       []DestinationExtended // where Destinations carves its results from
	configSlab []Destination         // where DestinationConfigs carves its results from
}

// Dial opens a generic netlink socket and resolves the "IPVS" family. When
// the family is unknown the error wraps ErrNoIPVS.
func Dial(cfg *Config) (*Client, error) {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	cl, err := dial(c)
	if err != nil {
		return nil, err
	}
	cl.cfg, cl.redial = c, true
	return cl, nil
}

func dial(cfg Config) (*Client, error) {
	conn, err := netlink.Dial(unix.NETLINK_GENERIC, &netlink.Config{MessageBufferSize: recvBufSize, NetNS: cfg.NetNS})
	if err != nil {
		return nil, fmt.Errorf("ipvs: open generic netlink socket: %w", err)
	}
	c, err := newClient(conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if cfg.ReceiveBuffer > 0 {
		if rc, err := conn.SyscallConn(); err == nil {
			setBuffer(rc, unix.SO_RCVBUFFORCE, unix.SO_RCVBUF, cfg.ReceiveBuffer)
		}
	}
	return c, nil
}

// newClient resolves the IPVS family on conn and sizes its buffers for
// pipelined batches.
func newClient(conn *netlink.Conn) (*Client, error) {
	gc := genetlink.NewConn(conn)
	_ = conn.SetDeadline(time.Now().Add(DefaultTimeout))
	fam, err := gc.GetFamily(genlName)
	_ = conn.SetDeadline(time.Time{})
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("ipvs: generic netlink family %q not found: %w", genlName, ErrNoIPVS)
	}
	if err != nil {
		return nil, fmt.Errorf("ipvs: resolve generic netlink family %q: %w", genlName, cause(err))
	}
	lim := sizeBuffers(conn)
	c := &Client{nl: conn, conn: gc, family: fam.ID, version: fam.Version, limits: lim, maxOps: lim.ops}
	if rc, err := conn.SyscallConn(); err == nil {
		c.tr = newRawTransport(rc)
	} else {
		c.tr = connTransport{conn}
	}
	return c, nil
}

// CloseWait is how long Close waits for a running call to end.
const CloseWait = DefaultTimeout

// Close closes the socket once no call runs, waiting for a running call
// CloseWait at most (see CloseContext).
func (c *Client) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), CloseWait)
	defer cancel()
	return c.CloseContext(ctx)
}

// CloseContext closes the socket once no call runs, waiting for a
// running call no longer than ctx allows. When ctx ends first (a request
// the kernel never finishes holds the client), it cuts that call short
// as the call's own context would (the socket's deadline set to now),
// leaves the socket to be closed as the call ends, and returns an error
// wrapping ctx's. Calls after a Close fail; a second Close does nothing.
func (c *Client) CloseContext(ctx context.Context) error {
	if err := c.mu.LockCtx(ctx); err != nil {
		c.cancelMu.Lock()
		defer c.cancelMu.Unlock()
		c.closing = true
		if c.mu.TryLock() { // the call ended meanwhile, before seeing closing
			defer c.mu.Unlock()
			return c.closeConn()
		}
		if c.live != 0 {
			_ = c.nl.SetDeadline(time.Now())
		}
		return fmt.Errorf("ipvs: close: a call still holds the socket, closed once it ends: %w", err)
	}
	defer c.mu.Unlock()
	return c.closeConn()
}

// closeConn closes the socket unless closed already. Called with mu held.
func (c *Client) closeConn() error {
	if c.closed {
		return nil
	}
	c.closed = true
	return c.conn.Close()
}

// ctxMutex is a mutex whose Lock can give up when a context ends (its
// zero value is unlocked).
type ctxMutex struct {
	once sync.Once
	ch   chan struct{} // holds a value while locked
}

func (m *ctxMutex) init() { m.once.Do(func() { m.ch = make(chan struct{}, 1) }) }

// LockCtx locks m, or returns ctx's error if ctx ends first.
func (m *ctxMutex) LockCtx(ctx context.Context) error {
	m.init()
	select {
	case m.ch <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TryLock locks m if it is unlocked and reports whether it did.
func (m *ctxMutex) TryLock() bool {
	m.init()
	select {
	case m.ch <- struct{}{}:
		return true
	default:
		return false
	}
}

// Unlock unlocks m.
func (m *ctxMutex) Unlock() { <-m.ch }

// begin takes the socket for one call, waiting for the call running (if
// any) no longer than ctx allows: it clears what an earlier failed call
// left queued and arms the socket's deadline from ctx. The returned
// function undoes both and must be called once.
func (c *Client) begin(ctx context.Context) (func(), error) {
	if err := c.mu.LockCtx(ctx); err != nil {
		return nil, err // another call holds the client past ctx's end
	}
	if err := ctx.Err(); err != nil {
		c.release()
		return nil, err
	}
	if c.closed {
		c.release()
		return nil, fmt.Errorf("ipvs: the client is closed: %w", net.ErrClosed)
	}
	if c.dirty {
		if err := c.reset(); err != nil {
			c.release()
			return nil, err
		}
	}
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(DefaultTimeout)
	}
	_ = c.nl.SetDeadline(dl) // fakes without deadlines: the fake never blocks
	c.ctx = ctx
	c.cancelMu.Lock()
	c.gen++
	gen := c.gen
	c.live = gen
	c.cancelMu.Unlock()
	c.stop = context.AfterFunc(ctx, func() {
		c.cancelMu.Lock()
		defer c.cancelMu.Unlock()
		if c.live == gen { // the call is still running
			_ = c.nl.SetDeadline(time.Now())
		}
	})
	if c.endFn == nil {
		c.endFn = c.end
	}
	return c.endFn, nil
}

// end ends the call begin began: a cancellation that comes later, or is
// running now, no longer touches the socket once end has it. The dumps of
// observe call begin and end a thousand times in a row; they allocate no
// channel nor closure of their own.
func (c *Client) end() {
	c.stop()
	c.cancelMu.Lock()
	c.live = 0
	c.cancelMu.Unlock()
	_ = c.nl.SetDeadline(time.Time{})
	c.ctx, c.stop = nil, nil
	c.release()
}

// release lets the client go (unlocks mu), closing the socket first when
// a Close gave up waiting for the holder and left the socket to it (also
// a call that fails in begin, before its request); closing is read and
// mu released under cancelMu, so that Close either sees mu free or the
// holder sees closing.
func (c *Client) release() {
	c.cancelMu.Lock()
	if c.closing {
		_ = c.closeConn()
	}
	c.mu.Unlock()
	c.cancelMu.Unlock()
}

// reset empties the socket of replies a failed call left, or reopens it.
// Called with mu held.
func (c *Client) reset() error {
	if c.tr.drain(func(uint32, syscall.Errno) {}) == nil {
		c.dirty = false
		return nil
	}
	if !c.redial {
		c.dirty = false // a fake: nothing better to do
		return nil
	}
	n, err := dial(c.cfg)
	if err != nil {
		return fmt.Errorf("ipvs: reopen the socket after a failed request: %w", err)
	}
	c.conn.Close()
	c.nl, c.conn, c.family, c.version, c.tr, c.limits, c.maxOps = n.nl, n.conn, n.family, n.version, n.tr, n.limits, n.maxOps
	c.dirty = false
	return nil
}

// familyMoved reports whether err, a request's refusal, was generic
// netlink's for a family id it no longer knows, and if so takes the IPVS
// family's new id: after ip_vs is unloaded and loaded again, IPVS has a
// new id and everything sent to the old one is refused with ENOENT, which
// IPVS itself also answers for an object that does not exist. On ENOENT
// it asks the controller for the family (CTRL_CMD_GETFAMILY): an id that
// changed means the request never reached IPVS and may be sent again, to
// c.family. Called with mu held.
func (c *Client) familyMoved(err error) bool {
	if !errors.Is(err, unix.ENOENT) || c.dirty {
		return false
	}
	fam, ferr := c.conn.GetFamily(genlName)
	if ferr != nil {
		_ = c.failed(ferr) // IPVS gone (ENOENT) leaves err as it is
		return false
	}
	if fam.ID == c.family {
		return false
	}
	c.family, c.version = fam.ID, fam.Version
	return true
}

// failed marks the socket for a reset when err is not a plain kernel
// refusal (which leaves nothing queued), and returns err, naming the
// context's error when the call was cut short by it.
func (c *Client) failed(err error) error {
	if err != nil && !refusal(err) {
		c.dirty = true
		return c.why(err)
	}
	return err
}

// why adds the running call's context error to a socket error the
// context caused (the deadline it set, or cancellation).
func (c *Client) why(err error) error {
	if c.ctx != nil && c.ctx.Err() != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w: %w", c.ctx.Err(), err)
	}
	return err
}

// refusal reports whether err is the kernel's answer to a request: an
// errno in an NLMSG_ERROR, not a failure of the socket.
func refusal(err error) bool {
	var oe *netlink.OpError
	if !errors.As(err, &oe) {
		return false
	}
	_, ok := oe.Err.(syscall.Errno) // a system call's error is an *os.SyscallError
	return ok
}

// execute runs one request (a dump with netlink.Dump) under ctx.
func (c *Client) execute(ctx context.Context, cmd uint8, body []byte, flags netlink.HeaderFlags) ([]genetlink.Message, error) {
	end, err := c.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end()
	msgs, err := c.conn.Execute(genetlink.Message{Header: genetlink.Header{Command: cmd, Version: c.version}, Data: body},
		c.family, flags)
	if err != nil && c.familyMoved(err) {
		msgs, err = c.conn.Execute(genetlink.Message{Header: genetlink.Header{Command: cmd, Version: c.version}, Data: body},
			c.family, flags)
	}
	if err != nil {
		return nil, c.failed(err)
	}
	return msgs, nil
}

// Info returns the IPVS version and connection table size.
func (c *Client) Info(ctx context.Context) (Info, error) {
	msgs, err := c.execute(ctx, cmdGetInfo, nil, netlink.Request)
	if err != nil {
		return Info{}, fmt.Errorf("ipvs: get info: %w", cause(err))
	}
	if len(msgs) == 0 {
		return Info{}, errors.New("ipvs: get info: empty reply")
	}
	in, err := decodeInfo(msgs[0].Data)
	if err != nil {
		return Info{}, fmt.Errorf("ipvs: get info: %w", err)
	}
	return in, nil
}

// Services returns every virtual service in the kernel, in the kernel's
// order.
func (c *Client) Services(ctx context.Context) ([]ServiceExtended, error) {
	var (
		out    []ServiceExtended
		decErr error
	)
	err := c.dump(ctx, cmdGetService, nil, func(p []byte) {
		if decErr != nil {
			return
		}
		b, err := nestedIn(p, cmdAttrService)
		if err != nil || b == nil {
			decErr = fmt.Errorf("ipvs: list services: malformed reply: %v", err)
			return
		}
		s, err := decodeService(b)
		if err != nil {
			decErr = fmt.Errorf("ipvs: list services: %w", err)
			return
		}
		out = append(out, s)
	})
	if err != nil {
		return nil, fmt.Errorf("ipvs: list services: %w", cause(err))
	}
	if decErr != nil {
		return nil, decErr
	}
	if out == nil {
		out = []ServiceExtended{}
	}
	return out, nil
}

// Service returns the virtual service with key k, with its counters: one
// IPVS_CMD_GET_SERVICE request and its reply, not a dump of every service
// (a pass converging one service need not read the other thousand). A
// service that does not exist is an *Error wrapping ESRCH.
func (c *Client) Service(ctx context.Context, k ServiceKey) (ServiceExtended, error) {
	fail := func(err error) (ServiceExtended, error) {
		return ServiceExtended{}, &Error{Op: opGetService, Object: k.String(), Err: err}
	}
	body, err := serviceAttrs(Service{Family: k.Family, Protocol: k.Protocol, Address: k.Address, Port: k.Port, FWMark: k.FWMark}, false)
	if err != nil {
		return fail(err)
	}
	msgs, err := c.execute(ctx, cmdGetService, body, netlink.Request)
	if err != nil {
		return fail(cause(err))
	}
	if len(msgs) == 0 {
		return fail(errors.New("empty reply"))
	}
	b, err := nestedIn(msgs[0].Data, cmdAttrService)
	if err != nil || b == nil {
		return fail(fmt.Errorf("malformed reply: %v", err))
	}
	svc, err := decodeService(b)
	if err != nil {
		return fail(err)
	}
	return svc, nil
}

// opGetService names the request for one service in errors.
const opGetService = "get service"

// apply1 runs a single Op.
func (c *Client) apply1(ctx context.Context, op Op) error { return c.Apply(ctx, []Op{op})[0] }

// NewService adds s (IPVS_CMD_NEW_SERVICE); EEXIST when its key exists.
func (c *Client) NewService(ctx context.Context, s Service) error {
	return c.apply1(ctx, Op{Kind: OpNewService, Service: s})
}

// UpdateService sets the configuration of the service with s's key in
// place (IPVS_CMD_SET_SERVICE): connections and counters survive.
func (c *Client) UpdateService(ctx context.Context, s Service) error {
	return c.apply1(ctx, Op{Kind: OpUpdateService, Service: s})
}

// DeleteService removes the service with s's key and its destinations;
// ESRCH when there is none.
func (c *Client) DeleteService(ctx context.Context, s Service) error {
	return c.apply1(ctx, Op{Kind: OpDeleteService, Service: s})
}

// NewDestination adds d to the service with s's key.
func (c *Client) NewDestination(ctx context.Context, s Service, d Destination) error {
	return c.apply1(ctx, Op{Kind: OpNewDestination, Service: s, Destination: d})
}

// UpdateDestination sets d's forwarding method, weight, thresholds and
// tunnel settings in place.
func (c *Client) UpdateDestination(ctx context.Context, s Service, d Destination) error {
	return c.apply1(ctx, Op{Kind: OpUpdateDestination, Service: s, Destination: d})
}

// DeleteDestination removes the destination with d's key from the service
// with s's key; ENOENT when there is none.
func (c *Client) DeleteDestination(ctx context.Context, s Service, d Destination) error {
	return c.apply1(ctx, Op{Kind: OpDeleteDestination, Service: s, Destination: d})
}
