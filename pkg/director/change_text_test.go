package director

import (
	"net/netip"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// TestAppendTextIsString: AppendText renders every change as String does.
func TestAppendTextIsString(t *testing.T) {
	v6 := netip.MustParseAddr("2001:db8::1")
	services := []ipvs.Service{
		svc(80),
		{Family: ipvs.Inet6, Protocol: ipvs.UDP, Address: v6, Port: 53, Scheduler: "rr", Netmask: 128},
		{Family: ipvs.Inet, Protocol: ipvs.SCTP, Address: vip2, Port: 9, Scheduler: "sh", Netmask: 24,
			Flags: ipvs.FlagPersistent | ipvs.FlagSchedSHPort, Timeout: 360},
		{Family: ipvs.Inet, FWMark: 7, Scheduler: "wlc", Netmask: 32},
		{},
	}
	dests := []ipvs.Destination{
		dst(rs1, 80, ipvs.Route, 1),
		dst(rs2, 8080, ipvs.Masq, 0),
		{Family: ipvs.Inet6, Address: v6, Port: 80, Forward: ipvs.Tunnel, Weight: 3, TunnelType: ipvs.TunnelGUE, TunnelPort: 6080},
		{Family: ipvs.Inet, Address: rs3, Port: 1, Forward: ipvs.Route, Weight: 2, UpperThreshold: 100, LowerThreshold: 50},
		{Family: ipvs.Inet, Address: rs3, Forward: ipvs.Bypass, Weight: 4294967295},
		{},
	}
	kinds := []Kind{AddService, AddDestination, EditService, EditDestination, DeleteDestination, DeleteService,
		ReleaseService, Bind, SetSysctl}
	n := 0
	for _, k := range kinds {
		for _, s := range services {
			for _, d := range dests {
				c := Change{Kind: k, Service: s, Destination: d, x: &changeDetail{From: services[0], FromDestination: dests[1]}}
				got, err := c.AppendText([]byte("x"))
				if err != nil || string(got) != "x"+c.String() {
					t.Fatalf("AppendText = %q, %v; want %q", got, err, "x"+c.String())
				}
				n++
			}
		}
	}
	t.Logf("%d changes", n)
}
