package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"

	"github.com/spf13/cobra"

	"github.com/lvs-rs/lvs-rs/pkg/control"
	"github.com/lvs-rs/lvs-rs/pkg/state"
)

// errNoDaemon is what drain and enable say without a running director.
var errNoDaemon = errors.New("no lvs-rs run is active (drain and enable act on the running director)")

// drainVerb describes one of the two commands that talk to the daemon.
type drainVerb struct {
	name, short, done, unchanged string
	call                         func(*control.Client, context.Context, control.DrainRequest) (control.DrainResult, error)
}

var (
	drainVerbDrain = drainVerb{
		name:      "drain",
		short:     "Drain a real server in the running director: weight 0 now, deleted once idle; kept across restarts",
		done:      "drained",
		unchanged: "already drained",
		call:      (*control.Client).Drain,
	}
	drainVerbEnable = drainVerb{
		name:      "enable",
		short:     "Undo drain: the real server gets its weight back in the running director",
		done:      "enabled",
		unchanged: "was not drained",
		call:      (*control.Client).Enable,
	}
)

func newDrainCmd(g *globalFlags, stdout io.Writer) *cobra.Command {
	return newDrainVerbCmd(g, drainVerbDrain, stdout)
}

func newEnableCmd(g *globalFlags, stdout io.Writer) *cobra.Command {
	return newDrainVerbCmd(g, drainVerbEnable, stdout)
}

func newDrainVerbCmd(g *globalFlags, v drainVerb, stdout io.Writer) *cobra.Command {
	var service string
	cmd := &cobra.Command{
		Use:   v.name + " ADDRESS [--service tcp:VIP:PORT|udp:VIP:PORT|sctp:VIP:PORT|fwmark:N]",
		Short: v.short,
		Long: v.short + ".\nWithout --service: in every service, also in those a later reload adds " +
			"(enable without --service undoes every drain of ADDRESS); with --service: in that service alone " +
			"(enable --service of an address drained in every service puts it back in that one only).\n" +
			"Exit 0: done (the kernel holds the weight asked for, even if the pass failed on something else); " +
			"1: no lvs-rs run is active, or the change did not reach the kernel (kept: later passes retry it); 2: bad ADDRESS or --service, " +
			"or no such real server.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := drainRequest(args[0], service)
			if err != nil {
				return err
			}
			return runDrainVerb(cmd.Context(), g, v, req, stdout)
		},
	}
	cmd.Flags().StringVar(&service, "service", "", "only this service: "+control.ServiceSyntax)
	return cmd
}

// drainRequest checks the command line before anything is sent.
func drainRequest(address, service string) (control.DrainRequest, error) {
	addr, err := netip.ParseAddr(address)
	if err != nil || addr.Zone() != "" {
		return control.DrainRequest{}, usageErr("ADDRESS: %q is not an IP address", address)
	}
	req := control.DrainRequest{Address: addr.Unmap()}
	if service != "" {
		svc, err := control.ParseService(service)
		if err != nil {
			return control.DrainRequest{}, usageErr("--service: %v", err)
		}
		req.Service = svc
	}
	return req, nil
}

func runDrainVerb(ctx context.Context, g *globalFlags, v drainVerb, req control.DrainRequest, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, control.DefaultClientTimeout)
	defer cancel()
	c, err := control.Dial(ctx, state.Dir(g.stateDir))
	if err != nil {
		return daemonErr(v.name, err)
	}
	defer c.Close()
	res, err := v.call(c, ctx, req)
	if err != nil {
		return daemonErr(v.name, err)
	}
	for _, t := range res.Targets {
		if t.Changed {
			fmt.Fprintf(stdout, "%s %s in %s\n", v.done, t.Address, t.Service)
		} else {
			fmt.Fprintf(stdout, "%s in %s %s\n", t.Address, t.Service, v.unchanged)
		}
	}
	return nil
}

// daemonErr maps an error talking to the daemon to an exit code.
func daemonErr(verb string, err error) error {
	switch {
	case errors.Is(err, control.ErrNotRunning):
		return withCode(exitKernel, errNoDaemon)
	case errors.Is(err, control.ErrNotFound):
		return withCode(exitUsage, fmt.Errorf("%s: %w", verb, err))
	default:
		return withCode(exitKernel, fmt.Errorf("%s: %w", verb, err))
	}
}
