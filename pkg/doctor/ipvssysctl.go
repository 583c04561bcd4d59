package doctor

import (
	"context"
	"fmt"
	"strings"
)

// NameIPVSSysctls is the director's quiescing check: with weight 0 a real
// server gets no new connections, but without expire_nodest_conn the
// connections of a deleted real server linger until they time out, and
// without expire_quiescent_template persistent clients stay stuck to a
// weight-0 server through their persistence template.
const NameIPVSSysctls = "ipvs-sysctls"

var quiesceSysctls = []struct{ key, harm string }{
	{"net/ipv4/vs/expire_nodest_conn", "connections to a removed real server are not expired: their packets are dropped until the entry times out"},
	{"net/ipv4/vs/expire_quiescent_template", "persistent clients keep going to a real server with weight 0: it never drains"},
}

func checkIPVSSysctls(_ context.Context, h Host, _ Target) []Result {
	var out []Result
	for _, s := range quiesceSysctls {
		v, err := h.sysctl(s.key)
		switch {
		case err != nil:
			out = append(out, problem(NameIPVSSysctls, fmt.Sprintf("cannot read %s (is ip_vs loaded?): %v", s.key, err), "load ip_vs (lvs-rs start --role director does) and run doctor again"))
		case v == 0:
			out = append(out, problem(NameIPVSSysctls, fmt.Sprintf("%s is 0: %s", s.key, s.harm),
				fmt.Sprintf("sysctl -w %s=1, and persist it in /etc/sysctl.d/", dotted(s.key))))
		}
	}
	if len(out) == 0 {
		out = append(out, ok(NameIPVSSysctls))
	}
	return out
}

// dotted renders a slash key the way sysctl(8) and sysctl.d(5) name it:
// dots and slashes swap, so that a device name with a dot stays one
// segment (net/ipv4/conf/eth0.100/rp_filter is
// net.ipv4.conf.eth0/100.rp_filter; normalizeKey reads it back).
func dotted(key string) string { return swapSeparators(key) }

// swapSeparators turns every '.' of k into '/' and every '/' into '.'.
func swapSeparators(k string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '.':
			return '/'
		case '/':
			return '.'
		}
		return r
	}, k)
}
