package ipvs

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// OpKind is what an Op does.
type OpKind uint8

// The changes Apply performs.
const (
	OpNewService OpKind = iota + 1
	OpUpdateService
	OpDeleteService
	OpNewDestination
	OpUpdateDestination
	OpDeleteDestination
)

var opNames = map[OpKind]string{
	OpNewService: "add service", OpUpdateService: "edit service", OpDeleteService: "delete service",
	OpNewDestination: "add destination", OpUpdateDestination: "edit destination", OpDeleteDestination: "delete destination",
}

// String returns "add service", "edit destination", ...
func (k OpKind) String() string {
	if n, ok := opNames[k]; ok {
		return n
	}
	return fmt.Sprintf("op(%d)", uint8(k))
}

// Op is one change to the kernel's IPVS table. Destination operations name
// their service by Service's key.
type Op struct {
	Kind        OpKind
	Service     Service
	Destination Destination
}

// OnDestination reports whether the Op changes a destination.
func (o Op) OnDestination() bool {
	return o.Kind == OpNewDestination || o.Kind == OpUpdateDestination || o.Kind == OpDeleteDestination
}

// object names what the Op changes.
func (o Op) object() string {
	if o.OnDestination() {
		return fmt.Sprintf("%v in %v", o.Destination, o.Service)
	}
	return o.Service.String()
}

// String renders "add service tcp 10.0.0.100:80" or "delete destination
// 10.0.0.11:80 in tcp 10.0.0.100:80".
func (o Op) String() string { return o.Kind.String() + " " + o.object() }

// Commands of the Op kinds.
var opCommands = [...]uint8{
	OpNewService: cmdNewService, OpUpdateService: cmdSetService, OpDeleteService: cmdDelService,
	OpNewDestination: cmdNewDest, OpUpdateDestination: cmdSetDest, OpDeleteDestination: cmdDelDest,
}

// appendRequest appends the Op as a generic netlink request for the IPVS
// family (netlink header with seq and NLM_F_REQUEST, plus NLM_F_ACK with
// ack; generic netlink header; attributes). On error b is returned
// unchanged.
func (o *Op) appendRequest(b []byte, family uint16, version uint8, seq uint32, ack bool) ([]byte, error) {
	if o.Kind < OpNewService || o.Kind > OpDeleteDestination {
		return b, &Error{Op: o.Kind.String(), Object: o.object(), Err: fmt.Errorf("unknown operation %d", o.Kind)}
	}
	start := len(b)
	b = append(b, make([]byte, nlmsgHeaderLen)...)
	b = append(b, opCommands[o.Kind], version, 0, 0)
	var err error
	if o.OnDestination() {
		b, err = appendDestinationAttrs(b, &o.Service, &o.Destination, o.Kind != OpDeleteDestination)
	} else {
		b, err = appendServiceAttrs(b, &o.Service, o.Kind != OpDeleteService)
	}
	if err != nil {
		return b[:start], &Error{Op: o.Kind.String(), Object: o.object(), Err: err}
	}
	h := b[start:]
	binary.NativeEndian.PutUint32(h[0:], uint32(len(h)))
	binary.NativeEndian.PutUint16(h[4:], family)
	flags := netlink.Request
	if ack {
		flags |= netlink.Acknowledge
	}
	binary.NativeEndian.PutUint16(h[6:], uint16(flags))
	binary.NativeEndian.PutUint32(h[8:], seq)
	binary.NativeEndian.PutUint32(h[12:], 0) // the kernel fills in our port id
	return b, nil
}

// fail wraps the kernel's refusal of the Op, naming the scheduler module
// when the kernel could not find it.
func (o Op) fail(err error) error {
	if err == nil {
		return nil
	}
	err = cause(err)
	if (o.Kind == OpNewService || o.Kind == OpUpdateService) && errors.Is(err, unix.ENOENT) {
		name := o.Service.Scheduler
		if o.Service.PEName != "" {
			err = fmt.Errorf("scheduler %q (module ip_vs_%s) or persistence engine %q (module ip_vs_pe_%s): %w",
				name, name, o.Service.PEName, o.Service.PEName, err)
		} else {
			err = fmt.Errorf("scheduler %q (module ip_vs_%s): %w", name, name, err)
		}
	}
	return &Error{Op: o.Kind.String(), Object: o.object(), Err: err}
}
