package director

import (
	"cmp"
	"errors"
	"io/fs"
	"slices"
	"strings"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

// IPv6 forwarding. The kernel forwards an IPv6 nat service's replies (the
// real servers send them to the director, their gateway, addressed to the
// client) only with net/ipv6/conf/all/forwarding=1: otherwise ip6_forward
// drops them. director.ip_forward is IPv4's; a config with an IPv6 nat
// service asks for IPv6 forwarding too.
//
// Writing 1 there also makes every interface a router's: the kernel stops
// accepting router advertisements on an interface whose accept_ra is 1
// (2 accepts them while forwarding), and at once deletes the default
// routes it learned from them on every interface whose accept_ra is not
// 2, which can take the director's own default route away. So before the
// plan writes forwarding=1, it sets accept_ra=2 on every interface, and
// on conf/default (for interfaces made later), whose accept_ra is 1
// (lo excepted), each recorded and restored as any sysctl: the host keeps
// its learned routes and addresses, and keeps learning them. Where
// forwarding is already 1 and not lvs-rs's, the host is a router by its
// operator's choice, and nothing more is changed.

// forwarding6 is net/ipv6/conf/all/forwarding.
var forwarding6 = sysctl.IPv6Conf("all", "forwarding").String()

// natIPv6 reports whether a real server of an IPv6 service of cfg, or its
// sorry server (added in the service's mode), uses nat.
func natIPv6(cfg *config.Config) bool {
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		if !vs.VIP.Unmap().Is6() {
			continue
		}
		if vs.SorryServer.IsValid() && vs.Mode == config.ModeNAT {
			return true
		}
		for j := range vs.RealServers {
			if m := cmp.Or(vs.RealServers[j].Mode, vs.Mode); m == config.ModeNAT {
				return true
			}
		}
	}
	return false
}

// ipv6Lister is a Kernel that lists the devices with an IPv6
// configuration (sysctl.Tree.IPv6Devices); the host's kernel does. A
// Kernel without it has no interface to keep router advertisements on.
type ipv6Lister interface {
	IPv6Devices() ([]string, error)
}

func (k hostKernel) IPv6Devices() ([]string, error) { return k.tree.IPv6Devices() }

// acceptRADevice returns DEV of net/ipv6/conf/DEV/accept_ra, for a device
// whose accept_ra the plan may set: not all (which the kernel does not
// apply to devices) and not lo (no router advertises there).
func acceptRADevice(key string) (string, bool) {
	k := sysctl.ParseKey(key)
	if len(k) != 5 || k[0] != "net" || k[1] != "ipv6" || k[2] != "conf" || k[4] != "accept_ra" || k[3] == "all" || k[3] == "lo" {
		return "", false
	}
	return k[3], true
}

// turnsForwardingOn reports whether lvs-rs is to write IPv6 forwarding,
// or wrote it: d wants it 1, and it is not 1 or is lvs-rs's.
func turnsForwardingOn(d Desired, obs Observed, owned Owned) bool {
	if v, ok := d.wanted(forwarding6); !ok || v != "1" {
		return false
	}
	_, mine := ownedSysctl(owned, forwarding6)
	return obs.Sysctls[forwarding6] != "1" || mine
}

// raWants returns the accept_ra=2 the plan derives while lvs-rs turns
// IPv6 forwarding on: for every device observed with accept_ra 1, and
// every one lvs-rs set to 2 that still holds it; in key order.
func raWants(d Desired, obs Observed, owned Owned) []SysctlWant {
	if !turnsForwardingOn(d, obs, owned) {
		return nil
	}
	var out []SysctlWant
	for key, v := range obs.Sysctls {
		if _, ok := acceptRADevice(key); !ok {
			continue
		}
		if _, mine := ownedSysctl(owned, key); v == "1" || v == "2" && mine {
			out = append(out, SysctlWant{Key: key, Value: "2"})
		}
	}
	slices.SortFunc(out, func(a, b SysctlWant) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// sysctlWants returns every parameter the plan wants: the accept_ra ones
// raWants derives first (written before forwarding), then d's.
func sysctlWants(d Desired, obs Observed, owned Owned) []SysctlWant {
	ra := raWants(d, obs, owned)
	if len(ra) == 0 {
		return d.Sysctls
	}
	return append(ra, d.Sysctls...)
}

// wantedIn returns the value ws wants for key.
func wantedIn(ws []SysctlWant, key string) (string, bool) {
	i := slices.IndexFunc(ws, func(w SysctlWant) bool { return w.Key == key })
	if i < 0 {
		return "", false
	}
	return ws[i].Value, true
}

// observeAcceptRA reads accept_ra of every device (all and lo excepted)
// into obs when lvs-rs is about to write IPv6 forwarding (d wants it and
// it is not 1): the plan sets 2 where it finds 1. Once forwarding is 1,
// only the devices recorded are read (with the recorded sysctls), and
// devices made later inherit conf/default's 2.
func observeAcceptRA(k Kernel, d Desired, obs *Observed) error {
	if v, ok := d.wanted(forwarding6); !ok || v != "1" || obs.Sysctls[forwarding6] == "1" {
		return nil
	}
	l, ok := k.(ipv6Lister)
	if !ok {
		return nil
	}
	devs, err := l.IPv6Devices()
	if err != nil {
		return err
	}
	for _, dev := range devs {
		key := sysctl.IPv6Conf(dev, "accept_ra")
		if _, ok := acceptRADevice(key.String()); !ok {
			continue
		}
		if _, done := obs.Sysctls[key.String()]; done {
			continue
		}
		v, err := k.Sysctl(key)
		if errors.Is(err, fs.ErrNotExist) {
			continue // the device went meanwhile
		}
		if err != nil {
			return err
		}
		obs.Sysctls[key.String()] = v
	}
	return nil
}
