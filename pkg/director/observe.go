package director

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/nftmark"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
)

// Observed is the kernel as the director found it.
type Observed struct {
	// Services holds every virtual service, lvs-rs's or not; only
	// lvs-rs's own carry their destinations.
	Services map[ipvs.ServiceKey]ObservedService
	// Addrs are the addresses on the director interface and on every
	// device that holds an address lvs-rs bound.
	Addrs []vip.Addr
	// Sysctls holds the value now of each kernel parameter desired or
	// recorded, by key (sysctl.Key.String()); a parameter whose file does
	// not exist (its device is gone) is absent.
	Sysctls map[string]string
	// Timeouts are IPVS's connection timeouts now, when desired or
	// recorded (zero otherwise, and without IPVS).
	Timeouts ipvs.Timeouts
	// Daemons are the connection sync daemons running, when desired or
	// recorded.
	Daemons []ipvs.Daemon
	// Routes are the announce routes of the tables desired or recorded.
	Routes map[RouteTable][]netip.Prefix
	// Marks is lvs-rs's nftables table, when marks are desired or
	// recorded.
	Marks nftmark.Observed
}

// ObservedService is one virtual service with its counters and, for
// lvs-rs's own, its destinations.
type ObservedService struct {
	ipvs.ServiceExtended
	// Destinations are the destinations' configurations.
	Destinations []ipvs.Destination
	// Counters are the same destinations with their connection counts
	// and counters, index for index, when read for a status report (nil
	// otherwise: a converge never reads them).
	Counters []ipvs.DestinationExtended
}

// observe reads the kernel: one dump of services, the destinations of
// lvs-rs's own services, the addresses on iface and on the devices of
// owned addresses, and ip_forward. It is not a snapshot, and tolerates
// writers working meanwhile: a service that vanishes between the dump of
// services and the dump of its destinations is left out (gone). With
// strict, a missing iface is an error; otherwise it has no addresses.
func observe(ctx context.Context, k Kernel, d Desired, owned Owned, strict bool) (Observed, error) {
	return observeWith(ctx, k, d, owned, reading{strict: strict})
}

// observeCounters is observe with the destinations' counters, for status.
func observeCounters(ctx context.Context, k Kernel, d Desired, owned Owned) (Observed, error) {
	return observeWith(ctx, k, d, owned, reading{counters: true})
}

// reading is how observeWith reads the kernel.
type reading struct {
	// strict makes a missing interface an error.
	strict bool
	// reuse holds destinations of owned services taken from it, when its
	// entry has the key the kernel shows, instead of dumped again: the
	// read-back after a pass dumps again only the services the pass
	// wrote to.
	reuse map[ipvs.ServiceKey]ObservedService
	// counters reads the destinations' counters too (status).
	counters bool
	// only, when not nil, reads just these services (sorted), each with
	// one request, instead of dumping every service: a pass converging a
	// few services (Options.Services) need not read the other thousand.
	only []ipvs.ServiceKey
}

// observeWith is observe as rd says.
func observeWith(ctx context.Context, k Kernel, d Desired, owned Owned, rd reading) (Observed, error) {
	svcs, err := observeServices(ctx, k, owned, rd)
	if err != nil {
		return Observed{}, err
	}
	obs := Observed{Services: svcs}
	if err := observeHost(ctx, k, d, owned, rd.strict, &obs); err != nil {
		return Observed{}, err
	}
	return obs, nil
}

// listServices is every service (one dump), or only the services of
// only that exist (one request each).
func listServices(ctx context.Context, k Kernel, only []ipvs.ServiceKey) ([]ipvs.ServiceExtended, error) {
	if only == nil {
		return k.Services(ctx)
	}
	svcs := make([]ipvs.ServiceExtended, 0, len(only))
	for _, key := range only {
		s, err := k.Service(ctx, key)
		if errors.Is(err, unix.ESRCH) {
			continue // not there: the plan adds it if desired
		}
		if err != nil {
			return nil, err
		}
		svcs = append(svcs, s)
	}
	return svcs, nil
}

// observeServices is observeWith's IPVS table: the services, with the
// destinations of owned ones (and with counters, their counters), all
// listed in one call (see IPVS.DestinationsOf).
func observeServices(ctx context.Context, k Kernel, owned Owned, rd reading) (map[ipvs.ServiceKey]ObservedService, error) {
	svcs, err := listServices(ctx, k, rd.only)
	if err != nil {
		return nil, err
	}
	out := make(map[ipvs.ServiceKey]ObservedService, len(svcs))
	var list []ipvs.Service // owned services to list, from svcs[at[j]]
	var at []int
	for i := range svcs {
		s := &svcs[i]
		key := s.Key()
		var dests []ipvs.Destination
		if owned.Services.has(key) {
			prev, ok := rd.reuse[key]
			if !ok {
				list, at = append(list, s.Service), append(at, i)
				continue // in out once listed; left out if deleted meanwhile
			}
			dests = prev.Destinations
		}
		out[key] = ObservedService{ServiceExtended: *s, Destinations: dests}
	}
	if rd.counters {
		err = k.DestinationsOf(ctx, list, func(j int, ds []ipvs.DestinationExtended) {
			s := svcs[at[j]]
			out[s.Key()] = ObservedService{ServiceExtended: s, Destinations: configsOf(ds), Counters: ds}
		})
	} else {
		err = k.DestinationConfigsOf(ctx, list, func(j int, ds []ipvs.Destination) {
			s := svcs[at[j]]
			out[s.Key()] = ObservedService{ServiceExtended: s, Destinations: ds}
		})
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// observeHost is observeWith's part outside the IPVS table: the
// addresses, sysctls, IPVS settings, routes and marks, into obs.
func observeHost(ctx context.Context, k Kernel, d Desired, owned Owned, strict bool, obs *Observed) error {
	iface := d.Interface
	devs := []string{}
	if iface != "" {
		devs = append(devs, iface)
	}
	for _, a := range owned.Addrs {
		devs = append(devs, a.Dev)
	}
	seen := map[string]bool{}
	for i, dev := range devs {
		if seen[dev] {
			continue
		}
		seen[dev] = true
		addrs, err := k.Addrs(dev)
		if err != nil {
			if linkGone(err) && (!strict || i > 0 || iface == "") {
				continue // no device, no address
			}
			return fmt.Errorf("director: interface %s: %w", dev, err)
		}
		obs.Addrs = append(obs.Addrs, addrs...)
	}
	if err := observeSettings(ctx, k, d, owned, obs); err != nil {
		return err
	}
	return observeNetwork(ctx, k, d, owned, obs)
}

// linkGone reports a device that does not exist.
func linkGone(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, unix.ENODEV)
}
