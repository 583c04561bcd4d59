package realserver

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"

	"github.com/lvs-rs/lvs-rs/internal/rtnl"
)

// linkNames looks links up one at a time, as Observe needs their names or
// indexes, and remembers them: a real server's plan looks at lo, tunl0 and
// the few links that hold a VIP or a default route, so a host with many
// links (containers' veths, say) pays for none of the others.
type linkNames struct {
	h     *netlink.Handle
	names map[int]string
	// err joins every failed lookup other than a link that is gone.
	err error
}

func newLinkNames(h *netlink.Handle) *linkNames {
	return &linkNames{h: h, names: map[int]string{}}
}

// name returns the name of the link with index i; "" when it is gone
// (deleted since the dump that reported it, with its addresses and
// routes) or when i names none (a multipath route's own index is 0).
func (n *linkNames) name(i int) string {
	if i <= 0 {
		return ""
	}
	if s, ok := n.names[i]; ok {
		return s
	}
	l, err := n.h.LinkByIndex(i)
	n.names[i] = ""
	switch {
	case err == nil:
		n.names[i] = l.Attrs().Name
	case !rtnl.LinkGone(err):
		n.err = errors.Join(n.err, fmt.Errorf("realserver: look up link %d: %w", i, err))
	}
	return n.names[i]
}

// link returns the link named dev, remembering its name; nil when there
// is none.
func (n *linkNames) link(dev string) (netlink.Link, error) {
	l, err := n.h.LinkByName(dev)
	switch {
	case err == nil:
		n.names[l.Attrs().Index] = dev
		return l, nil
	case rtnl.LinkGone(err):
		return nil, nil
	}
	return nil, fmt.Errorf("realserver: look up %s: %w", dev, err)
}
