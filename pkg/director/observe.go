package director

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
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
	// IPForward is net/ipv4/ip_forward now.
	IPForward string
}

// ObservedService is one virtual service with its counters and, for
// lvs-rs's own, its destinations.
type ObservedService struct {
	ipvs.ServiceExtended
	Destinations []ipvs.DestinationExtended
}

// Owned is what lvs-rs created, from the state record.
type Owned struct {
	// Services maps each virtual service lvs-rs created to the
	// destinations in it that are lvs-rs's.
	Services map[ipvs.ServiceKey]map[ipvs.DestinationKey]bool
	Addrs    []vip.Addr      // addresses lvs-rs bound
	Sysctls  []sysctl.Record // parameters lvs-rs changed
}

// observe reads the kernel: one dump of services, the destinations of
// lvs-rs's own services, the addresses on iface and on the devices of
// owned addresses, and ip_forward. k may be nil (no IPVS: no services).
// With strict, a missing iface is an error; otherwise it has no addresses.
func observe(k Kernel, h *netlink.Handle, tree sysctl.Tree, iface string, owned Owned, strict bool) (Observed, error) {
	obs := Observed{Services: map[ipvs.ServiceKey]ObservedService{}}
	if k != nil {
		svcs, err := k.Services()
		if err != nil {
			return Observed{}, err
		}
		for _, s := range svcs {
			o := ObservedService{ServiceExtended: s}
			if _, mine := owned.Services[s.Key()]; mine {
				if o.Destinations, err = k.Destinations(s.Service); err != nil {
					return Observed{}, err
				}
			}
			obs.Services[s.Key()] = o
		}
	}
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
		addrs, err := vip.List(h, dev)
		if err != nil {
			if linkGone(err) && (!strict || i > 0 || iface == "") {
				continue // no device, no address
			}
			return Observed{}, fmt.Errorf("director: interface %s: %w", dev, err)
		}
		obs.Addrs = append(obs.Addrs, addrs...)
	}
	v, err := tree.Read(sysctl.IPForward())
	if err != nil {
		return Observed{}, err
	}
	obs.IPForward = v
	return obs, nil
}

// linkGone reports a device that does not exist.
func linkGone(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, unix.ENODEV)
}
