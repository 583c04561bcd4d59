package main

import (
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/internal/nlretry"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/director"
)

// directorSource is the source of the checks through the VIP: a global
// address of the IPv4 (or IPv6) family on cfg's director interface that
// is neither one of cfg's VIPs nor one of held (the VIPs lvs-rs keeps
// bound for services that left the file and still drain: heldVIPs). A
// VIP as the source would make a DR real server, which holds it too,
// answer itself. Not deprecated addresses come first (IPv6: lvs-rs binds
// its VIPs deprecated, and the kernel lists the newest address first, so
// without this a VIP bound by another tool would be picked over the
// director's own address); a deprecated one is used only when there is
// nothing else. cfg is the configuration being set up
// (reconcile.Options.Source), never one captured at start-up: a reload
// may move director.interface or make the old source a VIP.
func directorSource(h *netlink.Handle, cfg *config.Config, v6 bool, held []netip.Addr) (netip.Addr, error) {
	iface := cfg.Director.Interface
	link, err := h.LinkByName(iface)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("interface %s: %w", iface, err)
	}
	fam := netlink.FAMILY_V4
	if v6 {
		fam = netlink.FAMILY_V6
	}
	addrs, err := nlretry.Dump(func() ([]netlink.Addr, error) { return h.AddrList(link, fam) })
	if err != nil {
		return netip.Addr{}, fmt.Errorf("addresses of %s: %w", iface, err)
	}
	vips := map[netip.Addr]bool{}
	for _, vs := range cfg.VirtualServers {
		vips[vs.VIP.Unmap()] = true
	}
	for _, a := range held {
		vips[a.Unmap()] = true
	}
	var fallback netip.Addr
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok || a.Scope != unix.RT_SCOPE_UNIVERSE || vips[ip.Unmap()] {
			continue
		}
		if a.Flags&unix.IFA_F_DEPRECATED == 0 && a.PreferedLft != 0 {
			return ip.Unmap(), nil
		}
		if !fallback.IsValid() {
			fallback = ip.Unmap()
		}
	}
	if fallback.IsValid() {
		return fallback, nil
	}
	return netip.Addr{}, fmt.Errorf("%s has no global address of the VIP's family besides the VIPs", iface)
}

// heldVIPs is the VIPs the director's state record in dir says lvs-rs
// keeps bound (director.RecordedVIPs): the last pass's, which include the
// VIP of a service that left the file and still drains. Unreadable or
// absent, it is none: the source is then chosen among the addresses
// besides the file's VIPs, as before any pass.
func heldVIPs(dir string) []netip.Addr {
	vips, _ := director.RecordedVIPs(director.Options{StateDir: dir})
	return vips
}
