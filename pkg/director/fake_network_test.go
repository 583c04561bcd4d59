package director

import (
	"context"
	"fmt"
	"net/netip"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/nftmark"
)

// memNet is memKernel's announce routes, nftables table and the
// gratuitous ARPs it sent.
type memNet struct {
	routes  map[RouteTable][]netip.Prefix
	marks   nftmark.Observed
	garps   []string // "eth0 10.0.0.100"
	garpErr error
}

func (m *memKernel) Routes(_ context.Context, t RouteTable) ([]netip.Prefix, error) {
	return slices.Clone(m.net.routes[t]), nil
}

// AddRoute refuses a prefix the table already holds under any protocol,
// as the kernel does (a route's key has no protocol).
func (m *memKernel) AddRoute(_ context.Context, t RouteTable, p netip.Prefix) error {
	for have, ps := range m.net.routes {
		if have.Table == t.Table && slices.Contains(ps, p) {
			m.writes++
			return fmt.Errorf("add route %v %s: %w", p, t, unix.EEXIST)
		}
	}
	return m.write(fmt.Sprintf("add route %v %s", p, t), func() {
		if m.net.routes == nil {
			m.net.routes = map[RouteTable][]netip.Prefix{}
		}
		m.net.routes[t] = append(m.net.routes[t], p)
	})
}

func (m *memKernel) DeleteRoute(_ context.Context, t RouteTable, p netip.Prefix) error {
	return m.write(fmt.Sprintf("delete route %v %s", p, t), func() {
		m.net.routes[t] = slices.DeleteFunc(m.net.routes[t], func(q netip.Prefix) bool { return q == p })
	})
}

func (m *memKernel) Marks(context.Context) (nftmark.Observed, error) {
	o := m.net.marks
	o.Rules = slices.Clone(o.Rules)
	return o, nil
}

func (m *memKernel) BuildMarks(_ context.Context, rules []nftmark.Rule, replace bool) error {
	return m.write(fmt.Sprintf("build marks %d replace %v", len(rules), replace), func() {
		m.net.marks = nftmark.Observed{Present: true, Rules: slices.Clone(rules)}
	})
}

func (m *memKernel) RemoveMarks(context.Context) error {
	return m.write("remove marks", func() { m.net.marks = nftmark.Observed{} })
}

func (m *memKernel) GARP(_ context.Context, dev string, vip netip.Addr) error {
	m.net.garps = append(m.net.garps, dev+" "+vip.String())
	return m.net.garpErr
}
