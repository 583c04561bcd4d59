package ipvs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"golang.org/x/sys/unix"
)

// Destinations returns the destinations of the service with s's key,
// with their connection counts and counters. For a service that does not
// exist the kernel answers an empty list, as for one without real servers
// (its dump of destinations reports no error): a caller that must tell
// them apart asks for the service (Service: ESRCH).
func (c *Client) Destinations(ctx context.Context, s Service) ([]DestinationExtended, error) {
	return destinationsOf1(ctx, c, s, &destScratch, &c.slab, decodeDestination)
}

// DestinationConfigs is Destinations without the counters: the
// destinations' configurations only, as a converge compares them. It
// skips the counters' attributes undecoded and returns 64-byte elements
// instead of 160-byte ones.
func (c *Client) DestinationConfigs(ctx context.Context, s Service) ([]Destination, error) {
	return destinationsOf1(ctx, c, s, &configScratch, &c.configSlab, decodeDestinationConfig)
}

// DestinationsOf lists the destinations of each service of svcs, with
// their connection counts and counters, as Destinations does, but in one
// call: the socket is taken, and its deadline and cancellation armed,
// once for the whole list instead of once per service (IPVS has no dump
// of every destination: observing 1,000 services takes 1,000 dumps).
//
// It calls each, in order, with the index in svcs and the destinations of
// every service; ds is the caller's to keep. A service deleted since the
// caller listed it gives an empty list (the kernel's dump of destinations
// does not refuse it); an ESRCH refusal, should a kernel answer one, skips
// the service: each is not called for it. Any other failure stops the calls
// and is returned, an *Error naming the service and wrapping the errno or
// the socket's error; so does a cancelled or expired ctx, checked before
// every dump (a cancellation also interrupts a read that waits). ctx's
// deadline, or DefaultTimeout when it has none, bounds the whole list.
// each runs while the client is busy: it must not call the client.
func (c *Client) DestinationsOf(ctx context.Context, svcs []Service, each func(i int, ds []DestinationExtended)) error {
	return destinationsOf(ctx, c, svcs, &destScratch, &c.slab, decodeDestination, each)
}

// DestinationConfigsOf is DestinationsOf without the counters, as
// DestinationConfigs is Destinations without them.
func (c *Client) DestinationConfigsOf(ctx context.Context, svcs []Service, each func(i int, ds []Destination)) error {
	return destinationsOf(ctx, c, svcs, &configScratch, &c.configSlab, decodeDestinationConfig, each)
}

// destinationsOf1 is destinationsOf for one service, whose refusal is
// returned.
func destinationsOf1[T any](ctx context.Context, c *Client, s Service, scratch *sync.Pool, slab *[]T, decode func([]byte, Family) (T, error)) ([]T, error) {
	end, err := c.begin(ctx)
	if err != nil {
		return nil, &Error{Op: opListDests, Object: s.String(), Err: err}
	}
	defer end()
	var out []T
	err = c.held(func() (err error) {
		out, err = dumpCarved(c, s, scratch, slab, decode)
		return err
	})
	return out, err
}

// destinationsOf is DestinationsOf and DestinationConfigsOf: the dumps of
// svcs' destinations, each decoded by decode, under one begin.
func destinationsOf[T any](ctx context.Context, c *Client, svcs []Service, scratch *sync.Pool, slab *[]T,
	decode func([]byte, Family) (T, error), each func(i int, ds []T)) error {
	if len(svcs) == 0 {
		return nil
	}
	end, err := c.begin(ctx)
	if err != nil {
		return &Error{Op: opListDests, Object: svcs[0].String(), Err: err}
	}
	defer end()
	return c.held(func() error {
		for i, s := range svcs {
			if err := ctx.Err(); err != nil {
				return &Error{Op: opListDests, Object: s.String(), Err: err}
			}
			out, err := dumpCarved(c, s, scratch, slab, decode)
			if errors.Is(err, unix.ESRCH) {
				continue // deleted since the caller listed it
			}
			if err != nil {
				return err
			}
			each(i, out)
		}
		return nil
	})
}

// opListDests names the dumps of destinations in errors.
const opListDests = "list destinations of"

// dumpCarved dumps the destinations of the service with s's key within a
// call begun, each decoded by decode into a slice from scratch, and
// returns them copied into the client's slab (see carveFrom) before that
// slice goes back to scratch, which every client shares (an empty result
// is a new empty slice).
func dumpCarved[T any](c *Client, s Service, scratch *sync.Pool, slab *[]T, decode func([]byte, Family) (T, error)) ([]T, error) {
	body, err := appendServiceAttrs(c.dumpBody[:0], &s, false) // reused: dumpIn copies it into the request
	if err != nil {
		return nil, fmt.Errorf("ipvs: list destinations of %v: %w", s, err)
	}
	c.dumpBody = body
	fam := familyOf(s.Family, s.Address)
	buf := scratch.Get().(*[]T)
	var (
		out    = (*buf)[:0]
		decErr error
	)
	// Put only once out is copied or dropped: another client may take
	// the slice as soon as it is back.
	defer func() { *buf = out[:0]; scratch.Put(buf) }()
	err = c.dumpIn(cmdGetDest, body, func(p []byte) {
		if decErr != nil {
			return
		}
		b, err := nestedIn(p, cmdAttrDest)
		if err != nil || b == nil {
			decErr = fmt.Errorf("ipvs: list destinations of %v: malformed reply: %v", s, err)
			return
		}
		d, err := decode(b, fam)
		if err != nil {
			decErr = fmt.Errorf("ipvs: list destinations of %v: %w", s, err)
			return
		}
		out = append(out, d)
	})
	if err != nil {
		return nil, &Error{Op: opListDests, Object: s.String(), Err: cause(err)}
	}
	if decErr != nil {
		return nil, decErr
	}
	if len(out) == 0 {
		return []T{}, nil
	}
	return carveFrom(&c.slabMu, slab, out), nil
}

// destSlab is how many destinations one slab holds; destSlabMax the most
// one result carved from a slab may hold (a longer one is allocated on
// its own).
const (
	destSlab    = 256
	destSlabMax = destSlab / 4
)

// carve returns a copy of ds carved from the client's slab (see
// carveFrom).
func (c *Client) carve(ds []DestinationExtended) []DestinationExtended {
	return carveFrom(&c.slabMu, &c.slab, ds)
}

// carveFrom returns a copy of ds. Short ones share slabs of destSlab
// elements, each result capped at its own length (appending to it
// reallocates, never writes into a neighbour): observing 1,000 services of
// 10 real servers allocates 40 slabs, not 1,000 slices. A slab lives as
// long as any result carved from it.
func carveFrom[T any](mu *sync.Mutex, slab *[]T, ds []T) []T {
	n := len(ds)
	if n > destSlabMax {
		return slices.Clone(ds)
	}
	mu.Lock()
	defer mu.Unlock()
	if cap(*slab)-len(*slab) < n {
		*slab = make([]T, 0, destSlab)
	}
	i := len(*slab)
	*slab = append(*slab, ds...)
	return (*slab)[i : i+n : i+n]
}

// destScratch and configScratch hold the slices Destinations and
// DestinationConfigs decode into before copying the result out: a dump of
// 1,000 services' real servers allocates one slice per service, not one
// per doubling.
var (
	destScratch   = sync.Pool{New: func() any { return new([]DestinationExtended) }}
	configScratch = sync.Pool{New: func() any { return new([]Destination) }}
)
