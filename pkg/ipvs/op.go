package ipvs

import (
	"errors"
	"fmt"

	"github.com/mdlayher/genetlink"
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

// message encodes the Op as a generic netlink request.
func (o Op) message(version uint8) (genetlink.Message, error) {
	var (
		cmd  uint8
		body []byte
		err  error
	)
	switch o.Kind {
	case OpNewService, OpUpdateService, OpDeleteService:
		cmd = map[OpKind]uint8{OpNewService: cmdNewService, OpUpdateService: cmdSetService, OpDeleteService: cmdDelService}[o.Kind]
		body, err = serviceAttrs(o.Service, o.Kind != OpDeleteService)
	case OpNewDestination, OpUpdateDestination, OpDeleteDestination:
		cmd = map[OpKind]uint8{OpNewDestination: cmdNewDest, OpUpdateDestination: cmdSetDest, OpDeleteDestination: cmdDelDest}[o.Kind]
		body, err = destinationAttrs(o.Service, o.Destination, o.Kind != OpDeleteDestination)
	default:
		err = fmt.Errorf("unknown operation %d", o.Kind)
	}
	if err != nil {
		return genetlink.Message{}, &Error{Op: o.Kind.String(), Object: o.object(), Err: err}
	}
	return genetlink.Message{Header: genetlink.Header{Command: cmd, Version: version}, Data: body}, nil
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
