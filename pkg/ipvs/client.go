package ipvs

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Config configures Dial.
type Config struct {
	// NetNS is a network namespace file descriptor to open the socket in;
	// 0 means the calling thread's namespace.
	NetNS int
}

// Client talks to the kernel's IPVS over one generic netlink socket. Its
// methods may be called from several goroutines; requests are serialised.
type Client struct {
	mu      sync.Mutex // one request (or one Apply) on the socket at a time
	nl      *netlink.Conn
	conn    *genetlink.Conn // nl, speaking generic netlink
	family  uint16
	version uint8
	tr      transport   // Apply's way to the socket
	limits  chunkLimits // how Apply cuts its batches
	seq     uint32      // Apply's next sequence number
}

// Dial opens a generic netlink socket and resolves the "IPVS" family. When
// the family is unknown the error wraps ErrNoIPVS.
func Dial(cfg *Config) (*Client, error) {
	nc := netlink.Config{MessageBufferSize: recvBufSize}
	if cfg != nil {
		nc.NetNS = cfg.NetNS
	}
	conn, err := netlink.Dial(unix.NETLINK_GENERIC, &nc)
	if err != nil {
		return nil, fmt.Errorf("ipvs: open generic netlink socket: %w", err)
	}
	c, err := newClient(conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// newClient resolves the IPVS family on conn and sizes its buffers for
// pipelined batches.
func newClient(conn *netlink.Conn) (*Client, error) {
	gc := genetlink.NewConn(conn)
	fam, err := gc.GetFamily(genlName)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("ipvs: generic netlink family %q not found: %w", genlName, ErrNoIPVS)
	}
	if err != nil {
		return nil, fmt.Errorf("ipvs: resolve generic netlink family %q: %w", genlName, cause(err))
	}
	c := &Client{nl: conn, conn: gc, family: fam.ID, version: fam.Version, limits: sizeBuffers(conn)}
	if rc, err := conn.SyscallConn(); err == nil {
		c.tr = newRawTransport(rc)
	} else {
		c.tr = connTransport{conn}
	}
	return c, nil
}

// Close closes the socket.
func (c *Client) Close() error { return c.conn.Close() }

// Info returns the IPVS version and connection table size.
func (c *Client) Info() (Info, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	msgs, err := c.conn.Execute(genetlink.Message{Header: genetlink.Header{Command: cmdGetInfo, Version: c.version}},
		c.family, netlink.Request)
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
func (c *Client) Services() ([]ServiceExtended, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	msgs, err := c.conn.Execute(genetlink.Message{Header: genetlink.Header{Command: cmdGetService, Version: c.version}},
		c.family, netlink.Request|netlink.Dump)
	if err != nil {
		return nil, fmt.Errorf("ipvs: list services: %w", cause(err))
	}
	out := make([]ServiceExtended, 0, len(msgs))
	for _, m := range msgs {
		b, err := nestedIn(m.Data, cmdAttrService)
		if err != nil || b == nil {
			return nil, fmt.Errorf("ipvs: list services: malformed reply: %v", err)
		}
		s, err := decodeService(b)
		if err != nil {
			return nil, fmt.Errorf("ipvs: list services: %w", err)
		}
		out = append(out, s)
	}
	return out, nil
}

// Destinations returns the destinations of the service with s's key.
func (c *Client) Destinations(s Service) ([]DestinationExtended, error) {
	body, err := serviceAttrs(s, false)
	if err != nil {
		return nil, fmt.Errorf("ipvs: list destinations of %v: %w", s, err)
	}
	c.mu.Lock()
	msgs, err := c.conn.Execute(genetlink.Message{Header: genetlink.Header{Command: cmdGetDest, Version: c.version}, Data: body},
		c.family, netlink.Request|netlink.Dump)
	c.mu.Unlock()
	if err != nil {
		return nil, &Error{Op: "list destinations of", Object: s.String(), Err: cause(err)}
	}
	fam := familyOf(s.Family, s.Address)
	out := make([]DestinationExtended, 0, len(msgs))
	for _, m := range msgs {
		b, err := nestedIn(m.Data, cmdAttrDest)
		if err != nil || b == nil {
			return nil, fmt.Errorf("ipvs: list destinations of %v: malformed reply: %v", s, err)
		}
		d, err := decodeDestination(b, fam)
		if err != nil {
			return nil, fmt.Errorf("ipvs: list destinations of %v: %w", s, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// apply1 runs a single Op.
func (c *Client) apply1(op Op) error { return c.Apply([]Op{op})[0] }

// NewService adds s (IPVS_CMD_NEW_SERVICE); EEXIST when its key exists.
func (c *Client) NewService(s Service) error { return c.apply1(Op{Kind: OpNewService, Service: s}) }

// UpdateService sets the configuration of the service with s's key in
// place (IPVS_CMD_SET_SERVICE): connections and counters survive.
func (c *Client) UpdateService(s Service) error {
	return c.apply1(Op{Kind: OpUpdateService, Service: s})
}

// DeleteService removes the service with s's key and its destinations;
// ESRCH when there is none.
func (c *Client) DeleteService(s Service) error {
	return c.apply1(Op{Kind: OpDeleteService, Service: s})
}

// NewDestination adds d to the service with s's key.
func (c *Client) NewDestination(s Service, d Destination) error {
	return c.apply1(Op{Kind: OpNewDestination, Service: s, Destination: d})
}

// UpdateDestination sets d's forwarding method, weight, thresholds and
// tunnel settings in place.
func (c *Client) UpdateDestination(s Service, d Destination) error {
	return c.apply1(Op{Kind: OpUpdateDestination, Service: s, Destination: d})
}

// DeleteDestination removes the destination with d's key from the service
// with s's key; ENOENT when there is none.
func (c *Client) DeleteDestination(s Service, d Destination) error {
	return c.apply1(Op{Kind: OpDeleteDestination, Service: s, Destination: d})
}
