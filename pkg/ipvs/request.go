package ipvs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
)

// execute sends one request of command cmd with body and returns the
// replies. ctx's deadline bounds the exchange through the socket's
// deadline (a socket without deadlines, as in the tests, has none).
// TODO(merge): the ctx-taking request path of client.go replaces this.
func (c *Client) execute(ctx context.Context, cmd uint8, body []byte, flags netlink.HeaderFlags) ([]genetlink.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if dl, ok := ctx.Deadline(); ok {
		if err := c.nl.SetDeadline(dl); err == nil {
			defer c.nl.SetDeadline(time.Time{})
		}
	}
	msgs, err := c.conn.Execute(genetlink.Message{Header: genetlink.Header{Command: cmd, Version: c.version}, Data: body},
		c.family, flags)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	}
	return msgs, err
}
