package doctor

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// NameConnReuse is the director's conn_reuse_mode check, which depends on
// the running kernel and the forwarding methods: before 5.9, a non-zero
// conn_reuse_mode with conntrack=1 drops the first SYN of a connection
// that reuses a source port of an entry it reschedules, so clients (and
// Kubernetes-like setups) see 1 s stalls; conn_reuse_mode=0 instead sends
// a reused port to the old real server even when its weight is 0, so a
// quiesced server never drains; and conn_reuse_mode=1 does the same for
// dr and tun connections, whose entries end in FIN_WAIT (the director
// never sees the real server's FIN), which only bit 2 reschedules.
const NameConnReuse = "conn-reuse-mode"

func checkConnReuse(_ context.Context, h Host, t Target) []Result {
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
	want := 1 // reschedules a reused port of an entry in TIME_WAIT
	if t.OneWay {
		want = 2 // and in FIN_WAIT, where dr and tun entries end
	}
	switch {
	case mode == 0:
		return []Result{problem(NameConnReuse,
			fmt.Sprintf("kernel %s: conn_reuse_mode=0: a client reusing a source port is sent to the real server of the old connection even when its weight is 0, so quiesced real servers keep receiving connections", rel),
			fmt.Sprintf("sysctl -w net.ipv4.vs.conn_reuse_mode=%d, and persist it in /etc/sysctl.d/", want))}
	case ct == 1 && ok1 && (major < 5 || major == 5 && minor < 9):
		return []Result{problem(NameConnReuse,
			fmt.Sprintf("kernel %s (before 5.9): conn_reuse_mode=%d with conntrack=1 drops the first SYN of a connection that reuses a source port: clients stall 1 s", rel, mode),
			"upgrade to kernel 5.9 or later, or set net.ipv4.vs.conntrack=0 when no iptables rule needs IPVS connections tracked")}
	case mode&2 == 0 && t.OneWay:
		return []Result{problem(NameConnReuse,
			fmt.Sprintf("kernel %s: conn_reuse_mode=%d with dr or tun real servers: a client that reuses a source port within the FIN_WAIT timeout of its previous connection (director.timeouts.tcp_fin, 120 s by default) is sent to that connection's real server again without scheduling: a real server at weight 0 keeps such clients unless expire_nodest_conn=1, a new one gets none of them, and IPVS counts none of these connections", rel, mode),
			"set conn_reuse_mode: 2 under director.ipvs_sysctls (stop restores the prior value), or sysctl -w net.ipv4.vs.conn_reuse_mode=2 and persist it in /etc/sysctl.d/")}
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
