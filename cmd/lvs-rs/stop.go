package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/realserver"
)

func newStopCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	f := &roleFlags{}
	cmd := &cobra.Command{
		Use:   "stop --role director|realserver",
		Short: "Remove what lvs-rs created and restore the sysctls it changed",
		Long: "stop works from the state record alone and needs no config file " +
			"(--config is accepted and ignored, so units can pass the same flags).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.checkRole(false); err != nil {
				return err
			}
			return runStop(cmd.Context(), g, f, stdout, stderr)
		},
	}
	addRoleFlag(cmd, f, false)
	addConfigFlag(cmd, f)
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "print the changes and make none")
	return cmd
}

func runStop(ctx context.Context, g *globalFlags, f *roleFlags, stdout, stderr io.Writer) error {
	if f.role == roleDirector && !f.dryRun && daemonActive(ctx, g) {
		// It would put everything back at its next pass.
		return withCode(exitKernel, errDaemonStop)
	}
	s, err := openSession(g, f.dryRun)
	if err != nil {
		return err
	}
	defer s.close()
	ro, do := s.opts(f.dryRun)
	if f.role == roleDirector {
		res, err := director.Stop(ctx, do)
		report(stdout, stderr, roleDirector, "stop", f.dryRun, err != nil, res.Changes, res.Warnings)
		return kernelErr(err)
	}
	res, err := realserver.Stop(ctx, ro)
	report(stdout, stderr, roleRealServer, "stop", f.dryRun, err != nil, res.Changes, res.Warnings)
	return kernelErr(err)
}
