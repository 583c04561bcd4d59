package config

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

// checkDirector2 re-validates the director fields of the long-running
// director, independently of the validator.
func checkDirector2(d Director) error {
	switch {
	case d.ReconcileInterval < time.Second || d.ReconcileInterval > 24*time.Hour:
		return fmt.Errorf("reconcile_interval %s", d.ReconcileInterval)
	case d.Metrics.IsValid() && d.Metrics.Port() == 0:
		return fmt.Errorf("metrics %s", d.Metrics)
	}
	for i, s := range d.IPVSSysctls {
		p, ok := sysctl.LookupIPVS(s.Name)
		if !ok || s.Value < p.Min || s.Value > p.Max || (i > 0 && d.IPVSSysctls[i-1].Name >= s.Name) {
			return fmt.Errorf("ipvs_sysctls %v", d.IPVSSysctls)
		}
	}
	for _, t := range []time.Duration{d.Timeouts.TCP, d.Timeouts.TCPFin, d.Timeouts.UDP} {
		if t < 0 || t%time.Second != 0 || t > MaxIPVSTimeout {
			return fmt.Errorf("timeouts %+v", d.Timeouts)
		}
	}
	if s := d.Sync; s != nil {
		if checkInterface(s.Interface) != "" || !slices.Contains([]SyncState{SyncMaster, SyncBackup, SyncBoth}, s.State) ||
			!s.Group.IsMulticast() || s.Port == 0 || s.TTL == 0 {
			return fmt.Errorf("sync %+v", *s)
		}
	}
	if a := d.Announce; a != nil && (a.Table == 0 || (a.Table >= 253 && a.Table <= 255) || a.Protocol < 3) {
		return fmt.Errorf("announce %+v", *a)
	}
	return nil
}

// zeroNet is 0.0.0.0/8, which the kernel refuses for a real server.
var zeroNet = netip.MustParsePrefix("0.0.0.0/8")

// checkService2 re-validates a virtual server's fields of the long-running
// director, and the effective check of each real server.
func checkService2(vs VirtualServer) error {
	switch {
	case vs.VIP.IsLoopback():
		return fmt.Errorf("loopback vip")
	case zeroNet.Contains(vs.VIP) || zeroNet.Contains(vs.SorryServer):
		return fmt.Errorf("vip %s or sorry_server %s in 0.0.0.0/8", vs.VIP, vs.SorryServer)
	case vs.OnFailure != OnFailureQuiesce && vs.OnFailure != OnFailureRemove:
		return fmt.Errorf("on_failure %q", vs.OnFailure)
	case vs.DrainTimeout < 0 || vs.SlowStart < 0:
		return fmt.Errorf("durations %s %s", vs.DrainTimeout, vs.SlowStart)
	case vs.SorryServer.IsValid() && (vs.SorryServer.Is4() != vs.VIP.Is4() || vs.SorryServer.Is6() && vs.SorryServer.IsLinkLocalUnicast()):
		return fmt.Errorf("sorry_server %s", vs.SorryServer)
	case len(vs.Marks) > 0 && vs.FWMark == 0:
		return fmt.Errorf("mark without fwmark")
	case vs.FWMark >= 0x4c560000 && vs.FWMark <= 0x4c56ffff:
		return fmt.Errorf("fwmark %#x of the probes of via: vip", vs.FWMark)
	}
	for _, f := range vs.SchedulerFlags {
		if strings.HasPrefix(string(f), "mh-") && vs.Scheduler != "mh" || strings.HasPrefix(string(f), "sh-") && vs.Scheduler != "sh" {
			return fmt.Errorf("scheduler flag %s with %s", f, vs.Scheduler)
		}
	}
	if vs.Check != nil {
		if err := checkCheck(vs.Check); err != nil {
			return fmt.Errorf("check: %w", err)
		}
	}
	// A weight-0 real server keeps its hash share under dh, and under sh
	// and mh without their fallback flag: quiescing takes nothing out.
	keeps := vs.Scheduler == "dh" || vs.Scheduler == "sh" && !slices.Contains(vs.SchedulerFlags, FlagSHFallback) ||
		vs.Scheduler == "mh" && !slices.Contains(vs.SchedulerFlags, FlagMHFallback)
	for j, rs := range vs.RealServers {
		if keeps && vs.OnFailure == OnFailureQuiesce && vs.CheckFor(rs) != nil {
			return fmt.Errorf("real_servers[%d]: checked, quiesced on failure under %s %v", j, vs.Scheduler, vs.SchedulerFlags)
		}
		switch {
		case rs.Address.Is6() && rs.Address.IsLinkLocalUnicast():
			return fmt.Errorf("real_servers[%d]: link-local %s", j, rs.Address)
		case zeroNet.Contains(rs.Address):
			return fmt.Errorf("real_servers[%d]: %s in 0.0.0.0/8", j, rs.Address)
		case rs.LowerThreshold > rs.UpperThreshold:
			return fmt.Errorf("real_servers[%d]: thresholds %d > %d", j, rs.LowerThreshold, rs.UpperThreshold)
		case (rs.Mode == ModeTUN) != (rs.Tunnel.Type != ""):
			return fmt.Errorf("real_servers[%d]: tunnel %+v in mode %s", j, rs.Tunnel, rs.Mode)
		case rs.Tunnel.Type == TunnelGUE && rs.Tunnel.Port == 0, rs.Tunnel.Type != TunnelGUE && rs.Tunnel.Port != 0:
			return fmt.Errorf("real_servers[%d]: tunnel %+v", j, rs.Tunnel)
		case rs.Mode == ModeTUN && vs.VIP.Is6():
			return fmt.Errorf("real_servers[%d]: tun with an IPv6 vip", j)
		}
		if c := vs.CheckFor(rs); c != nil {
			if err := checkCheck(c); err != nil {
				return fmt.Errorf("real_servers[%d]: check: %w", j, err)
			}
			if c.Via == ViaVIP && rs.Mode == ModeNAT {
				return fmt.Errorf("real_servers[%d]: via: vip on a nat real server", j)
			}
		}
	}
	return nil
}

// checkCheck re-validates an effective check.
func checkCheck(c *Check) error {
	web := c.Type == CheckHTTP || c.Type == CheckHTTPS
	switch {
	case !slices.Contains(checkTypes(), c.Type):
		return fmt.Errorf("type %q", c.Type)
	case c.Timeout <= 0 || c.Timeout >= c.Interval:
		return fmt.Errorf("timeout %s, interval %s", c.Timeout, c.Interval)
	case c.Rise < 1 || c.Fall < 1:
		return fmt.Errorf("rise %d, fall %d", c.Rise, c.Fall)
	case web != (c.Path != "") || web != (c.ExpectStatus != nil):
		return fmt.Errorf("http fields on %s", c.Type)
	case (c.Type == CheckDNS) != (c.Query != ""):
		return fmt.Errorf("query on %s", c.Type)
	case (c.Type == CheckExec) != (c.Command != nil):
		return fmt.Errorf("command on %s", c.Type)
	}
	return nil
}
