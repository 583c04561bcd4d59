package ipvs

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/faultinject"
	"github.com/mdlayher/netlink"
)

// Configuration commands and their top-level attributes
// (IPVS_CMD_SET_CONFIG, IPVS_CMD_GET_CONFIG, IPVS_CMD_ATTR_TIMEOUT_*).
const (
	cmdSetConfig         = 12
	cmdGetConfig         = 13
	cmdAttrTimeoutTCP    = 4
	cmdAttrTimeoutTCPFin = 5
	cmdAttrTimeoutUDP    = 6
)

// Timeouts are the connection timeouts of the kernel's IPVS (what ipvsadm
// --set writes): established TCP, TCP after FIN, and UDP. The kernel keeps
// whole seconds. In a SetTimeouts request a zero field leaves the kernel's
// value unchanged.
type Timeouts struct {
	TCP    time.Duration `json:"tcp,omitempty"`
	TCPFin time.Duration `json:"tcp_fin,omitempty"`
	UDP    time.Duration `json:"udp,omitempty"`
}

// String renders "tcp 900s tcp_fin 120s udp 300s".
func (t Timeouts) String() string {
	return fmt.Sprintf("tcp %v tcp_fin %v udp %v", t.TCP, t.TCPFin, t.UDP)
}

// Validate reports a timeout that is not a whole, positive number of
// seconds within the kernel's range (zero is allowed: unchanged).
func (t Timeouts) Validate() error {
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"tcp", t.TCP}, {"tcp_fin", t.TCPFin}, {"udp", t.UDP}} {
		if f.d == 0 {
			continue
		}
		if f.d < time.Second || f.d%time.Second != 0 || f.d/time.Second > math.MaxInt32/1000 {
			return fmt.Errorf("timeout %s %v: want whole seconds from 1s to %ds", f.name, f.d, math.MaxInt32/1000)
		}
	}
	return nil
}

// Timeouts reads the kernel's timeouts (IPVS_CMD_GET_CONFIG).
func (c *Client) Timeouts(ctx context.Context) (Timeouts, error) {
	msgs, err := c.execute(ctx, cmdGetConfig, nil, netlink.Request)
	if err != nil {
		return Timeouts{}, fmt.Errorf("ipvs: get timeouts: %w", cause(err))
	}
	if len(msgs) == 0 {
		return Timeouts{}, fmt.Errorf("ipvs: get timeouts: empty reply")
	}
	ad, err := netlink.NewAttributeDecoder(msgs[0].Data)
	if err != nil {
		return Timeouts{}, fmt.Errorf("ipvs: get timeouts: %w", err)
	}
	var t Timeouts
	for ad.Next() {
		sec := func() time.Duration { return time.Duration(ad.Uint32()) * time.Second }
		switch ad.Type() {
		case cmdAttrTimeoutTCP:
			t.TCP = sec()
		case cmdAttrTimeoutTCPFin:
			t.TCPFin = sec()
		case cmdAttrTimeoutUDP:
			t.UDP = sec()
		}
	}
	if err := ad.Err(); err != nil {
		return Timeouts{}, fmt.Errorf("ipvs: get timeouts: %w", err)
	}
	return t, nil
}

// SetTimeouts writes the non-zero fields of t (IPVS_CMD_SET_CONFIG).
func (c *Client) SetTimeouts(ctx context.Context, t Timeouts) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("ipvs: set timeouts: %w", err)
	}
	var b []byte
	for _, f := range []struct {
		typ uint16
		d   time.Duration
	}{{cmdAttrTimeoutTCP, t.TCP}, {cmdAttrTimeoutTCPFin, t.TCPFin}, {cmdAttrTimeoutUDP, t.UDP}} {
		if f.d != 0 {
			b = attrU32(b, f.typ, uint32(f.d/time.Second))
		}
	}
	if b == nil {
		return nil
	}
	if _, err := c.execute(ctx, cmdSetConfig, b, netlink.Request|netlink.Acknowledge); err != nil {
		return &Error{Op: "set timeouts", Object: t.String(), Err: cause(err)}
	}
	return nil
}

// PlanTimeouts returns the request that turns observed into desired: the
// fields desired sets (non-zero) that differ from observed, and false when
// there are none.
func PlanTimeouts(desired, observed Timeouts) (Timeouts, bool) {
	var set Timeouts
	if desired.TCP != 0 && desired.TCP != observed.TCP {
		set.TCP = desired.TCP
	}
	if desired.TCPFin != 0 && desired.TCPFin != observed.TCPFin {
		set.TCPFin = desired.TCPFin
	}
	if desired.UDP != 0 && desired.UDP != observed.UDP {
		set.UDP = desired.UDP
	}
	return set, set != Timeouts{}
}

// TimeoutsKernel is what ApplyTimeouts needs from the kernel; *Client
// implements it.
type TimeoutsKernel interface {
	SetTimeouts(ctx context.Context, t Timeouts) error
}

// ApplyTimeouts writes set (from PlanTimeouts) in one kernel write.
func ApplyTimeouts(ctx context.Context, k TimeoutsKernel, set Timeouts) error {
	if set == (Timeouts{}) {
		return nil
	}
	return faultinject.Write("ipvs: set timeouts "+set.String(), func() error { return k.SetTimeouts(ctx, set) })
}
