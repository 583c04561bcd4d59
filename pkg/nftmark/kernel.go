package nftmark

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// DefaultTimeout bounds a kernel exchange when the context has no deadline.
const DefaultTimeout = 5 * time.Second

// Observed is lvs-rs's table as read back from the kernel.
type Observed struct {
	Present bool   // the table exists
	Rules   []Rule // its rules this package wrote, in chain order
	// Foreign: the table holds something else (another chain, a chain
	// with another hook, type or priority, a rule of another shape).
	Foreign bool
}

// Kernel reads and writes lvs-rs's nftables table in one network
// namespace, one netlink socket per call (bounded by the call's context).
type Kernel struct {
	netns int
}

// NewKernel returns a Kernel for the network namespace netns (a file
// descriptor), or the calling thread's namespace when netns is 0.
func NewKernel(netns int) *Kernel { return &Kernel{netns: netns} }

var table = &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}

func chain() *nftables.Chain {
	return &nftables.Chain{Name: ChainName, Table: table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityMangle}
}

// conn returns an nftables connection whose sockets expire at ctx's
// deadline.
func (k *Kernel) conn(ctx context.Context) (*nftables.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(DefaultTimeout)
	}
	return nftables.New(nftables.WithNetNSFd(k.netns),
		nftables.WithSockOptions(func(c *netlink.Conn) error { return c.SetDeadline(dl) }))
}

// Observe reads lvs-rs's table back.
func (k *Kernel) Observe(ctx context.Context) (Observed, error) {
	c, err := k.conn(ctx)
	if err != nil {
		return Observed{}, fmt.Errorf("nftables: read table inet %s: %w", TableName, err)
	}
	if _, err := c.ListTableOfFamily(TableName, nftables.TableFamilyINet); errors.Is(err, unix.ENOENT) {
		return Observed{}, nil
	} else if err != nil {
		return Observed{}, fmt.Errorf("nftables: read table inet %s: %w", TableName, deadline(err))
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return Observed{}, fmt.Errorf("nftables: read chains of inet %s: %w", TableName, deadline(err))
	}
	obs := Observed{Present: true}
	var ours *nftables.Chain
	for _, ch := range chains {
		switch {
		case ch.Table.Name != TableName:
		case ch.Name == ChainName && sameHook(ch, chain()):
			ours = ch
		default:
			obs.Foreign = true
		}
	}
	if ours == nil {
		obs.Foreign = true
		return obs, nil
	}
	rules, err := c.GetRules(table, ours)
	if err != nil {
		return Observed{}, fmt.Errorf("nftables: read rules of inet %s %s: %w", TableName, ChainName, deadline(err))
	}
	for _, r := range rules {
		if mr, ok := ruleOf(r.Exprs); ok {
			obs.Rules = append(obs.Rules, mr)
		} else {
			obs.Foreign = true
		}
	}
	return obs, nil
}

// sameHook compares what makes a base chain.
func sameHook(a, b *nftables.Chain) bool {
	accept := a.Policy == nil || *a.Policy == nftables.ChainPolicyAccept
	return accept && a.Type == b.Type && a.Hooknum != nil && *a.Hooknum == *b.Hooknum &&
		a.Priority != nil && *a.Priority == *b.Priority
}

// deadline makes a socket timeout recognisable as context.DeadlineExceeded.
func deadline(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	}
	return err
}

// Build replaces the table with one holding exactly rules (in that
// order), deleting the existing one first when replace is set, in one
// nf_tables transaction.
func (k *Kernel) Build(ctx context.Context, rules []Rule, replace bool) error {
	c, err := k.conn(ctx)
	if err != nil {
		return fmt.Errorf("nftables: build table inet %s: %w", TableName, err)
	}
	if replace {
		c.DelTable(table)
	}
	c.AddTable(table)
	ch := c.AddChain(chain())
	for _, r := range rules {
		c.AddRule(&nftables.Rule{Table: table, Chain: ch, Exprs: exprs(r)})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: build table inet %s with %d rules: %w", TableName, len(rules), deadline(err))
	}
	return nil
}

// Remove deletes the table and everything in it; a table already gone
// is success.
func (k *Kernel) Remove(ctx context.Context) error {
	c, err := k.conn(ctx)
	if err != nil {
		return fmt.Errorf("nftables: delete table inet %s: %w", TableName, err)
	}
	c.DelTable(table)
	if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("nftables: delete table inet %s: %w", TableName, deadline(err))
	}
	return nil
}
