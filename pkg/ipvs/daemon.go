package ipvs

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/mdlayher/netlink"
)

// Sync daemon commands and attributes (IPVS_CMD_*_DAEMON,
// IPVS_CMD_ATTR_DAEMON, IPVS_DAEMON_ATTR_*).
const (
	cmdNewDaemon  = 9
	cmdDelDaemon  = 10
	cmdGetDaemon  = 11
	cmdAttrDaemon = 3

	daemonAttrState       = 1
	daemonAttrMcastIfn    = 2
	daemonAttrSyncID      = 3
	daemonAttrSyncMaxLen  = 4
	daemonAttrMcastGroup  = 5
	daemonAttrMcastGroup6 = 6
	daemonAttrMcastPort   = 7
	daemonAttrMcastTTL    = 8
)

// ifNameMax is IP_VS_IFNAME_MAXLEN less the terminating NUL.
const ifNameMax = 15

// DaemonState is the role of a connection sync daemon (IP_VS_STATE_*).
// The kernel runs at most one master and one backup per network namespace.
type DaemonState uint32

// Sync daemon roles.
const (
	DaemonMaster DaemonState = 1 // sends the connection table
	DaemonBackup DaemonState = 2 // receives it
)

// String returns "master", "backup" or "state(N)".
func (s DaemonState) String() string {
	switch s {
	case DaemonMaster:
		return "master"
	case DaemonBackup:
		return "backup"
	}
	return fmt.Sprintf("state(%d)", uint32(s))
}

// DefaultSyncGroup is the kernel's multicast group when a Daemon sets none
// (IP_VS_SYNC_GROUP), whatever the family of the services.
var DefaultSyncGroup = netip.MustParseAddr("224.0.0.81")

// Default sync port and TTL (IP_VS_SYNC_PORT, and the TTL ipvsadm uses).
const (
	DefaultSyncPort = 8848
	DefaultSyncTTL  = 1
)

// Daemon is one connection sync daemon: what IPVS_CMD_NEW_DAEMON starts and
// IPVS_CMD_GET_DAEMON reports. Zero MaxLen, Group, Port and TTL mean the
// kernel's defaults (a maximum message size from the interface MTU,
// DefaultSyncGroup, DefaultSyncPort, DefaultSyncTTL); read back, they are
// always set. The kernel clamps MaxLen to what the interface MTU allows;
// a MaxLen outside that range is never read back as asked. It is
// comparable.
type Daemon struct {
	State     DaemonState `json:"state"`
	Interface string      `json:"interface"` // multicast interface
	SyncID    uint8       `json:"syncid"`    // only messages with this id are accepted
	MaxLen    uint16      `json:"maxlen,omitempty"`
	Group     netip.Addr  `json:"group,omitzero"` // IPv4 or IPv6 multicast group
	Port      uint16      `json:"port,omitempty"`
	TTL       uint8       `json:"ttl,omitempty"`
}

// String names the daemon as "master on eth1 syncid 1".
func (d Daemon) String() string {
	return fmt.Sprintf("%s on %s syncid %d", d.State, d.Interface, d.SyncID)
}

// Validate reports a daemon the kernel would refuse.
func (d Daemon) Validate() error {
	switch {
	case d.State != DaemonMaster && d.State != DaemonBackup:
		return fmt.Errorf("sync daemon: state %v is neither master nor backup", d.State)
	case d.Interface == "" || len(d.Interface) > ifNameMax:
		return fmt.Errorf("sync daemon: interface name %q must have 1 to %d bytes", d.Interface, ifNameMax)
	case d.Group.IsValid() && !d.Group.IsMulticast():
		return fmt.Errorf("sync daemon: group %v is not a multicast address", d.Group)
	}
	return nil
}

// Satisfies reports whether the running daemon have (read back) is what d
// asks for: the same state, interface and sync id, and the same group,
// port, TTL and maximum length where d sets them (or the defaults).
func (d Daemon) Satisfies(have Daemon) bool {
	want := d.withDefaults()
	// The kernel clamps sync_maxlen to what the interface's MTU allows,
	// so a smaller value read back is what was asked for.
	if d.MaxLen == 0 || have.MaxLen > 0 && have.MaxLen <= d.MaxLen {
		want.MaxLen = have.MaxLen
	}
	return want == have
}

// withDefaults fills the kernel's defaults of Group, Port and TTL.
func (d Daemon) withDefaults() Daemon {
	if !d.Group.IsValid() {
		d.Group = DefaultSyncGroup
	}
	d.Group = d.Group.Unmap()
	if d.Port == 0 {
		d.Port = DefaultSyncPort
	}
	if d.TTL == 0 {
		d.TTL = DefaultSyncTTL
	}
	return d
}

// daemonAttrs returns the IPVS_CMD_ATTR_DAEMON request body for d; with
// full, everything NEW_DAEMON takes, otherwise the state alone.
func daemonAttrs(d Daemon, full bool) []byte {
	b, at := nest(nil)
	b = attrU32(b, daemonAttrState, uint32(d.State))
	if full {
		b = attrString(b, daemonAttrMcastIfn, d.Interface)
		b = attrU32(b, daemonAttrSyncID, uint32(d.SyncID))
		if d.MaxLen != 0 {
			b = attrU16(b, daemonAttrSyncMaxLen, d.MaxLen)
		}
		if g := d.Group.Unmap(); g.Is4() {
			v := g.As4()
			b = append(attr(b, daemonAttrMcastGroup, 4), v[:]...)
		} else if g.Is6() {
			v := g.As16()
			b = append(attr(b, daemonAttrMcastGroup6, 16), v[:]...)
		}
		if d.Port != 0 {
			// Typed __be16 in the uapi, but the kernel keeps and uses the
			// value in host order (htons(mcast_port + id) in ip_vs_sync.c),
			// and ipvsadm sends it so.
			b = attrU16(b, daemonAttrMcastPort, d.Port)
		}
		if d.TTL != 0 {
			b = attrU8(b, daemonAttrMcastTTL, d.TTL)
		}
	}
	return end(b, at, cmdAttrDaemon)
}

// decodeDaemon reads the attributes inside an IPVS_CMD_ATTR_DAEMON nest.
func decodeDaemon(b []byte) (Daemon, error) {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return Daemon{}, err
	}
	var d Daemon
	for ad.Next() {
		switch ad.Type() {
		case daemonAttrState:
			d.State = DaemonState(ad.Uint32())
		case daemonAttrMcastIfn:
			d.Interface = ad.String()
		case daemonAttrSyncID:
			d.SyncID = uint8(ad.Uint32())
		case daemonAttrSyncMaxLen:
			d.MaxLen = ad.Uint16()
		case daemonAttrMcastGroup:
			ad.Do(func(b []byte) error {
				if len(b) < 4 {
					return errShort
				}
				d.Group = netip.AddrFrom4([4]byte(b[:4]))
				return nil
			})
		case daemonAttrMcastGroup6:
			ad.Do(func(b []byte) error {
				if len(b) < 16 {
					return errShort
				}
				d.Group = netip.AddrFrom16([16]byte(b[:16]))
				return nil
			})
		case daemonAttrMcastPort:
			d.Port = ad.Uint16() // host order: see daemonAttrs
		case daemonAttrMcastTTL:
			d.TTL = ad.Uint8()
		}
	}
	return d, ad.Err()
}

// Daemons returns the running sync daemons (IPVS_CMD_GET_DAEMON), master
// first.
func (c *Client) Daemons(ctx context.Context) ([]Daemon, error) {
	msgs, err := c.execute(ctx, cmdGetDaemon, nil, netlink.Request|netlink.Dump)
	if err != nil {
		return nil, fmt.Errorf("ipvs: list sync daemons: %w", cause(err))
	}
	out := make([]Daemon, 0, len(msgs))
	for _, m := range msgs {
		b, err := nestedIn(m.Data, cmdAttrDaemon)
		if err != nil || b == nil {
			return nil, fmt.Errorf("ipvs: list sync daemons: malformed reply: %v", err)
		}
		d, err := decodeDaemon(b)
		if err != nil {
			return nil, fmt.Errorf("ipvs: list sync daemons: %w", err)
		}
		out = append(out, d)
	}
	return out, nil
}

// NewDaemon starts the sync daemon d (IPVS_CMD_NEW_DAEMON); EEXIST when a
// daemon in d's state runs already, ENODEV when the interface is missing.
func (c *Client) NewDaemon(ctx context.Context, d Daemon) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("ipvs: start sync daemon: %w", err)
	}
	if _, err := c.execute(ctx, cmdNewDaemon, daemonAttrs(d, true), netlink.Request|netlink.Acknowledge); err != nil {
		return &Error{Op: "start sync daemon", Object: d.String(), Err: cause(err)}
	}
	return nil
}

// DeleteDaemon stops the sync daemon in state s (IPVS_CMD_DEL_DAEMON);
// ESRCH when none runs. Linux 6.1 was seen to block this request for
// good when it came within a millisecond of the daemon's start, before the
// new kernel thread had run (one CPU). ctx cannot end that wait: the
// kernel handles the request inside sendmsg, which no deadline
// interrupts, so the call does not return and holds the client; later
// calls on the client end at their own deadline (see Client).
func (c *Client) DeleteDaemon(ctx context.Context, s DaemonState) error {
	if s != DaemonMaster && s != DaemonBackup {
		return fmt.Errorf("ipvs: stop sync daemon: %w", errors.New("state is neither master nor backup"))
	}
	if _, err := c.execute(ctx, cmdDelDaemon, daemonAttrs(Daemon{State: s}, false), netlink.Request|netlink.Acknowledge); err != nil {
		return &Error{Op: "stop sync daemon", Object: s.String(), Err: cause(err)}
	}
	return nil
}
