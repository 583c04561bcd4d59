package main

import (
	"io"

	"github.com/spf13/cobra"
)

// newCompletionCmd prints a shell completion script generated from the
// command tree. It replaces cobra's default completion command, so the
// shells offered are exactly the ones the package installs scripts for.
func newCompletionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print the shell completion script for bash, zsh or fish",
		Long: "Print the completion script for the named shell on standard output. " +
			"The Debian package installs them in /usr/share/bash-completion/completions/lvs-rs, " +
			"/usr/share/zsh/vendor-completions/_lvs-rs and /usr/share/fish/vendor_completions.d/lvs-rs.fish. " +
			"For one shell session: source <(lvs-rs completion bash).",
		Args:                  cobra.ExactValidArgs(1),
		ValidArgs:             []string{"bash", "zsh", "fish"},
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(stdout, true)
			case "zsh":
				return root.GenZshCompletion(stdout)
			default:
				return root.GenFishCompletion(stdout, true)
			}
		},
	}
}
