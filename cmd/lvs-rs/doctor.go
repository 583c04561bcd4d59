package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"github.com/vishvananda/netns"

	"github.com/lvs-rs/lvs-rs/internal/rtnl"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/doctor"
)

// envDoctorRoot makes doctor read ROOT/proc, ROOT/sys, ROOT/etc, ... instead
// of /proc, /sys, /etc (tests; see the README's Troubleshooting section).
const envDoctorRoot = "LVS_RS_DOCTOR_ROOT"

func newDoctorCmd(stdout io.Writer) *cobra.Command {
	f := &roleFlags{}
	var output string
	cmd := &cobra.Command{
		Use:   "doctor [--role director|realserver]",
		Short: "Check this host for the misconfigurations that commonly break LVS",
		Long: "Each check prints ok or \"PROBLEM: what — how to fix\", one line each, its name first.\n" +
			"Exit 0: every check is ok; 1: at least one problem; 2: bad command line or config.\n" +
			"Without --role, a host the config lists as a real server is checked as one, otherwise as the director.\n" +
			"doctor changes nothing on the host.\n" +
			"On a director, arp-flux sends ARP requests for the IPv4 VIPs, and ndp-flux neighbour solicitations for the IPv6 ones, on director.interface; " +
			"a MAC other than the director's that answers is a problem when it also answers for a real server's own address, and otherwise unless director.announce is set (a peer director: a note).\n" +
			"A dr real server with an IPv6 VIP on lo does not answer; one with the VIP on the interface facing the director, or publishing it with proxy_ndp, does.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.checkRole(true); err != nil {
				return err
			}
			if err := checkOutput(output); err != nil {
				return err
			}
			return runDoctor(cmd.Context(), f, output, stdout)
		},
	}
	addRoleFlag(cmd, f, false)
	addConfigFlag(cmd, f)
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	cmd.Flags().StringSliceVar(&f.addresses, "address", nil, "realserver: this host's own real-server address, when not configured (default $LVS_RS_ADDRESS)")
	cmd.Flags().StringSliceVar(&f.vips, "vip", nil, "realserver without a file: the VIPs this host serves")
	cmd.Flags().StringVar(&f.mode, "mode", "", "realserver without a file: dr, tun or nat (default dr)")
	cmd.Flags().StringArrayVar(&f.gateways, "gateway", nil, "realserver nat: the director address the default route must go via, one IPv4 and one IPv6 at most (repeatable or comma-separated)")
	addTunnelFlag(cmd.Flags(), f)
	return cmd
}

func runDoctor(ctx context.Context, f *roleFlags, output string, stdout io.Writer) error {
	t, err := f.doctorTarget()
	if err != nil {
		return err
	}
	h := doctor.System()
	if root := os.Getenv(envDoctorRoot); root != "" {
		h = doctor.RootedAt(root)
	}
	rs := doctor.Run(ctx, h, t)
	if output == "json" {
		err = doctor.WriteJSON(stdout, t.Role, rs)
	} else {
		err = doctor.WriteTable(stdout, rs)
	}
	if err != nil {
		return withCode(exitKernel, err)
	}
	if !doctor.AllOK(rs) {
		return withCode(exitKernel, errSilent)
	}
	return nil
}

// doctorTarget is what this host should be: a real server from --vip or
// --mode nat --gateway alone; else from the file, in --role, or a real
// server when the file lists one of this host's addresses, else the
// director.
func (f *roleFlags) doctorTarget() (doctor.Target, error) {
	if f.flagsOnly() {
		if f.role == roleDirector {
			return doctor.Target{}, usageErr("--vip, --gateway, --tunnel: real-server flags; the director's checks read the config file")
		}
		d, err := f.realServerDesired(nil, nil)
		if err != nil {
			return doctor.Target{}, err
		}
		return doctor.Target{Role: doctor.RoleRealServer, Bindings: d.Bindings, Gateways: d.Gateways}, nil
	}
	cfg, err := f.loadFile()
	if err != nil {
		return doctor.Target{}, err
	}
	return f.fileTarget(cfg)
}

// fileTarget is doctorTarget for the cluster file.
func (f *roleFlags) fileTarget(cfg *config.Config) (doctor.Target, error) {
	if err := f.tunnelWithFile(cfg); err != nil {
		return doctor.Target{}, err
	}
	h, err := rtnl.Open(netns.None())
	if err != nil {
		return doctor.Target{}, withCode(exitKernel, err)
	}
	defer h.Close()
	isLocal, err := f.localAddresses(h)
	if err != nil {
		return doctor.Target{}, err
	}
	bindings, err := cfg.RealServerVIPs(isLocal)
	if err != nil {
		return doctor.Target{}, withCode(exitUsage, fmt.Errorf("%s: %w", cfg.Source, err))
	}
	role := f.role
	if role == "" {
		role = roleDirector
		if len(bindings) > 0 {
			role = roleRealServer
		}
	}
	if role == roleDirector {
		if err := cfg.CheckDirector(); err != nil {
			return doctor.Target{}, withCode(exitUsage, err)
		}
		return doctor.DirectorTarget(cfg), nil
	}
	if len(bindings) == 0 {
		return doctor.Target{}, usageErr("%s: no virtual server lists one of this host's addresses among its real servers or as its sorry server (pass --address ADDR or set LVS_RS_ADDRESS)", cfg.Source)
	}
	gws, err := f.gatewayAddrs(cfg)
	if err != nil {
		return doctor.Target{}, err
	}
	return doctor.Target{Role: doctor.RoleRealServer, Bindings: bindings, Gateways: gws}, nil
}
