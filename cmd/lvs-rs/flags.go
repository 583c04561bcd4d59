package main

import (
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lvs-rs/lvs-rs/internal/phase"
	"github.com/lvs-rs/lvs-rs/pkg/config"
)

// Roles a command acts for.
const (
	roleDirector   = "director"
	roleRealServer = "realserver"
)

// roleFlags are the flags that choose a role and its desired state.
type roleFlags struct {
	role       string
	configPath string
	dryRun     bool

	// Real server without a file, or overrides of the file.
	mode      string
	vips      []string
	gateways  []string
	addresses []string
	tunnels   []string // --tunnel: a tun real server's encapsulation, without a file

	// Director without a file: the single service of the old scripts.
	port        int
	protocol    string
	scheduler   string
	realServers []string
	iface       string
	persistence int

	// changed reports whether the named flag was given; nil for commands
	// that never ask.
	changed func(name string) bool
}

// The flags of start that only one role uses: directorOnly describe the
// one service of a director without a file (with --vip), as --mode does,
// which a real server uses too.
var (
	directorOnly   = []string{"interface", "scheduler", "port", "protocol", "realserver", "persistence"}
	realServerOnly = []string{"gateway", "address", "tunnel"}
)

// given returns, as --NAME, those of names that were given.
func (f *roleFlags) given(names ...string) []string {
	var out []string
	for _, n := range names {
		if f.changed != nil && f.changed(n) {
			out = append(out, "--"+n)
		}
	}
	return out
}

// checkStartFlags refuses the flags of start that the role would not use,
// so none is silently ignored (exit 2): the real-server flags and, with a
// config file, the single-service flags on the director; --vip next to an
// explicit --config there (one or the other says what the services are;
// LVS_RS_CONFIG, like the default file, gives way to --vip); the
// director's single-service flags on a real server.
func (f *roleFlags) checkStartFlags() error {
	if f.role == roleRealServer {
		if bad := f.given(directorOnly...); len(bad) > 0 {
			return usageErr("%s: flags of a director without a config file; a real server takes --vip, --mode, --gateway, --tunnel and --address", strings.Join(bad, ", "))
		}
		return nil
	}
	if bad := f.given(realServerOnly...); len(bad) > 0 {
		return usageErr("%s: flags of a real server; the director does not use them", strings.Join(bad, ", "))
	}
	if len(f.vips) > 0 {
		if f.configPath != "" {
			return usageErr("--config, --vip: the director takes its services from a config file or from --vip and the flags of its one service, not both; drop --config to use the flags, or --vip to use the file")
		}
		return nil
	}
	if bad := f.given(append([]string{"mode"}, directorOnly...)...); len(bad) > 0 {
		path := f.resolvedConfigPath()
		return usageErr("%s: flags of a director without a config file (with --vip); this one takes its services from %s: set them there", strings.Join(bad, ", "), path)
	}
	return nil
}

func addRoleFlag(cmd *cobra.Command, f *roleFlags, required bool) {
	cmd.Flags().StringVar(&f.role, "role", "", "director or realserver")
	if required {
		_ = cmd.MarkFlagRequired("role")
	}
}

func addConfigFlag(cmd *cobra.Command, f *roleFlags) {
	cmd.Flags().StringVar(&f.configPath, "config", "", "cluster config file (default $LVS_RS_CONFIG or "+config.DefaultPath+")")
}

func addStartFlags(cmd *cobra.Command, f *roleFlags) {
	fl := cmd.Flags()
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the changes and make none")
	fl.StringVar(&f.mode, "mode", "", "dr, tun or nat (overrides the file)")
	fl.StringSliceVar(&f.vips, "vip", nil, "virtual IP address (repeatable or comma-separated; overrides the file)")
	fl.StringArrayVar(&f.gateways, "gateway", nil, "realserver nat: default route via this director address, one IPv4 and one IPv6 at most (repeatable or comma-separated; fe80::1%IFACE for a link-local one)")
	fl.StringSliceVar(&f.addresses, "address", nil, "realserver: this host's own real-server address, when not configured yet (default $LVS_RS_ADDRESS)")
	addTunnelFlag(fl, f)
	fl.IntVar(&f.port, "port", -1, "director without a file: service port (required)")
	fl.StringVar(&f.protocol, "protocol", "tcp", "director without a file: tcp, udp or sctp")
	fl.StringVar(&f.scheduler, "scheduler", "wlc", "director without a file: IPVS scheduler")
	fl.StringSliceVar(&f.realServers, "realserver", nil, "director without a file: real server ADDR[:PORT] (repeatable)")
	fl.StringVar(&f.iface, "interface", "", "director without a file: interface that carries the VIP")
	fl.IntVar(&f.persistence, "persistence", 0, "director without a file: persistence timeout in seconds")
}

// checkRole validates --role; empty is allowed only when allowEmpty.
func (f *roleFlags) checkRole(allowEmpty bool) error {
	switch f.role {
	case roleDirector, roleRealServer:
		return nil
	case "":
		if allowEmpty {
			return nil
		}
		return usageErr("--role: required (director or realserver)")
	}
	return usageErr("--role: %q is not a role (director or realserver)", f.role)
}

// resolvedConfigPath returns the config file to read: --config, else
// LVS_RS_CONFIG, else the default.
func (f *roleFlags) resolvedConfigPath() string {
	if f.configPath != "" {
		return f.configPath
	}
	if env := os.Getenv("LVS_RS_CONFIG"); env != "" {
		return env
	}
	return config.DefaultPath
}

// loadFile reads the cluster config, mapping every problem to exit 2.
func (f *roleFlags) loadFile() (*config.Config, error) {
	path := f.resolvedConfigPath()
	cfg, err := config.Load(path)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	phase.Mark("config")
	return cfg, nil
}

// checkOutput accepts the -o formats: table and json.
func checkOutput(output string) error {
	if output != "table" && output != "json" {
		return usageErr("-o: %q is not an output format (table or json)", output)
	}
	return nil
}

// namedConfig loads the file --config names (nil without the flag):
// status and its variants compare against what the last start applied
// unless --config asks for a file. LVS_RS_CONFIG, which only changes
// which file start and run read by default, does not switch status to
// a file: an operator who exports it for start still gets "what is
// applied, and has it drifted" from a plain status.
func (f *roleFlags) namedConfig() (*config.Config, error) {
	if f.configPath == "" {
		return nil, nil
	}
	return f.loadFile()
}

// addTunnelFlag adds --tunnel, a real server's encapsulation without a
// file.
func addTunnelFlag(fl *pflag.FlagSet, f *roleFlags) {
	fl.StringSliceVar(&f.tunnels, "tunnel", nil, "realserver without a file, --mode tun: ipip (default), gre or gue:PORT, the encapsulation the director sends in (repeatable or comma-separated)")
}
