package doctor

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// NameModules is the kernel module check: ip_vs on a director, ipip on a
// tun real server.
const NameModules = "modules"

func checkModules(_ context.Context, h Host, t Target) []Result {
	mod, why, fix := "ip_vs", "the director cannot program IPVS", "lvs-rs start --role director loads it; to load it at boot add ip_vs to /etc/modules-load.d/lvs-rs.conf"
	if t.Role == RoleRealServer {
		mod, why, fix = "ipip", "tunl0 does not exist and IPIP packets from the director are dropped", "lvs-rs start --role realserver loads it; to load it at boot add ipip to /etc/modules-load.d/lvs-rs.conf"
	}
	loaded, err := h.moduleLoaded(mod)
	if err != nil {
		return []Result{problem(NameModules, fmt.Sprintf("cannot tell whether %s is loaded: %v", mod, err), "run doctor as root on the host itself")}
	}
	if !loaded {
		return []Result{problem(NameModules, fmt.Sprintf("kernel module %s is not loaded: %s", mod, why), fix)}
	}
	return []Result{ok(NameModules)}
}

// moduleLoaded reports whether mod is loaded (ProcRoot/modules) or built
// in (SysRoot/module/MOD exists). It never loads anything.
func (h Host) moduleLoaded(mod string) (bool, error) {
	if _, err := os.Stat(filepath.Join(h.SysRoot, "module", mod)); err == nil {
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
