package main

import (
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/vishvananda/netlink"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/realserver"
)

// directorConfig builds the director's desired state from flags (the
// single-service case) or from the cluster file.
func (f *roleFlags) directorConfig() (*config.Config, error) {
	if len(f.vips) > 0 {
		if len(f.vips) != 1 {
			return nil, usageErr("--vip: the director without a config file takes one VIP")
		}
		cfg, err := config.DirectorFromFlags(config.DirectorFlags{
			VIP: f.vips[0], Port: f.port, Protocol: f.protocol, Scheduler: f.scheduler,
			Mode: f.mode, Interface: f.iface, RealServers: f.realServers, Persistence: f.persistence,
		})
		if err != nil {
			return nil, withCode(exitUsage, err)
		}
		return cfg, nil
	}
	cfg, err := f.loadFile()
	if err != nil {
		return nil, err
	}
	if err := cfg.CheckDirector(); err != nil {
		return nil, withCode(exitUsage, err)
	}
	return cfg, nil
}

// realServerDesired builds the real server's desired state: --vip/--mode
// alone, or the VIPs of every virtual server of cfg (the file, read once
// by the caller) that lists one of this host's addresses among its real
// servers, with --mode/--vip overriding the file. cfg nil means flags only.
func (f *roleFlags) realServerDesired(h *netlink.Handle, cfg *config.Config) (realserver.Desired, error) {
	if f.flagsOnly() || cfg == nil {
		cfg, bindings, err := config.RealServerFromFlags(f.modeOr("dr"), f.vips, f.gateway)
		if err != nil {
			return realserver.Desired{}, withCode(exitUsage, err)
		}
		return realserver.Desired{Bindings: bindings, Gateway: cfg.RealServer.Gateway}, nil
	}
	isLocal, err := f.localAddresses(h)
	if err != nil {
		return realserver.Desired{}, err
	}
	bindings, err := cfg.RealServerVIPs(isLocal)
	if err != nil {
		return realserver.Desired{}, withCode(exitUsage, fmt.Errorf("%s: %w", cfg.Source, err))
	}
	if len(bindings) == 0 {
		return realserver.Desired{}, usageErr("%s: no virtual server lists one of this host's addresses among its real servers (pass --address ADDR when the address is not configured yet, or --vip)", cfg.Source)
	}
	if f.mode != "" {
		m := config.Mode(f.mode)
		if !m.Valid() {
			return realserver.Desired{}, usageErr("--mode: %q is not a mode (dr, tun or nat)", f.mode)
		}
		for i := range bindings {
			bindings[i].Mode = m
		}
	}
	gw, err := f.gatewayAddr(cfg)
	if err != nil {
		return realserver.Desired{}, err
	}
	return realserver.Desired{Bindings: bindings, Gateway: gw}, nil
}

// flagsOnly reports whether the real server's desired state comes from the
// command line alone: --vip, or --mode nat --gateway (nat binds no VIP).
func (f *roleFlags) flagsOnly() bool {
	return len(f.vips) > 0 || (f.mode == string(config.ModeNAT) && f.gateway != "")
}

func (f *roleFlags) modeOr(def string) string {
	if f.mode != "" {
		return f.mode
	}
	return def
}

// gatewayAddr returns --gateway, else the file's realserver.gateway.
func (f *roleFlags) gatewayAddr(cfg *config.Config) (netip.Addr, error) {
	if f.gateway != "" {
		gw, err := netip.ParseAddr(f.gateway)
		if err != nil {
			return netip.Addr{}, usageErr("--gateway: %q is not an IP address", f.gateway)
		}
		return gw.Unmap(), nil
	}
	if cfg != nil {
		return cfg.RealServer.Gateway, nil
	}
	return netip.Addr{}, nil
}

// localAddresses is this host's addresses: --address/LVS_RS_ADDRESS plus
// every address configured on a link now.
func (f *roleFlags) localAddresses(h *netlink.Handle) (func(netip.Addr) bool, error) {
	named := f.addresses
	if len(named) == 0 {
		if env := os.Getenv("LVS_RS_ADDRESS"); env != "" {
			named = strings.Split(env, ",")
		}
	}
	extra := map[netip.Addr]bool{}
	for _, s := range named {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return nil, usageErr("--address: %q is not an IP address", s)
		}
		extra[a.Unmap()] = true
	}
	live, err := realserver.IsLocal(h)
	if err != nil {
		return nil, withCode(exitKernel, err)
	}
	return func(a netip.Addr) bool { return extra[a.Unmap()] || live(a) }, nil
}
