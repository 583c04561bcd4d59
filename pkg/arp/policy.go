package arp

import (
	"fmt"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
	"github.com/lvs-rs/lvs-rs/pkg/tunnel"
)

// The parameters and values of the real-server policy.
const (
	ArpIgnore   = "arp_ignore"   // 1: answer ARP only for addresses on the receiving device
	ArpAnnounce = "arp_announce" // 2: never use a VIP as the source of an ARP request
	RPFilter    = "rp_filter"    // 0: accept decapsulated packets whose source routes elsewhere
)

// Policy returns the sysctls a real server in mode needs for its IPv4 VIPs,
// device first, then conf/all; nil for nat and unknown modes.
func Policy(mode config.Mode) []sysctl.Want {
	switch mode {
	case config.ModeDR:
		return quiet("lo", false)
	case config.ModeTUN:
		return quiet(tunnel.Dev, true)
	}
	return nil
}

// DevicePolicy returns the dr-style policy on an arbitrary device name
// (arp_ignore=1, arp_announce=2 on conf/DEV and conf/all), with rp_filter=0
// too when rpFilter is set. Names with dots, such as eth0.100, are fine.
func DevicePolicy(dev string, rpFilter bool) []sysctl.Want { return quiet(dev, rpFilter) }

func quiet(dev string, rpFilter bool) []sysctl.Want {
	var w []sysctl.Want
	for _, d := range []string{dev, "all"} {
		w = append(w,
			sysctl.Want{Key: sysctl.IPv4Conf(d, ArpIgnore), Value: "1"},
			sysctl.Want{Key: sysctl.IPv4Conf(d, ArpAnnounce), Value: "2"})
		if rpFilter {
			w = append(w, sysctl.Want{Key: sysctl.IPv4Conf(d, RPFilter), Value: "0"})
		}
	}
	return w
}

// Enough reports whether have, the value of the parameter key, already
// does what want asks of it, so that lvs-rs writes (and records) nothing:
// have is want, or for arp_ignore a stricter value. The kernel applies
// the larger of conf/all and conf/DEV; 2 (reply only to a sender in the
// target's subnet on the incoming device) and 8 (never reply) are
// stricter than 1 for any VIP, 3 (never reply for a scope host address,
// but for any other address of the host) only when hostOnly: every VIP
// it must keep quiet is scope host, as lvs-rs binds a dr VIP on lo, not
// a tun VIP on tunl0. 4 to 7 are reserved and reply as 0 does. Any other
// parameter must hold want itself: 2 is the strictest arp_announce (the
// kernel treats larger values as 0), and rp_filter is wanted at 0.
func Enough(key sysctl.Key, want, have string, hostOnly bool) bool {
	if have == want {
		return true
	}
	if len(key) == 0 || key[len(key)-1] != ArpIgnore || want != "1" {
		return false
	}
	switch have {
	case "2", "8":
		return true
	case "3":
		return hostOnly
	}
	return false
}

// Merge returns the union of several policies in first-seen order, one
// entry per key. Two different values for one key are an error.
func Merge(lists ...[]sysctl.Want) ([]sysctl.Want, error) {
	seen := map[string]string{}
	var out []sysctl.Want
	for _, l := range lists {
		for _, w := range l {
			k := w.Key.String()
			if v, ok := seen[k]; ok {
				if v != w.Value {
					return nil, fmt.Errorf("arp: %s wanted as both %s and %s", k, v, w.Value)
				}
				continue
			}
			seen[k] = w.Value
			out = append(out, w)
		}
	}
	return out, nil
}
