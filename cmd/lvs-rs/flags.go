package main

import (
	"os"

	"github.com/spf13/cobra"

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
	gateway   string
	addresses []string

	// Director without a file: the single service of the old scripts.
	port        int
	protocol    string
	scheduler   string
	realServers []string
	iface       string
	persistence int
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
	fl.StringVar(&f.gateway, "gateway", "", "realserver nat: default route via this director address (fe80::1%IFACE for a link-local one)")
	fl.StringSliceVar(&f.addresses, "address", nil, "realserver: this host's own real-server address, when not configured yet (default $LVS_RS_ADDRESS)")
	fl.IntVar(&f.port, "port", -1, "director without a file: service port")
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

// resolvedConfigPath returns the config file to read and whether the user
// named it (by flag or environment) rather than falling back to the default.
func (f *roleFlags) resolvedConfigPath() (string, bool) {
	if f.configPath != "" {
		return f.configPath, true
	}
	if env := os.Getenv("LVS_RS_CONFIG"); env != "" {
		return env, true
	}
	return config.DefaultPath, false
}

// loadFile reads the cluster config, mapping every problem to exit 2.
func (f *roleFlags) loadFile() (*config.Config, error) {
	path, _ := f.resolvedConfigPath()
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

// namedConfig loads the file when --config or LVS_RS_CONFIG names one
// (nil otherwise): status and its variants compare against the record
// unless a file is named.
func (f *roleFlags) namedConfig() (*config.Config, error) {
	if _, named := f.resolvedConfigPath(); !named {
		return nil, nil
	}
	return f.loadFile()
}
