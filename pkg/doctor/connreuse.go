package doctor

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// NameConnReuse is the director's conn_reuse_mode check, which depends on
// the running kernel: before 5.9, conn_reuse_mode=1 with conntrack=1
// drops the first SYN of a connection that reuses a source port of an
// entry in TIME_WAIT, so clients (and Kubernetes-like setups) see 1 s
// stalls; conn_reuse_mode=0 instead sends a reused port to the old real
// server even when its weight is 0, so a quiesced server never drains.
const NameConnReuse = "conn-reuse-mode"

func checkConnReuse(_ context.Context, h Host, _ Target) []Result {
	rel, err := h.kernelRelease()
	if err != nil {
		return []Result{problem(NameConnReuse, fmt.Sprintf("cannot read the kernel release: %v", err), "run doctor on the host itself")}
	}
	mode, err1 := h.sysctl("net/ipv4/vs/conn_reuse_mode")
	ct, err2 := h.sysctl("net/ipv4/vs/conntrack")
	if err := firstErr(err1, err2); err != nil {
		return []Result{problem(NameConnReuse, fmt.Sprintf("kernel %s: cannot read net/ipv4/vs (is ip_vs loaded?): %v", rel, err), "load ip_vs (lvs-rs start --role director does) and run doctor again")}
	}
	major, minor, ok1 := kernelVersion(rel)
	switch {
	case mode == 0:
		return []Result{problem(NameConnReuse,
			fmt.Sprintf("kernel %s: conn_reuse_mode=0: a client reusing a source port is sent to the real server of the old connection even when its weight is 0, so quiesced real servers keep receiving connections", rel),
			"sysctl -w net.ipv4.vs.conn_reuse_mode=1, and persist it in /etc/sysctl.d/")}
	case mode&1 == 1 && ct == 1 && ok1 && (major < 5 || major == 5 && minor < 9):
		return []Result{problem(NameConnReuse,
			fmt.Sprintf("kernel %s (before 5.9): conn_reuse_mode=%d with conntrack=1 drops the first SYN of a connection that reuses a source port: clients stall 1 s", rel, mode),
			"upgrade to kernel 5.9 or later, or set net.ipv4.vs.conntrack=0 when no iptables rule needs IPVS connections tracked")}
	}
	return []Result{ok(NameConnReuse)}
}

// kernelVersion parses "6.1.0-28-amd64" into 6, 1.
func kernelVersion(rel string) (major, minor int, ok bool) {
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(strings.TrimRightFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	return major, minor, err1 == nil && err2 == nil
}
