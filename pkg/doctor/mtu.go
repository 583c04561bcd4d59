package doctor

import (
	"context"
	"fmt"
	"strings"
)

// NameTunnelMTU is the tun real server's MTU check: each tunnel device
// (tunl0 for ipip and gue, gre0 for gre) must not be larger than the
// device under it minus what the director's encapsulation adds: 20 bytes
// for ipip (the outer IPv4 header), 32 for gue (and a UDP and a GUE
// header; 40 with remcsum), 24 for gre (and a GRE header; 28 with csum).
// The largest of a device's tunnels counts.
const NameTunnelMTU = "tunnel-mtu"

func checkTunnelMTU(_ context.Context, h Host, t Target) []Result {
	var out []Result
	for _, d := range t.tunnelDevices() {
		out = append(out, checkDeviceMTU(h, d))
	}
	return out
}

// checkDeviceMTU is the MTU check of one tunnel device.
func checkDeviceMTU(h Host, d tunDev) Result {
	what := fmt.Sprintf("%s (%s, %d bytes per packet)", d.name, strings.Join(d.types, " and "), d.overhead)
	if !h.hasIPv4Device(d.name) {
		r := ok(NameTunnelMTU)
		r.Note = fmt.Sprintf("not checked: %s does not exist (see modules)", d.name)
		return r
	}
	tmtu, err := h.mtu(d.name)
	if err != nil {
		return problem(NameTunnelMTU, fmt.Sprintf("cannot read %s's MTU: %v", d.name, err), "run doctor on the host itself")
	}
	rs, err := h.routes()
	if err != nil {
		return problem(NameTunnelMTU, fmt.Sprintf("cannot read the routing table: %v", err), "run doctor on the host itself")
	}
	dr := deviceDefault(rs)
	if dr == nil {
		r := ok(NameTunnelMTU)
		r.Note = fmt.Sprintf("not checked for %s: no IPv4 default route names the device under the tunnel", d.name)
		return r
	}
	dmtu, err := h.mtu(dr.Dev)
	if err != nil {
		return problem(NameTunnelMTU, fmt.Sprintf("cannot read %s's MTU: %v", dr.Dev, err), "run doctor on the host itself")
	}
	risk := fmt.Sprintf("a full-size client packet is %d bytes once the director encapsulates it for %s, more than %s's %d: the director's path to the clients must pass ICMP fragmentation-needed, or lower the MSS the real server advertises (ip route change default ... advmss %d)",
		dmtu+d.overhead, what, dr.Dev, dmtu, dmtu-d.overhead-40)
	if tmtu > dmtu-d.overhead {
		return problem(NameTunnelMTU,
			fmt.Sprintf("%s MTU %d is larger than %s's %d minus %d: tunnelled packets above %d bytes are fragmented or dropped; %s", d.name, tmtu, dr.Dev, dmtu, d.overhead, dmtu-d.overhead, risk),
			fmt.Sprintf("ip link set %s mtu %d", d.name, dmtu-d.overhead))
	}
	r := ok(NameTunnelMTU)
	r.Note = "path MTU risk: " + risk
	return r
}
