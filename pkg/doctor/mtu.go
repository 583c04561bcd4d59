package doctor

import (
	"context"
	"fmt"

	"github.com/lvs-rs/lvs-rs/pkg/tunnel"
)

// NameTunnelMTU is the tun real server's MTU check: tunl0 must not be
// larger than the device under it minus the 20-byte outer IPv4 header.
const NameTunnelMTU = "tunnel-mtu"

// ipipOverhead is the outer IPv4 header IPIP adds.
const ipipOverhead = 20

func checkTunnelMTU(_ context.Context, h Host, _ Target) []Result {
	if !h.hasIPv4Device(tunnel.Dev) {
		r := ok(NameTunnelMTU)
		r.Note = "not checked: tunl0 does not exist (see modules)"
		return []Result{r}
	}
	tmtu, err := h.mtu(tunnel.Dev)
	if err != nil {
		return []Result{problem(NameTunnelMTU, fmt.Sprintf("cannot read tunl0's MTU: %v", err), "run doctor on the host itself")}
	}
	rs, err := h.routes()
	if err != nil {
		return []Result{problem(NameTunnelMTU, fmt.Sprintf("cannot read the routing table: %v", err), "run doctor on the host itself")}
	}
	dr := deviceDefault(rs)
	if dr == nil {
		r := ok(NameTunnelMTU)
		r.Note = "not checked: no IPv4 default route names the device under the tunnel"
		return []Result{r}
	}
	dmtu, err := h.mtu(dr.Dev)
	if err != nil {
		return []Result{problem(NameTunnelMTU, fmt.Sprintf("cannot read %s's MTU: %v", dr.Dev, err), "run doctor on the host itself")}
	}
	risk := fmt.Sprintf("a full-size client packet is %d bytes once the director encapsulates it, more than %s's %d: the director's path to the clients must pass ICMP fragmentation-needed, or lower the MSS the real server advertises (ip route change default ... advmss %d)",
		dmtu+ipipOverhead, dr.Dev, dmtu, dmtu-ipipOverhead-40)
	if tmtu > dmtu-ipipOverhead {
		return []Result{problem(NameTunnelMTU,
			fmt.Sprintf("tunl0 MTU %d is larger than %s's %d minus %d: tunnelled packets above %d bytes are fragmented or dropped; %s", tmtu, dr.Dev, dmtu, ipipOverhead, dmtu-ipipOverhead, risk),
			fmt.Sprintf("ip link set tunl0 mtu %d", dmtu-ipipOverhead))}
	}
	r := ok(NameTunnelMTU)
	r.Note = "path MTU risk: " + risk
	return []Result{r}
}
