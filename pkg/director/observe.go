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
	return observeSome(ctx, k, d, owned, strict, nil)
}

// observeCounters is observe with the destinations' counters, for status.
func observeCounters(ctx context.Context, k Kernel, d Desired, owned Owned) (Observed, error) {
	return observeWith(ctx, k, d, owned, false, nil, true)
}

// observeSome is observe, except that the destinations of an owned
// service that reuse holds, with the key its dump of services shows, are
// taken from reuse instead of dumped again: the read-back after a pass
// dumps again only the services the pass wrote to.
func observeSome(ctx context.Context, k Kernel, d Desired, owned Owned, strict bool, reuse map[ipvs.ServiceKey]ObservedService) (Observed, error) {
	return observeWith(ctx, k, d, owned, strict, reuse, false)
}

// observeWith is observeSome, with the destinations' counters when
// counters is set.
func observeWith(ctx context.Context, k Kernel, d Desired, owned Owned, strict bool, reuse map[ipvs.ServiceKey]ObservedService, counters bool) (Observed, error) {
	svcs, err := observeServices(ctx, k, owned, reuse, counters)
	if err != nil {
		return Observed{}, err
	}
	obs := Observed{Services: svcs}
	if err := observeHost(ctx, k, d, owned, strict, &obs); err != nil {
		return Observed{}, err
	}
	return obs, nil
}

// observeServices is observeSome's IPVS table: every service, with the
// destinations of owned ones (and with counters, their counters), all
// listed in one call (see IPVS.DestinationsOf).
func observeServices(ctx context.Context, k Kernel, owned Owned, reuse map[ipvs.ServiceKey]ObservedService, counters bool) (map[ipvs.ServiceKey]ObservedService, error) {
	svcs, err := k.Services(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[ipvs.ServiceKey]ObservedService, len(svcs))
	var list []ipvs.Service // owned services to list, from svcs[at[j]]
	var at []int
	for i, s := range svcs {
		key := s.Key()
		o := ObservedService{ServiceExtended: s}
		if owned.Services.has(key) {
			prev, ok := reuse[key]
			if !ok {
				list, at = append(list, s.Service), append(at, i)
				continue // in out once listed; left out if deleted meanwhile
			}
			o.Destinations = prev.Destinations
		}
		out[key] = o
	}
	if counters {
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

// observeHost is observeSome's part outside the IPVS table: the
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
