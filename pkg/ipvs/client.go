package ipvs

import (
	"errors"
	"fmt"
	"os"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
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
	conn    *genetlink.Conn
	family  uint16
	version uint8
}

// Dial opens a generic netlink socket and resolves the "IPVS" family. When
// the family is unknown the error wraps ErrNoIPVS.
func Dial(cfg *Config) (*Client, error) {
	var nc netlink.Config
	if cfg != nil {
		nc.NetNS = cfg.NetNS
	}
	conn, err := genetlink.Dial(&nc)
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

// newClient resolves the IPVS family on conn.
func newClient(conn *genetlink.Conn) (*Client, error) {
	fam, err := conn.GetFamily(genlName)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("ipvs: generic netlink family %q not found: %w", genlName, ErrNoIPVS)
	}
	if err != nil {
		return nil, fmt.Errorf("ipvs: resolve generic netlink family %q: %w", genlName, cause(err))
	}
	return &Client{conn: conn, family: fam.ID, version: fam.Version}, nil
}

// Close closes the socket.
func (c *Client) Close() error { return c.conn.Close() }

// Info returns the IPVS version and connection table size.
func (c *Client) Info() (Info, error) {
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
	msgs, err := c.conn.Execute(genetlink.Message{Header: genetlink.Header{Command: cmdGetDest, Version: c.version}, Data: body},
		c.family, netlink.Request|netlink.Dump)
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

// Apply performs ops in order and returns one error per Op, nil for
// success. It stops at the first failure: the Ops after it are reported as
// ErrNotAttempted. Callers must accept both that and an implementation
// that attempts every Op (a pipelined one), so they record each success.
func (c *Client) Apply(ops []Op) []error {
	errs := make([]error, len(ops))
	failed := false
	for i, op := range ops {
		if failed {
			errs[i] = ErrNotAttempted
			continue
		}
		errs[i] = c.do(op)
		failed = errs[i] != nil
	}
	return errs
}

// do sends one Op and waits for its acknowledgement.
func (c *Client) do(op Op) error {
	msg, err := op.message(c.version)
	if err != nil {
		return err
	}
	_, err = c.conn.Execute(msg, c.family, netlink.Request|netlink.Acknowledge)
	return op.fail(err)
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
