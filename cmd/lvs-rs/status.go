package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/lvs-rs/lvs-rs/internal/phase"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/realserver"
)

// roleReport is what status needs of either role's report.
type roleReport interface {
	IsApplied() bool
	Drifted() bool
	WriteTable(io.Writer) error
}

func newStatusCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	f := &roleFlags{}
	var output string
	var connections bool
	cmd := &cobra.Command{
		Use:   "status [--role director|realserver] [--connections]",
		Short: "Compare the kernel with what lvs-rs applied (or with --config)",
		Long: "Exit 0: applied and matching; 1: drifted (each difference listed); " +
			"3: nothing applied on this host; 4: cannot tell.\n" +
			"Without --config or --vip, status compares against what the last start applied (LVS_RS_CONFIG does not change that).\n" +
			"-o json prints {\"<role>\": <report>} for each role shown.\n" +
			"--connections lists the director's IPVS connection table for lvs-rs's services instead (like ipvsadm -Lnc).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.checkRole(true); err != nil {
				return err
			}
			if err := checkOutput(output); err != nil {
				return err
			}
			if connections {
				return runConnections(cmd.Context(), g, f, output, stdout, stderr)
			}
			return runStatus(cmd.Context(), g, f, output, stdout, stderr)
		},
	}
	addRoleFlag(cmd, f, false)
	cmd.Flags().StringVar(&f.configPath, "config", "", "compare against this cluster config file instead of what the last start applied ($LVS_RS_CONFIG does not apply)")
	cmd.Flags().StringSliceVar(&f.vips, "vip", nil, "realserver: compare against these VIPs instead of the state")
	cmd.Flags().StringVar(&f.mode, "mode", "", "realserver: mode for --vip")
	cmd.Flags().StringArrayVar(&f.gateways, "gateway", nil, "realserver, with --vip and --mode nat: the director addresses the default routes go via, as given to start")
	addTunnelFlag(cmd.Flags(), f)
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	cmd.Flags().BoolVar(&connections, "connections", false, "director: list the IPVS connections of lvs-rs's services")
	return cmd
}

func runStatus(ctx context.Context, g *globalFlags, f *roleFlags, output string, stdout, stderr io.Writer) error {
	roles := []string{roleDirector, roleRealServer}
	if f.role != "" {
		roles = []string{f.role}
	}
	// Bad input is exit 2 even for status, before anything else.
	if len(f.tunnels) > 0 && len(f.vips) == 0 {
		return usageErr("--tunnel: only with --vip (the tunnels of the VIPs a real server without a file serves)")
	}
	if len(f.gateways) > 0 && len(f.vips) == 0 {
		return usageErr("--gateway: only with --vip and --mode nat (without them status compares with what start applied, gateways included)")
	}
	var cfg *config.Config
	if len(f.vips) == 0 {
		c, err := f.namedConfig()
		if err != nil {
			return err
		}
		cfg = c
	}
	if f.role != roleDirector && (len(f.vips) > 0 || cfg != nil) {
		// What realServerStatus reads of the flags and the environment.
		if err := f.checkRealServer(cfg); err != nil {
			return err
		}
	}
	s, err := openReadSession(g, stderr)
	if err != nil {
		return withCode(exitUnknown, err)
	}
	defer s.close()
	ro, do := s.opts(false)
	reports := map[string]roleReport{}
	for _, role := range roles {
		var rep roleReport
		var err error
		if role == roleDirector {
			rep, err = director.Status(ctx, cfg, do)
		} else {
			rep, err = realServerStatus(ctx, f, cfg, s, ro)
		}
		if err != nil {
			return withCode(exitUnknown, fmt.Errorf("%s: %w", role, err))
		}
		phase.Mark(role)
		if rep.IsApplied() || f.role != "" {
			reports[role] = rep
		}
	}
	var daemonErr error
	if f.role != roleRealServer {
		d, ok, err := daemonStatus(ctx, g)
		if ok {
			reports[roleDaemon] = d
			roles = append(roles, roleDaemon)
		}
		daemonErr = err
		phase.Mark("daemon")
	}
	// Buffered: a table of 10,000 real servers is one write, not one per row.
	w := bufio.NewWriterSize(stdout, 64<<10)
	err = printStatus(w, output, roles, reports)
	if ferr := w.Flush(); err == nil && ferr != nil {
		err = withCode(exitUnknown, ferr)
	}
	phase.Mark("report")
	if daemonErr != nil && (err == nil || errors.Is(err, errSilent)) {
		// The kernel's reports are printed; the daemon's part is unknown.
		err = withCode(exitUnknown, fmt.Errorf("%s: %w", roleDaemon, daemonErr))
	}
	return err
}

// realServerStatus compares against --vip, the named config, or the state.
func realServerStatus(ctx context.Context, f *roleFlags, cfg *config.Config, s *session, o realserver.Options) (roleReport, error) {
	if len(f.vips) == 0 && cfg == nil {
		return realserver.Status(ctx, nil, o)
	}
	d, err := f.realServerDesired(s.handle, cfg)
	if errors.Is(err, errNotListed) && f.role == "" {
		// Without --role, a host the file makes no real server (its
		// director, say) is compared with what the last start applied,
		// as without --config: nothing, on a director.
		return realserver.Status(ctx, nil, o)
	}
	if err != nil {
		return nil, err
	}
	return realserver.Status(ctx, &d, o)
}

func printStatus(w io.Writer, output string, roles []string, reports map[string]roleReport) error {
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(reports); err != nil {
			return withCode(exitUnknown, err)
		}
	}
	code := exitNotApplied
	for _, role := range roles {
		rep, ok := reports[role]
		if !ok {
			continue
		}
		if output == "table" {
			fmt.Fprintf(w, "== %s\n", role)
			if err := rep.WriteTable(w); err != nil {
				return withCode(exitUnknown, err)
			}
		}
		switch {
		case !rep.IsApplied():
		case rep.Drifted():
			code = exitKernel
		case code == exitNotApplied:
			code = exitOK
		}
	}
	if code == exitNotApplied && output == "table" && len(reports) == 0 {
		fmt.Fprintln(w, "nothing applied on this host")
	}
	if code == exitOK {
		return nil
	}
	return withCode(code, errSilent)
}
