package director

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

// TestNATWants: a desired state's forwarding settings for a nat real
// server of each family, those it asks for only (a file with
// ip_forward: false and send_redirects: true asks for none).
func TestNATWants(t *testing.T) {
	var all Desired
	all.Interface = "eth0"
	all.Want(sysctl.IPForward(), "1")
	all.Want(sysctl.IPv4Conf("all", "send_redirects"), "0")
	all.Want(sysctl.IPv4Conf("eth0", "send_redirects"), "0")
	all.Want(sysctl.IPv6Conf("all", "forwarding"), "1")
	all.Want(sysctl.IPVS("sloppy_tcp"), "1")
	var none Desired
	none.Interface = "eth0"
	none.Want(sysctl.IPVS("sloppy_tcp"), "1")
	for _, c := range []struct {
		name string
		d    Desired
		v6   bool
		want []SysctlWant
	}{
		{"IPv4", all, false, []SysctlWant{
			{Key: "net/ipv4/conf/all/send_redirects", Value: "0"}, {Key: "net/ipv4/conf/eth0/send_redirects", Value: "0"},
			{Key: "net/ipv4/ip_forward", Value: "1"}}},
		{"IPv6", all, true, []SysctlWant{{Key: "net/ipv6/conf/all/forwarding", Value: "1"}}},
		{"IPv4, left alone", none, false, nil},
	} {
		if diff := cmp.Diff(c.want, c.d.NATWants(c.v6), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
}
