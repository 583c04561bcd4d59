package reconcile

import (
	"context"
	"maps"
	"net/netip"
	"slices"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/nftmark"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
	vipaddr "github.com/lvs-rs/lvs-rs/pkg/vip"
)

// memKernel is a whole director.Kernel in memory, safe for the loop and
// the test at once.
type memKernel struct {
	mu       sync.Mutex
	services []ipvs.ServiceExtended
	dests    map[ipvs.ServiceKey][]ipvs.DestinationExtended
	addrs    map[string][]vipaddr.Addr
	sysctls  map[string]string
	net      memRoutes
	dumps    map[uint16]int // destination dumps per service port
	listed   int            // dumps of every service
	asked    int            // services asked for by key
	failEdit error          // when set, every real server edit fails with it
	// refuse, when set, is asked first about every IPVS request: a
	// non-nil answer refuses it (a kernel without a scheduler's module
	// refuses a service with ENOENT).
	refuse func(op ipvs.Op) error
	// failMarks, when set, is BuildMarks' error (a host without nftables).
	failMarks error
	// marks are the nftables mark rules built (nil: no table).
	marks []nftmark.Rule
	// last are the real servers' last weights by address, as the kernel
	// keeps them (dest->last_weight, from which mh builds its table):
	// set by an addition, and by an edit to a weight above 0.
	last map[string]uint32
}

func newMemKernel() *memKernel {
	return &memKernel{dests: map[ipvs.ServiceKey][]ipvs.DestinationExtended{}, addrs: map[string][]vipaddr.Addr{"eth0": nil},
		sysctls: map[string]string{sysctl.IPForward().String(): "0"}}
}

func (m *memKernel) Info(context.Context) (ipvs.Info, error) {
	return ipvs.Info{Version: 0x010201}, nil
}

func (m *memKernel) Services(context.Context) ([]ipvs.ServiceExtended, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.listed++
	return slices.Clone(m.services), nil
}

func (m *memKernel) Service(_ context.Context, k ipvs.ServiceKey) (ipvs.ServiceExtended, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.asked++
	for _, s := range m.services {
		if s.Key() == k {
			return s, nil
		}
	}
	return ipvs.ServiceExtended{}, &ipvs.Error{Op: "get service", Object: k.String(), Err: unix.ESRCH}
}

func (m *memKernel) Destinations(_ context.Context, s ipvs.Service) ([]ipvs.DestinationExtended, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dumps == nil {
		m.dumps = map[uint16]int{}
	}
	m.dumps[s.Port]++
	return slices.Clone(m.dests[s.Key()]), nil
}

// dumpsOf is how many times the destinations of the service on port were
// listed.
func (m *memKernel) dumpsOf(port uint16) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dumps[port]
}

// DestinationsOf lists each service's destinations (this fake has no
// service it does not list: ESRCH never occurs).
func (m *memKernel) DestinationsOf(ctx context.Context, svcs []ipvs.Service, each func(int, []ipvs.DestinationExtended)) error {
	for i, s := range svcs {
		ds, _ := m.Destinations(ctx, s)
		each(i, ds)
	}
	return nil
}

func (m *memKernel) DestinationConfigsOf(ctx context.Context, svcs []ipvs.Service, each func(int, []ipvs.Destination)) error {
	return m.DestinationsOf(ctx, svcs, func(i int, ds []ipvs.DestinationExtended) {
		out := make([]ipvs.Destination, len(ds))
		for j := range ds {
			out[j] = ds[j].Destination
		}
		each(i, out)
	})
}

// Apply performs every request, also past a refused one, as the kernel
// does with a pipelined batch.
func (m *memKernel) Apply(_ context.Context, ops []ipvs.Op) []error {
	m.mu.Lock()
	defer m.mu.Unlock()
	errs := make([]error, len(ops))
	for i, op := range ops {
		if m.refuse != nil {
			if err := m.refuse(op); err != nil {
				errs[i] = &ipvs.Error{Op: op.Kind.String(), Object: op.String(), Err: err}
				continue
			}
		}
		errs[i] = m.do(op)
	}
	return errs
}

func (m *memKernel) do(op ipvs.Op) error {
	k := op.Service.Key()
	i := slices.IndexFunc(m.services, func(s ipvs.ServiceExtended) bool { return s.Key() == k })
	di := slices.IndexFunc(m.dests[k], func(d ipvs.DestinationExtended) bool { return d.Key() == op.Destination.Key() })
	switch {
	case op.Kind == ipvs.OpNewService && i >= 0:
		return unix.EEXIST
	case op.Kind == ipvs.OpNewService:
		m.services = append(m.services, ipvs.ServiceExtended{Service: op.Service})
	case i < 0:
		return unix.ESRCH
	case op.Kind == ipvs.OpUpdateService:
		m.services[i].Service = op.Service
	case op.Kind == ipvs.OpDeleteService:
		m.services = slices.Delete(m.services, i, i+1)
		delete(m.dests, k)
	case op.Kind == ipvs.OpNewDestination && di >= 0:
		return unix.EEXIST
	case op.Kind == ipvs.OpNewDestination:
		d := op.Destination
		d.Family = ipvs.FamilyOf(d.Address)
		m.dests[k] = append(m.dests[k], ipvs.DestinationExtended{Destination: d})
		m.setLast(d, true)
	case di < 0:
		return unix.ENOENT
	case op.Kind == ipvs.OpUpdateDestination && m.failEdit != nil:
		return m.failEdit
	case op.Kind == ipvs.OpUpdateDestination:
		d := op.Destination
		d.Family = ipvs.FamilyOf(d.Address)
		m.dests[k][di].Destination = d
		m.setLast(d, false)
	case op.Kind == ipvs.OpDeleteDestination:
		m.dests[k] = slices.Delete(m.dests[k], di, di+1)
	}
	return nil
}

// setLast keeps d's last weight as __ip_vs_update_dest does: "if (add ||
// udest->weight != 0) atomic_set(&dest->last_weight, udest->weight)"
// (caller holds mu).
func (m *memKernel) setLast(d ipvs.Destination, add bool) {
	if !add && d.Weight == 0 {
		return
	}
	if m.last == nil {
		m.last = map[string]uint32{}
	}
	m.last[d.Address.String()] = d.Weight
}

// lastWeights are the real servers' last weights by address.
func (m *memKernel) lastWeights() map[string]uint32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.last)
}

func (m *memKernel) Addrs(dev string) ([]vipaddr.Addr, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.addrs[dev]), nil
}

func (m *memKernel) Bind(a vipaddr.Addr) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.addrs[a.Dev] = append(m.addrs[a.Dev], a)
	return nil
}

func (m *memKernel) Unbind(a vipaddr.Addr) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.addrs[a.Dev] = slices.DeleteFunc(m.addrs[a.Dev], func(b vipaddr.Addr) bool { return b.Prefix == a.Prefix })
	return nil
}

func (m *memKernel) Sysctl(k sysctl.Key) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sysctls[k.String()], nil
}

func (m *memKernel) SetSysctl(k sysctl.Key, v string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sysctls[k.String()] = v
	return nil
}

// weights are the real servers' weights of the service on port, by
// address; the connection counts are set with setConns.
func (m *memKernel) weights(port uint16) map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for k, ds := range m.dests {
		if k.Port != port {
			continue
		}
		for _, d := range ds {
			out[d.Address.String()] = int(d.Weight)
		}
	}
	return out
}

// setWeight edits a weight by hand.
func (m *memKernel) setWeight(port uint16, addr string, w uint32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, ds := range m.dests {
		for i, d := range ds {
			if k.Port == port && d.Address.String() == addr {
				m.dests[k][i].Weight = w
			}
		}
	}
}

// setFailEdit makes every real server edit fail with err (nil: succeed).
func (m *memKernel) setFailEdit(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failEdit = err
}

// setConns sets a real server's active connection count.
func (m *memKernel) setConns(port uint16, addr string, n uint32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, ds := range m.dests {
		for i, d := range ds {
			if k.Port == port && d.Address.String() == addr {
				m.dests[k][i].ActiveConnections = n
			}
		}
	}
}

// ipvsOp is the operation that creates s.
func ipvsOp(s ipvs.Service) ipvs.Op { return ipvs.Op{Kind: ipvs.OpNewService, Service: s} }

// The IPVS settings: none set, no sync daemon.
func (m *memKernel) Timeouts(context.Context) (ipvs.Timeouts, error)      { return ipvs.Timeouts{}, nil }
func (m *memKernel) SetTimeouts(context.Context, ipvs.Timeouts) error     { return nil }
func (m *memKernel) Daemons(context.Context) ([]ipvs.Daemon, error)       { return nil, nil }
func (m *memKernel) NewDaemon(context.Context, ipvs.Daemon) error         { return nil }
func (m *memKernel) DeleteDaemon(context.Context, ipvs.DaemonState) error { return unix.ESRCH }

// routes are the announcement routes of the in-memory kernel.
type memRoutes struct {
	mu     sync.Mutex
	tables map[director.RouteTable][]netip.Prefix
}

func (m *memKernel) Routes(_ context.Context, t director.RouteTable) ([]netip.Prefix, error) {
	m.net.mu.Lock()
	defer m.net.mu.Unlock()
	return slices.Clone(m.net.tables[t]), nil
}

func (m *memKernel) AddRoute(_ context.Context, t director.RouteTable, p netip.Prefix) error {
	m.net.mu.Lock()
	defer m.net.mu.Unlock()
	if m.net.tables == nil {
		m.net.tables = map[director.RouteTable][]netip.Prefix{}
	}
	if !slices.Contains(m.net.tables[t], p) {
		m.net.tables[t] = append(m.net.tables[t], p)
	}
	return nil
}

func (m *memKernel) DeleteRoute(_ context.Context, t director.RouteTable, p netip.Prefix) error {
	m.net.mu.Lock()
	defer m.net.mu.Unlock()
	m.net.tables[t] = slices.DeleteFunc(m.net.tables[t], func(q netip.Prefix) bool { return q == p })
	return nil
}

func (m *memKernel) Marks(context.Context) (nftmark.Observed, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return nftmark.Observed{Present: m.marks != nil, Rules: slices.Clone(m.marks)}, nil
}
func (m *memKernel) BuildMarks(_ context.Context, rules []nftmark.Rule, _ bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failMarks == nil {
		m.marks = append([]nftmark.Rule{}, rules...)
	}
	return m.failMarks
}
func (m *memKernel) RemoveMarks(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.marks = nil
	return nil
}

// markRules renders the nftables mark rules the kernel holds.
func (m *memKernel) markRules() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, r := range m.marks {
		out = append(out, r.String())
	}
	return out
}
func (m *memKernel) GARP(context.Context, string, netip.Addr) error { return nil }
