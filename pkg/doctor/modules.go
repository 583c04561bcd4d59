package doctor

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/tunnel"
)

// NameModules is the kernel module check: ip_vs on a director; on a tun
// real server ipip (tunl0: ipip and gue), fou (gue receive ports) and
// ip_gre (gre0: gre), as its tunnels need them.
const NameModules = "modules"

// module is a kernel module a role needs, and what goes wrong without it.
type module struct{ name, why string }

// neededModules lists the modules t needs.
func neededModules(t Target) []module {
	if t.Role != RoleRealServer {
		return []module{{"ip_vs", "the director cannot program IPVS"}}
	}
	var out []module
	uses := func(typ config.TunnelType) bool {
		for _, b := range t.Bindings {
			if b.Mode == config.ModeTUN && (b.Tunnel == typ || typ == config.TunnelIPIP && b.Tunnel == "") {
				return true
			}
		}
		return false
	}
	if uses(config.TunnelIPIP) || uses(config.TunnelGUE) {
		out = append(out, module{tunnel.Module, "tunl0 does not exist and IPIP packets from the director (inside GUE too) are dropped"})
	}
	if uses(config.TunnelGUE) {
		out = append(out, module{tunnel.FOUModule, "no GUE receive port can exist and the director's GUE packets are dropped"})
	}
	if uses(config.TunnelGRE) {
		out = append(out, module{tunnel.GREModule, "gre0 does not exist and GRE packets from the director are dropped"})
	}
	return out
}

func checkModules(_ context.Context, h Host, t Target) []Result {
	role := "director"
	if t.Role == RoleRealServer {
		role = "realserver"
	}
	var out []Result
	for _, m := range neededModules(t) {
		loaded, err := h.moduleLoaded(m.name)
		if err != nil {
			out = append(out, problem(NameModules, fmt.Sprintf("cannot tell whether %s is loaded: %v", m.name, err), "run doctor as root on the host itself"))
			continue
		}
		if !loaded {
			out = append(out, problem(NameModules, fmt.Sprintf("kernel module %s is not loaded: %s", m.name, m.why),
				fmt.Sprintf("lvs-rs start --role %s loads it; to load it at boot add %s to /etc/modules-load.d/lvs-rs.conf", role, m.name)))
		}
	}
	if len(out) == 0 {
		out = append(out, ok(NameModules))
	}
	return out
}

// moduleLoaded reports whether mod is loaded (ProcRoot/modules) or built
// in (SysRoot/module/MOD exists, or the kernel's modules.builtin under
// EtcRoot/lib/modules lists it: a built-in module without parameters, as
// fou, has no SysRoot/module entry). It never loads anything.
func (h Host) moduleLoaded(mod string) (bool, error) {
	if _, err := os.Stat(filepath.Join(h.SysRoot, "module", mod)); err == nil {
		return true, nil
	}
	if h.builtin(mod) {
		return true, nil
	}
	b, err := os.ReadFile(filepath.Join(h.ProcRoot, "modules"))
	if err != nil {
		return false, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, _, _ := bytes.Cut(sc.Bytes(), []byte(" "))
		if string(name) == mod {
			return true, nil
		}
	}
	return false, sc.Err()
}

// builtin reports whether the running kernel's modules.builtin lists mod
// (kernel/net/ipv4/fou.ko); false when it cannot be read.
func (h Host) builtin(mod string) bool {
	rel, err := h.kernelRelease()
	if err != nil || h.EtcRoot == "" {
		return false
	}
	b, err := os.ReadFile(filepath.Join(h.EtcRoot, "lib", "modules", rel, "modules.builtin"))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		base := strings.TrimSuffix(filepath.Base(strings.TrimSpace(line)), ".ko")
		if strings.ReplaceAll(base, "-", "_") == mod {
			return true
		}
	}
	return false
}
