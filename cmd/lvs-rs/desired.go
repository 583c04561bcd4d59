package main

import (
	"errors"
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
		cfg, bindings, err := config.RealServerFromFlags(f.modeOr("dr"), f.vips, f.gateways, f.tunnels...)
		if err != nil {
			return realserver.Desired{}, withCode(exitUsage, err)
		}
		return realserver.Desired{Bindings: bindings, Gateways: cfg.RealServer.Gateways}, nil
	}
	if err := f.tunnelWithFile(cfg); err != nil {
		return realserver.Desired{}, err
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
		return realserver.Desired{}, usageErr("%s: %w (pass --address ADDR when the address is not configured yet, or --vip)", cfg.Source, errNotListed)
	}
	m, err := f.modeOverride()
	if err != nil {
		return realserver.Desired{}, err
	}
	if m != "" {
		for i := range bindings {
			bindings[i].Mode = m
		}
	}
	gws, err := f.gatewayAddrs(cfg)
	if err != nil {
		return realserver.Desired{}, err
	}
	// --gateway names this host's gateways: one of a family none of its
	// nat VIPs has is a mistake. The file's serve every real server of
	// the file (checked against its nat VIPs when it was read): this
	// host uses those of the families it serves nat VIPs of, and start
	// and status warn of a nat family without one.
	for _, gw := range gws {
		if p := config.GatewayProblem(gw, bindings); p != "" && len(f.gateways) > 0 {
			return realserver.Desired{}, usageErr("--gateway: %s", p)
		}
	}
	return realserver.Desired{Bindings: bindings, Gateways: gws}, nil
}

// errNotListed is realServerDesired's error when the file makes this host
// no real server.
var errNotListed = errors.New("no virtual server lists one of this host's addresses among its real servers or as its sorry server")

// checkRealServer validates, without the kernel, what realServerDesired
// reads of the flags and the environment (--mode, --vip, --gateway,
// --address, LVS_RS_ADDRESS): bad input exits 2 before the privilege
// check and the lock. cfg is as for realServerDesired.
func (f *roleFlags) checkRealServer(cfg *config.Config) error {
	if f.flagsOnly() || cfg == nil {
		_, err := f.realServerDesired(nil, nil) // needs no kernel
		return err
	}
	if err := f.tunnelWithFile(cfg); err != nil {
		return err
	}
	if _, err := f.namedAddresses(); err != nil {
		return err
	}
	if _, err := f.modeOverride(); err != nil {
		return err
	}
	_, err := f.gatewayAddrs(cfg)
	return err
}

// tunnelWithFile refuses --tunnel next to cfg, the file: a real server
// of the file takes each VIP's tunnel from its real server's tunnel
// there (--mode tun overriding the file keeps those too).
func (f *roleFlags) tunnelWithFile(cfg *config.Config) error {
	if len(f.tunnels) == 0 {
		return nil
	}
	return usageErr("--tunnel: only for a real server without a config file (with --vip); this one takes its tunnels from %s: set them there (real_servers[].tunnel)", cfg.Source)
}

// modeOverride returns --mode, "" when not given.
func (f *roleFlags) modeOverride() (config.Mode, error) {
	if f.mode == "" {
		return "", nil
	}
	m := config.Mode(f.mode)
	if !m.Valid() {
		return "", usageErr("--mode: %q is not a mode (dr, tun or nat)", f.mode)
	}
	return m, nil
}

// flagsOnly reports whether the real server's desired state comes from the
// command line alone: --vip, or --mode nat --gateway (nat binds no VIP).
func (f *roleFlags) flagsOnly() bool {
	return len(f.vips) > 0 || (f.mode == string(config.ModeNAT) && len(f.gateways) > 0)
}

func (f *roleFlags) modeOr(def string) string {
	if f.mode != "" {
		return f.mode
	}
	return def
}

// gatewayAddrs returns the --gateway addresses, checked as
// realserver.gateway's are (at most one per family; a link-local IPv6
// one keeps its zone), else the file's realserver.gateway.
func (f *roleFlags) gatewayAddrs(cfg *config.Config) ([]netip.Addr, error) {
	if len(f.gateways) > 0 {
		gws, err := config.ParseGateways(f.gateways)
		if err != nil {
			return nil, usageErr("%v", err)
		}
		return gws, nil
	}
	if cfg != nil {
		return cfg.RealServer.Gateways, nil
	}
	return nil, nil
}

// localAddresses is this host's addresses: --address/LVS_RS_ADDRESS plus
// every address configured on a link now.
func (f *roleFlags) localAddresses(h *netlink.Handle) (func(netip.Addr) bool, error) {
	named, err := f.namedAddresses()
	if err != nil {
		return nil, err
	}
	extra := map[netip.Addr]bool{}
	for _, a := range named {
		extra[a] = true
	}
	live, err := realserver.IsLocal(h)
	if err != nil {
		return nil, withCode(exitKernel, err)
	}
	return func(a netip.Addr) bool { return extra[a.Unmap()] || live(a) }, nil
}

// namedAddresses parses --address, else LVS_RS_ADDRESS (comma-separated).
func (f *roleFlags) namedAddresses() ([]netip.Addr, error) {
	named, from := f.addresses, "--address"
	if len(named) == 0 {
		if env := os.Getenv("LVS_RS_ADDRESS"); env != "" {
			named, from = strings.Split(env, ","), "LVS_RS_ADDRESS"
		}
	}
	addrs := make([]netip.Addr, 0, len(named))
	for _, s := range named {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return nil, usageErr("%s: %q is not an IP address", from, s)
		}
		addrs = append(addrs, a.Unmap())
	}
	return addrs, nil
}
