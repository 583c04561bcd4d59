package nftmark

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
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

// Socket buffer sizing for a transaction of n rules. The kernel takes a
// whole nf_tables batch in one sendmsg, refused with EMSGSIZE when it is
// larger than the send buffer, and queues every answer (an echo of each
// rule, as github.com/google/nftables asks for one, and an
// acknowledgement of each message) before the first is read: past the
// receive buffer it drops answers of a transaction it committed and
// reports ENOBUFS. The default buffers (212992 bytes) gave EMSGSIZE from
// about 440 rules and ENOBUFS from 145.
const (
	// ruleSendBytes bounds one rule's message in the batch (an IPv6
	// rule's is 496 bytes; TestBatchBytesBound keeps this above it).
	ruleSendBytes = 1024
	// ruleReplyBytes bounds what one rule's echo and acknowledgement
	// occupy in the receive buffer, kernel overhead included (about 1,470
	// bytes measured: 212992 bytes held 144 rules' answers).
	ruleReplyBytes = 4096
	// bufferSlack covers the table, the chain and the batch's framing.
	bufferSlack = 64 << 10
)

// sizeBuffers is false only in tests that make the kernel drop answers.
var sizeBuffers = true

// conn returns an nftables connection whose sockets expire at ctx's
// deadline and, for a transaction of rules rules (0: a read), have send
// and receive buffers large enough for it.
func (k *Kernel) conn(ctx context.Context, rules int) (*nftables.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(DefaultTimeout)
	}
	return nftables.New(nftables.WithNetNSFd(k.netns),
		nftables.WithSockOptions(func(c *netlink.Conn) error {
			if err := c.SetDeadline(dl); err != nil {
				return err
			}
			if rules == 0 || !sizeBuffers {
				return nil
			}
			if err := setBuffer(c, unix.SO_SNDBUFFORCE, bufferSlack+rules*ruleSendBytes, c.SetWriteBuffer); err != nil {
				return fmt.Errorf("send buffer for %d rules: %w", rules, err)
			}
			if err := setBuffer(c, unix.SO_RCVBUFFORCE, bufferSlack+rules*ruleReplyBytes, c.SetReadBuffer); err != nil {
				return fmt.Errorf("receive buffer for %d rules: %w", rules, err)
			}
			return nil
		}))
}

// setBuffer sets a socket buffer to at least bytes with force (which
// ignores net.core.[rw]mem_max but needs CAP_NET_ADMIN), or, when that is
// not permitted, with plain (capped at the sysctl). It never shrinks a
// buffer: the default may already be larger.
func setBuffer(c *netlink.Conn, force int, bytes int, plain func(int) error) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	get := unix.SO_SNDBUF
	if force == unix.SO_RCVBUFFORCE {
		get = unix.SO_RCVBUF
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		// The kernel reports (and uses) twice the size asked for.
		if cur, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, get); err == nil && cur/2 >= bytes {
			return
		}
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, force, bytes)
	}); err != nil {
		return err
	}
	if errors.Is(serr, unix.EPERM) {
		return plain(bytes)
	}
	return serr
}

// Observe reads lvs-rs's table back.
func (k *Kernel) Observe(ctx context.Context) (Observed, error) {
	c, err := k.conn(ctx, 0)
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
// nf_tables transaction. The socket's buffers are sized to the
// transaction; should the kernel still drop answers (ENOBUFS: it may have
// committed), the table is read back and Build succeeds when it holds
// exactly rules.
func (k *Kernel) Build(ctx context.Context, rules []Rule, replace bool) error {
	c, err := k.conn(ctx, len(rules))
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
	err = c.Flush()
	if errors.Is(err, unix.ENOBUFS) {
		if lostAnswers != nil {
			lostAnswers()
		}
		err = k.verify(ctx, rules, err)
	}
	if err != nil {
		return fmt.Errorf("nftables: build table inet %s with %d rules: %w", TableName, len(rules), deadline(err))
	}
	return nil
}

// lostAnswers, when set (by tests only), is called each time Build's
// transaction lost its answers and the table is read back.
var lostAnswers func()

// verify settles a transaction whose answers were lost (flushErr): nil
// when the table reads back holding exactly rules, flushErr otherwise
// (joined with the read's own error, if any).
func (k *Kernel) verify(ctx context.Context, rules []Rule, flushErr error) error {
	obs, err := k.Observe(ctx)
	if err != nil {
		return fmt.Errorf("%w; reading the table back: %w", flushErr, err)
	}
	if obs.Present && !obs.Foreign && slices.Equal(obs.Rules, rules) {
		return nil
	}
	return fmt.Errorf("%w; the table does not hold the rules asked for", flushErr)
}

// Remove deletes the table and everything in it; a table already gone
// is success.
func (k *Kernel) Remove(ctx context.Context) error {
	c, err := k.conn(ctx, 0)
	if err != nil {
		return fmt.Errorf("nftables: delete table inet %s: %w", TableName, err)
	}
	c.DelTable(table)
	if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("nftables: delete table inet %s: %w", TableName, deadline(err))
	}
	return nil
}
