//go:build manpages

// The man page generator is built only with -tags manpages (make man):
// cobra/doc links md2man and blackfriday, whose package initialisation
// every lvs-rs command would otherwise pay at startup.

package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// manDescription is the DESCRIPTION of lvs-rs(8): what the root command's
// one-line summary leaves out.
const manDescription = `lvs-rs turns a Linux host into a correctly configured member of a Linux Virtual Server (kernel IPVS) cluster. One YAML file, /etc/lvs-rs/lvs-rs.yaml (see lvs-rs.yaml(5)), describes the whole cluster and is copied to every node.

On the director, start binds the VIPs on director.interface, turns on ip_forward where a real server uses NAT and programs kernel IPVS (services, real servers, schedulers, weights, persistence, firewall marks, DR/TUN/NAT) by reconciling in place; it never flushes the IPVS table and leaves services it did not create alone.

On a real server, start binds the VIP on lo (DR), on tunl0 (TUN through ipip or gue, with a GUE receive port on the tunnel's UDP port for gue) or on gre0 (TUN through gre), and sets arp_ignore, arp_announce and rp_filter on exactly the devices that need them, or routes through the director (NAT).

start is idempotent; stop removes exactly what lvs-rs created and puts every sysctl back to the value it had before. Two lvs-rs commands never run at once: the second waits up to 30 seconds on STATE_DIR/lock.

# EXIT STATUS
**0** done; for status: applied and the kernel matches.

**1** a kernel operation failed (the message names the object and the errno); for status: applied but drifted (each difference listed).

**2** bad command line or bad configuration, reported as FILE:LINE:COLUMN: field: problem; nothing was changed.

**3** status only: nothing applied on this host.

**4** status only: cannot tell (not root, IPVS unavailable).

# ENVIRONMENT
**LVS_RS_CONFIG** overrides the default configuration file /etc/lvs-rs/lvs-rs.yaml, which start, run and doctor read without --config. status compares with what the last start applied unless --config names a file, whatever LVS_RS_CONFIG says.

**LVS_RS_STATE_DIR** overrides the default state directory /run/lvs-rs.

**LVS_RS_ADDRESS** names this host's own real-server address, for a real server started at boot before its addresses are configured.

**LVS_RS_PHASES** names a file to which the command writes, as it exits, how long each of its phases took by wall clock (reading the config, observing the kernel, planning, saving the state record, writing to the kernel, reporting): one "name seconds" line each, in the order they ran. **run** writes those of its passes (the wait before each, the host lock, reading the weights, the overlay of health and drains, the converge steps, recording the outcome) when it stops, the first 256 phases only. For finding why a command is slow.

# FILES
**/etc/lvs-rs/lvs-rs.yaml** the cluster configuration, see lvs-rs.yaml(5).

**/etc/default/lvs-rs** read by the systemd units: LVS_RS_DIRECTOR_ARGS, LVS_RS_REALSERVER_ARGS, LVS_RS_ADDRESS.

**/run/lvs-rs** the state record of what start applied, and the lock.

**lvs-rs-realserver.service** runs start --role realserver before network-pre.target, so the ARP sysctls and VIPs are in place before any interface comes up (dr and tun). **lvs-rs-realserver-nat.service** does the same after network-online.target, for a real server of any nat virtual server (its default route needs the network up); enable one of the two. **lvs-rs-director.service** runs start --role director after network-online.target; reload re-applies the file in place. These three run stop when stopped. **lvs-rs-director-daemon.service** runs lvs-rs run (health checks, drains, reload without a failed request); stopping it leaves the kernel as it is.`

func init() { extraCommands = append(extraCommands, newManCmd) }

// newManCmd writes the man pages of the command tree, lvs-rs.8 and one
// lvs-rs-SUBCOMMAND.8 per subcommand, into a directory (for packagers).
// The date is SOURCE_DATE_EPOCH when set (cobra reads it), so package
// builds are reproducible.
func newManCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "man DIR",
		Short:  "Write the man pages of every command into DIR",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return withCode(exitKernel, err)
			}
			root := cmd.Root()
			root.DisableAutoGenTag = true
			if root.Long == "" {
				root.Long = root.Short + ".\n\n" + manDescription
			}
			header := &doc.GenManHeader{
				Section: "8",
				Source:  "lvs-rs " + version,
				Manual:  "System Manager's Manual",
			}
			if err := doc.GenManTree(root, header, args[0]); err != nil {
				return withCode(exitKernel, fmt.Errorf("writing man pages: %w", err))
			}
			return nil
		},
	}
}
