package director

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"

	"github.com/vishvananda/netns"

	"github.com/lvs-rs/lvs-rs/internal/faultinject"
	"github.com/lvs-rs/lvs-rs/pkg/announce"
	"github.com/lvs-rs/lvs-rs/pkg/nftmark"
)

// Network is what the director does beside IPVS for other machines: the
// announce routes a BGP daemon picks up, the nftables rules that mark a
// fwmark service's packets, and gratuitous ARP for a VIP it binds.
type Network interface {
	// Routes lists the prefixes of the routes in t's table with t's
	// protocol, both families.
	Routes(ctx context.Context, t RouteTable) ([]netip.Prefix, error)
	// AddRoute adds the blackhole route for p.
	AddRoute(ctx context.Context, t RouteTable, p netip.Prefix) error
	// DeleteRoute deletes the route for p; one already gone is success.
	DeleteRoute(ctx context.Context, t RouteTable, p netip.Prefix) error
	// Marks reads lvs-rs's nftables table back.
	Marks(ctx context.Context) (nftmark.Observed, error)
	// BuildMarks (re)creates the table with exactly rules, in one
	// transaction.
	BuildMarks(ctx context.Context, rules []nftmark.Rule, replace bool) error
	// RemoveMarks deletes the table; one already gone is success.
	RemoveMarks(ctx context.Context) error
	// GARP sends a gratuitous ARP (unsolicited neighbour advertisement
	// for IPv6) for vip out of dev.
	GARP(ctx context.Context, dev string, vip netip.Addr) error
}

// table is t as pkg/announce names it.
func (t RouteTable) table() announce.Table {
	return announce.Table{Table: t.Table, Protocol: t.Protocol}
}

func (k hostKernel) Routes(_ context.Context, t RouteTable) ([]netip.Prefix, error) {
	ps, err := announce.List(k.h, t.table())
	if err != nil {
		return nil, fmt.Errorf("director: %w", err)
	}
	return ps, nil
}

func (k hostKernel) AddRoute(_ context.Context, t RouteTable, p netip.Prefix) error {
	return faultinject.Write(fmt.Sprintf("add route %v %s", p, t), func() error {
		if err := announce.AddRoute(k.h, t.table(), p); err != nil {
			return fmt.Errorf("director: %w", err)
		}
		return nil
	})
}

func (k hostKernel) DeleteRoute(_ context.Context, t RouteTable, p netip.Prefix) error {
	return faultinject.Write(fmt.Sprintf("delete route %v %s", p, t), func() error {
		if err := announce.DeleteRoute(k.h, t.table(), p); err != nil {
			return fmt.Errorf("director: %w", err)
		}
		return nil
	})
}

func (k hostKernel) Marks(ctx context.Context) (nftmark.Observed, error) {
	return nftmark.NewKernel(k.netns).Observe(ctx)
}

func (k hostKernel) BuildMarks(ctx context.Context, rules []nftmark.Rule, replace bool) error {
	return nftmark.Apply(ctx, nftmark.NewKernel(k.netns), nftmark.Change{Action: nftmark.Build, Replace: replace, Rules: rules})
}

func (k hostKernel) RemoveMarks(ctx context.Context) error {
	return nftmark.Apply(ctx, nftmark.NewKernel(k.netns), nftmark.Change{Action: nftmark.Remove})
}

// GARP sends through the kernel's one garp.Sender (released with the
// kernel: a packet socket's close waits for an RCU grace period, so the
// VIPs one pass binds share one socket), from the network namespace of
// Options.NetNS: on a thread of its own, moved there and then discarded.
func (k hostKernel) GARP(ctx context.Context, dev string, vip netip.Addr) error {
	if k.netns == 0 {
		return k.arp.Announce(ctx, dev, vip)
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := netns.Set(netns.NsHandle(k.netns)); err != nil {
			done <- fmt.Errorf("garp: %v on %s: enter network namespace: %w", vip, dev, err)
			return
		}
		done <- k.arp.Announce(ctx, dev, vip)
	}()
	return <-done
}

// observeNetwork reads the announce routes of the wanted and recorded
// tables and, when marks are wanted or recorded, lvs-rs's nftables table.
func observeNetwork(ctx context.Context, k Kernel, d Desired, owned Owned, obs *Observed) error {
	obs.Routes = map[RouteTable][]netip.Prefix{}
	for _, t := range routeTables(d, owned) {
		ps, err := k.Routes(ctx, t)
		if err != nil {
			return err
		}
		obs.Routes[t] = ps
	}
	if len(d.Marks) == 0 && !owned.Marks {
		return nil
	}
	m, err := k.Marks(ctx)
	if err != nil {
		return err
	}
	obs.Marks = m
	return nil
}

// network applies a route or marks change.
func (e executor) network(ctx context.Context, c Change) error {
	switch c.Kind {
	case AddRoute:
		return e.k.AddRoute(ctx, c.Route(), c.Prefix())
	case DeleteRoute:
		return e.k.DeleteRoute(ctx, c.Route(), c.Prefix())
	case BuildMarks:
		return e.k.BuildMarks(ctx, c.Marks(), c.Replace())
	case RemoveMarks:
		return e.k.RemoveMarks(ctx)
	}
	return errors.New("director: unknown change " + string(c.Kind))
}

// garpBound sends a gratuitous ARP (or unsolicited NA) for each VIP done
// bound, so that neighbours drop a stale entry at once; a failure is a
// warning (the VIP is bound and answers ARP requests anyway).
func garpBound(ctx context.Context, k Kernel, done []Change) []string {
	var warns []string
	for i := range done {
		c := &done[i]
		if c.Kind != Bind {
			continue
		}
		if err := k.GARP(ctx, c.Addr().Dev, hostAddr(c.Addr())); err != nil {
			warns = append(warns, fmt.Sprintf("gratuitous ARP for %v on %s not sent: %v", hostAddr(c.Addr()), c.Addr().Dev, err))
		}
	}
	return warns
}
