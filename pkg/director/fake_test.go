package director

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/nftmark"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
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
	// lose makes an op for which it returns true happen while its
	// acknowledgement is lost: its result wraps ipvs.ErrOutcomeUnknown.
	lose func(op ipvs.Op) bool
	// drop makes an op for which it returns true not happen while its
	// result wraps ipvs.ErrOutcomeUnknown: a refusal whose answer was lost.
	drop func(op ipvs.Op) bool
	// before runs before each op: another writer at work.
	before func(f *fakeKernel, op ipvs.Op)
	// afterDump runs after each dump of services: another writer at work
	// between the dump of services and those of destinations.
	afterDump func(f *fakeKernel)
	// crashAfter panics right after the write with this number (from 1),
	// as a process killed there would stop.
	crashAfter int
	// crashBefore panics as the write with this number (from 1) begins:
	// 1 is right after the pass's intentions are saved.
	crashBefore int
	// failAt refuses the write with this number (from 1) with EPERM.
	failAt int
	writes int
	ops    []string
	// last is each destination's last weight as the kernel keeps it
	// (dest->last_weight, which mh builds its table from; see mhTable).
	last map[ipvs.ServiceKey]map[ipvs.DestinationKey]uint32
	// serviceDumps and gets count the dumps of every service and the
	// requests for one.
	serviceDumps, gets int
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
	f.serviceDumps++
	out := slices.Clone(f.services)
	if f.afterDump != nil {
		f.afterDump(f)
	}
	return out, nil
}

// Service is one service, as the kernel's GET_SERVICE gives it.
func (f *fakeKernel) Service(_ context.Context, k ipvs.ServiceKey) (ipvs.ServiceExtended, error) {
	f.gets++
	if i := f.find(k); i >= 0 {
		return f.services[i], nil
	}
	return ipvs.ServiceExtended{}, &ipvs.Error{Op: "get service", Object: k.String(), Err: unix.ESRCH}
}

// Destinations of a service that does not exist is an empty list, as the
// kernel's dump gives.
func (f *fakeKernel) Destinations(_ context.Context, s ipvs.Service) ([]ipvs.DestinationExtended, error) {
	if f.find(s.Key()) < 0 {
		return nil, nil
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
		if err := f.interrupt(); err != nil {
			errs[i] = &ipvs.Error{Op: op.Kind.String(), Object: op.String(), Err: err}
			failed = true
			continue
		}
		if f.before != nil {
			f.before(f, op)
		}
		if f.drop != nil && f.drop(op) {
			errs[i] = &ipvs.Error{Op: op.Kind.String(), Object: op.String(),
				Err: fmt.Errorf("no acknowledgement (ENOBUFS): %w", ipvs.ErrOutcomeUnknown)}
			failed = true
			continue
		}
		err := f.do(op)
		f.crash()
		if err == nil && f.lose != nil && f.lose(op) {
			err = fmt.Errorf("no acknowledgement (ENOBUFS): %w", ipvs.ErrOutcomeUnknown)
		}
		if err != nil {
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
			delete(f.last, k)
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
		f.setLast(k, op.Destination, true)
	case ipvs.OpUpdateDestination:
		if di < 0 {
			return unix.ENOENT
		}
		f.dests[k][di].Destination = op.Destination
		f.setLast(k, op.Destination, false)
	case ipvs.OpDeleteDestination:
		if di < 0 {
			return unix.ENOENT
		}
		f.dests[k] = slices.Delete(f.dests[k], di, di+1)
	}
	return nil
}

// setLast keeps d's last weight as __ip_vs_update_dest does: "if (add ||
// udest->weight != 0) atomic_set(&dest->last_weight, udest->weight)".
// A destination added again (from the kernel's trash or anew) gets the
// weight it is added with.
func (f *fakeKernel) setLast(k ipvs.ServiceKey, d ipvs.Destination, add bool) {
	if !add && d.Weight == 0 {
		return
	}
	if f.last == nil {
		f.last = map[ipvs.ServiceKey]map[ipvs.DestinationKey]uint32{}
	}
	if f.last[k] == nil {
		f.last[k] = map[ipvs.DestinationKey]uint32{}
	}
	f.last[k][d.Key()] = d.Weight
}

// mhSize is the size of the fake's mh lookup table (the kernel's default
// is 4093; any prime will do to tell two tables apart).
const mhSize = 251

// mhTable is the lookup table the kernel's mh scheduler builds for the
// service k (ip_vs_mh_permutate and ip_vs_mh_populate): walking the
// service's list (newest first: the kernel puts a destination it is given
// at the head, where this fake appends), each destination with a last
// weight above 0 takes its next free slot of its permutation (an offset
// and a skip hashed from its address and port, with keys fixed for every
// host) last_weight/gcd times in a row, round after round, until the
// table is full. A destination whose last weight is 0 (added at weight
// 0, never set above) is left out. Slots are the destinations' keys; nil
// for a service without one in the table.
func (f *fakeKernel) mhTable(k ipvs.ServiceKey) []ipvs.DestinationKey {
	ds := f.dests[k]
	type setup struct {
		key               ipvs.DestinationKey
		perm, skip, turns int
	}
	list := make([]setup, 0, len(ds))
	g := 0
	for i := len(ds) - 1; i >= 0; i-- {
		key := ds[i].Key()
		lw := int(f.last[k][key])
		g = gcd(g, lw)
		h1, h2 := mhHash(key, 1), mhHash(key, 2)
		list = append(list, setup{key: key, perm: int(h1 % mhSize), skip: int(h2%(mhSize-1)) + 1, turns: lw})
	}
	if g < 1 {
		return nil
	}
	for i := range list {
		list[i].turns /= g
	}
	table := make([]ipvs.DestinationKey, mhSize)
	taken := make([]bool, mhSize)
	for n := 0; ; {
		for i := range list {
			s := &list[i]
			for range s.turns {
				for taken[s.perm] {
					s.perm = (s.perm + s.skip) % mhSize
				}
				taken[s.perm], table[s.perm] = true, s.key
				if n++; n == mhSize {
					return table
				}
			}
		}
	}
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// mhHash hashes a destination's key with one of two fixed seeds, as
// ip_vs_mh_hashkey does with its fixed hash secrets.
func mhHash(k ipvs.DestinationKey, seed byte) uint32 {
	h := fnv.New32a()
	h.Write([]byte{seed})
	h.Write(k.Address.AsSlice())
	h.Write([]byte{byte(k.Port >> 8), byte(k.Port)})
	return h.Sum32()
}

// memKernel is a whole Kernel in memory: the fake IPVS table, addresses
// per device and sysctls, with every write counted in order.
type memKernel struct {
	*fakeKernel
	addrs    map[string][]vip.Addr
	sysctls  map[string]string
	timeouts ipvs.Timeouts
	daemons  []ipvs.Daemon
	failW    string // a non-IPVS write whose description is this fails with EPERM
	net      memNet
}

func newMemKernel() *memKernel {
	return &memKernel{fakeKernel: newFakeKernel(), addrs: map[string][]vip.Addr{"eth0": nil},
		sysctls:  map[string]string{sysctl.IPForward().String(): "0"},
		timeouts: ipvs.Timeouts{TCP: 900 * time.Second, TCPFin: 120 * time.Second, UDP: 300 * time.Second}}
}

func (m *memKernel) Addrs(dev string) ([]vip.Addr, error) {
	as, ok := m.addrs[dev]
	if !ok {
		return nil, netlink.LinkNotFoundError{}
	}
	return slices.Clone(as), nil
}

// crashed is the panic value of a simulated crash.
type crashed struct{}

func (f *fakeKernel) crash() {
	if f.crashAfter > 0 && f.writes == f.crashAfter {
		panic(crashed{})
	}
}

// interrupt runs as a write begins (counted already): it panics when
// crashBefore names it, and refuses it when failAt does.
func (f *fakeKernel) interrupt() error {
	if f.crashBefore > 0 && f.writes == f.crashBefore {
		panic(crashed{})
	}
	if f.failAt > 0 && f.writes == f.failAt {
		return unix.EPERM
	}
	return nil
}

// write counts a non-IPVS write; done performs it and crashes after it
// when asked.
func (m *memKernel) write(what string, done func()) error {
	m.writes++
	m.ops = append(m.ops, what)
	if err := m.interrupt(); err != nil {
		return err
	}
	if what == m.failW {
		return unix.EPERM
	}
	done()
	m.crash()
	return nil
}

// Bind is exclusive, as the kernel's RTM_NEWADDR without NLM_F_REPLACE.
func (m *memKernel) Bind(a vip.Addr) error {
	if slices.ContainsFunc(m.addrs[a.Dev], func(b vip.Addr) bool { return keyOf(b) == keyOf(a) }) {
		m.writes++
		return fmt.Errorf("bind %s: %w", a, unix.EEXIST)
	}
	return m.write("bind "+a.String(), func() { m.addrs[a.Dev] = append(m.addrs[a.Dev], a) })
}

func (m *memKernel) Unbind(a vip.Addr) error {
	return m.write("unbind "+a.String(), func() {
		m.addrs[a.Dev] = slices.DeleteFunc(m.addrs[a.Dev], func(b vip.Addr) bool { return keyOf(b) == keyOf(a) })
	})
}

func (m *memKernel) Sysctl(k sysctl.Key) (string, error) { return m.sysctls[k.String()], nil }

func (m *memKernel) SetSysctl(k sysctl.Key, v string) error {
	return m.write("sysctl "+k.String()+"="+v, func() { m.sysctls[k.String()] = v })
}

// snapshot is the whole memKernel's state, for comparing before and after.
type snapshot struct {
	Services map[ipvs.ServiceKey]ipvs.Service
	Dests    map[ipvs.ServiceKey][]ipvs.Destination
	Addrs    map[string][]vip.Addr
	Sysctls  map[string]string
	Timeouts ipvs.Timeouts
	Daemons  []ipvs.Daemon
	Routes   map[RouteTable][]netip.Prefix // tables holding routes
	Marks    nftmark.Observed
}

func (m *memKernel) snapshot() snapshot {
	s := snapshot{Services: map[ipvs.ServiceKey]ipvs.Service{}, Dests: map[ipvs.ServiceKey][]ipvs.Destination{},
		Addrs: map[string][]vip.Addr{}, Sysctls: maps.Clone(m.sysctls), Timeouts: m.timeouts, Daemons: slices.Clone(m.daemons)}
	for _, x := range m.services {
		s.Services[x.Key()] = x.Service
		s.Dests[x.Key()] = slices.Collect(sortedDests(configsOf(m.dests[x.Key()])))
	}
	for t, ps := range m.net.routes {
		if len(ps) > 0 {
			if s.Routes == nil {
				s.Routes = map[RouteTable][]netip.Prefix{}
			}
			s.Routes[t] = slices.SortedFunc(slices.Values(ps), func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
		}
	}
	s.Marks = m.net.marks
	for dev, as := range m.addrs {
		s.Addrs[dev] = slices.Clone(as)
		slices.SortFunc(s.Addrs[dev], func(a, b vip.Addr) int { return a.Prefix.Addr().Compare(b.Prefix.Addr()) })
	}
	return s
}

func (m *memKernel) Timeouts(context.Context) (ipvs.Timeouts, error) { return m.timeouts, nil }

func (m *memKernel) SetTimeouts(_ context.Context, t ipvs.Timeouts) error {
	return m.write("ipvs: set timeouts "+t.String(), func() {
		if t.TCP != 0 {
			m.timeouts.TCP = t.TCP
		}
		if t.TCPFin != 0 {
			m.timeouts.TCPFin = t.TCPFin
		}
		if t.UDP != 0 {
			m.timeouts.UDP = t.UDP
		}
	})
}

func (m *memKernel) Daemons(context.Context) ([]ipvs.Daemon, error) {
	return slices.Clone(m.daemons), nil
}

// NewDaemon fills the kernel's defaults, as the kernel reports them.
func (m *memKernel) NewDaemon(_ context.Context, d ipvs.Daemon) error {
	if _, ok := daemonIn(m.daemons, d.State); ok {
		m.writes++
		return &ipvs.Error{Op: "start sync daemon", Object: d.String(), Err: unix.EEXIST}
	}
	return m.write("start sync daemon "+d.String(), func() {
		if !d.Group.IsValid() {
			d.Group = ipvs.DefaultSyncGroup
		}
		d.Port, d.TTL, d.MaxLen = cmp.Or(d.Port, ipvs.DefaultSyncPort), cmp.Or(d.TTL, ipvs.DefaultSyncTTL), cmp.Or(d.MaxLen, 1472)
		m.daemons = append(m.daemons, d)
	})
}

func (m *memKernel) DeleteDaemon(_ context.Context, st ipvs.DaemonState) error {
	if _, ok := daemonIn(m.daemons, st); !ok {
		return &ipvs.Error{Op: "stop sync daemon", Object: st.String(), Err: unix.ESRCH}
	}
	return m.write("stop sync daemon "+st.String(), func() {
		m.daemons = slices.DeleteFunc(m.daemons, func(d ipvs.Daemon) bool { return d.State == st })
	})
}

var _ Kernel = (*memKernel)(nil)

// listEach is IPVS.DestinationsOf for a fake: list (the fake's
// Destinations) for each service, ESRCH skipped.
func listEach(ctx context.Context, svcs []ipvs.Service, list func(context.Context, ipvs.Service) ([]ipvs.DestinationExtended, error), each func(int, []ipvs.DestinationExtended)) error {
	for i, s := range svcs {
		ds, err := list(ctx, s)
		if errors.Is(err, unix.ESRCH) {
			continue
		}
		if err != nil {
			return err
		}
		each(i, ds)
	}
	return nil
}

// listConfigsEach is IPVS.DestinationConfigsOf for a fake (see listEach).
func listConfigsEach(ctx context.Context, svcs []ipvs.Service, list func(context.Context, ipvs.Service) ([]ipvs.DestinationExtended, error), each func(int, []ipvs.Destination)) error {
	return listEach(ctx, svcs, list, func(i int, ds []ipvs.DestinationExtended) { each(i, configsOf(ds)) })
}

func (f *fakeKernel) DestinationsOf(ctx context.Context, svcs []ipvs.Service, each func(int, []ipvs.DestinationExtended)) error {
	return listEach(ctx, svcs, f.Destinations, each)
}

func (f *fakeKernel) DestinationConfigsOf(ctx context.Context, svcs []ipvs.Service, each func(int, []ipvs.Destination)) error {
	return listConfigsEach(ctx, svcs, f.Destinations, each)
}
