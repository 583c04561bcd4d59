package doctor

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/lvs-rs/lvs-rs/pkg/arp"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

// NameARPSysctls is the real server's ARP parameter check: on every
// device the effective arp_ignore (max of all and the device) must keep
// the VIPs quiet (1, 2 or 8; 3 too when every VIP is dr, bound scope host
// on lo; 4 to 7 reply as 0 does) and the effective arp_announce must be 2
// (larger values act as 0), or the host answers ARP for a VIP it holds on
// lo, tunl0 or gre0, or announces a VIP as an ARP source. The rule is the one
// start applies (arp.Enough).
const NameARPSysctls = "arp-sysctls"

// arpMinimum is the value lvs-rs sets for each ARP parameter to keep a
// real server quiet about its VIPs; arp.Enough tells which others do too.
var arpMinimum = []struct {
	param string
	min   int
	harm  string
}{
	{"arp_ignore", 1, "it answers ARP requests for its VIPs (ARP flux: clients reach it instead of the director)"},
	{"arp_announce", 2, "it may use a VIP as the source of its own ARP requests, teaching neighbours its MAC for the VIP"},
}

func checkARPSysctls(_ context.Context, h Host, t Target) []Result {
	devs, err := h.ipv4Devices()
	if err != nil {
		return []Result{problem(NameARPSysctls, fmt.Sprintf("cannot list devices: %v", err), "run doctor on the host itself")}
	}
	for _, d := range vipDevices(t) {
		if !slices.Contains(devs, d) {
			devs = append(devs, d)
		}
	}
	hostOnly := !t.hasMode(config.ModeTUN, true) // every VIP on lo, scope host
	var out []Result
	for _, m := range arpMinimum {
		var bad []string
		for _, dev := range devs {
			e, err := h.effectiveConf(dev, m.param)
			if err != nil {
				out = append(out, problem(NameARPSysctls, fmt.Sprintf("cannot read %s: %v", m.param, err), "run doctor on the host itself"))
				continue
			}
			if !arp.Enough(sysctl.IPv4Conf(dev, m.param), strconv.Itoa(m.min), strconv.Itoa(e.eff), hostOnly) {
				bad = append(bad, fmt.Sprintf("%s %s", dev, e))
			}
		}
		if len(bad) > 0 {
			out = append(out, problem(NameARPSysctls,
				fmt.Sprintf("effective %s is not %s on %s: %s", m.param, quietValues(m.param, m.min, hostOnly), strings.Join(bad, ", "), m.harm),
				fmt.Sprintf("lvs-rs start --role realserver sets conf/all/%s=%d (or: sysctl -w net.ipv4.conf.all.%s=%d)", m.param, m.min, m.param, m.min)))
		}
	}
	if len(out) == 0 {
		out = append(out, ok(NameARPSysctls))
	}
	return out
}

// quietValues names the effective values of param, 0..8 (arp_ignore's
// range), that keep the VIPs quiet, as arp.Enough decides for want.
func quietValues(param string, want int, hostOnly bool) string {
	var vs []string
	for v := range 9 {
		if arp.Enough(sysctl.IPv4Conf("all", param), strconv.Itoa(want), strconv.Itoa(v), hostOnly) {
			vs = append(vs, strconv.Itoa(v))
		}
	}
	if len(vs) < 2 {
		return strings.Join(vs, "")
	}
	return strings.Join(vs[:len(vs)-1], ", ") + " or " + vs[len(vs)-1]
}

// vipDevices are the devices that hold t's IPv4 VIPs: lo (dr), tunl0 and
// gre0 (tun).
func vipDevices(t Target) []string {
	var out []string
	if t.hasMode(config.ModeDR, true) {
		out = append(out, "lo")
	}
	for _, d := range t.tunnelDevices() {
		out = append(out, d.name)
	}
	return out
}
