package director

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

var errFake = errors.New("fake failure")

// fakeKernel is an in-memory IPVS table that counts writes. It behaves
// like the kernel for the errors the director relies on.
type fakeKernel struct {
	services   []ipvs.ServiceExtended
	dests      map[ipvs.ServiceKey][]ipvs.DestinationExtended
	schedulers map[string]bool
	noIPVS     bool
	// pipelined attempts every op instead of stopping at the first failure.
	pipelined bool
	// failOn makes the op with this String() fail with EPERM.
	failOn string
	writes int
	ops    []string
}

func newFakeKernel() *fakeKernel {
	f := &fakeKernel{dests: map[ipvs.ServiceKey][]ipvs.DestinationExtended{}, schedulers: map[string]bool{}}
	for _, s := range []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh", "fo", "ovf"} {
		f.schedulers[s] = true
	}
	return f
}

func (f *fakeKernel) Info(context.Context) (ipvs.Info, error) {
	if f.noIPVS {
		return ipvs.Info{}, fmt.Errorf("ipvs: generic netlink family \"IPVS\" not found: %w", ipvs.ErrNoIPVS)
	}
	return ipvs.Info{Version: 0x010201, ConnTableSize: 4096}, nil
}

func (f *fakeKernel) find(k ipvs.ServiceKey) int {
	return slices.IndexFunc(f.services, func(s ipvs.ServiceExtended) bool { return s.Key() == k })
}

func (f *fakeKernel) Services(context.Context) ([]ipvs.ServiceExtended, error) {
	return slices.Clone(f.services), nil
}

func (f *fakeKernel) Destinations(_ context.Context, s ipvs.Service) ([]ipvs.DestinationExtended, error) {
	if f.find(s.Key()) < 0 {
		return nil, unix.ESRCH
	}
	return slices.Clone(f.dests[s.Key()]), nil
}

func (f *fakeKernel) Apply(_ context.Context, ops []ipvs.Op) []error {
	errs := make([]error, len(ops))
	failed := false
	for i, op := range ops {
		if failed && !f.pipelined {
			errs[i] = ipvs.ErrNotAttempted
			continue
		}
		f.writes++
		f.ops = append(f.ops, op.String())
		if err := f.do(op); err != nil {
			errs[i] = &ipvs.Error{Op: op.Kind.String(), Object: op.String(), Err: err}
			failed = true
		}
	}
	return errs
}

func (f *fakeKernel) do(op ipvs.Op) error {
	if op.String() == f.failOn {
		return unix.EPERM
	}
	k := op.Service.Key()
	i := f.find(k)
	di := -1
	if i >= 0 {
		di = slices.IndexFunc(f.dests[k], func(d ipvs.DestinationExtended) bool { return d.Key() == op.Destination.Key() })
	}
	switch op.Kind {
	case ipvs.OpNewService:
		if i >= 0 {
			return unix.EEXIST
		}
		if !f.schedulers[op.Service.Scheduler] {
			return unix.ENOENT
		}
		f.services = append(f.services, ipvs.ServiceExtended{Service: op.Service})
		return nil
	case ipvs.OpUpdateService, ipvs.OpDeleteService:
		if i < 0 {
			return unix.ESRCH
		}
		if op.Kind == ipvs.OpDeleteService {
			f.services = slices.Delete(f.services, i, i+1)
			delete(f.dests, k)
		} else {
			f.services[i].Service = op.Service
		}
		return nil
	}
	if i < 0 {
		return unix.ESRCH
	}
	switch op.Kind {
	case ipvs.OpNewDestination:
		if di >= 0 {
			return unix.EEXIST
		}
		f.dests[k] = append(f.dests[k], ipvs.DestinationExtended{Destination: op.Destination})
	case ipvs.OpUpdateDestination:
		if di < 0 {
			return unix.ENOENT
		}
		f.dests[k][di].Destination = op.Destination
	case ipvs.OpDeleteDestination:
		if di < 0 {
			return unix.ENOENT
		}
		f.dests[k] = slices.Delete(f.dests[k], di, di+1)
	}
	return nil
}
