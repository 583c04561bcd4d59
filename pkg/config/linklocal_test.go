package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLinkLocalDestRefused: the kernel refuses an IPv6 link-local real
// server with EINVAL, after start has bound the VIP and added the
// service: a link-local real server or sorry server is refused at its
// position instead, from the file and from --realserver.
func TestLinkLocalDestRefused(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      []string
	}{
		{"real server", "virtual_servers:\n  - {vip: '2001:db8::100', port: 80, real_servers: [{address: 'fe80::11'}, {address: 'fe80::11'}]}\n", []string{
			`f.yaml:2:63: virtual_servers[0].real_servers[0].address: fe80::11 is a link-local address, which IPVS refuses for a real server; use a global or unique local address`,
			`f.yaml:2:86: virtual_servers[0].real_servers[1].address: fe80::11 is a link-local address, which IPVS refuses for a real server; use a global or unique local address`}},
		{"sorry server", "virtual_servers:\n  - {vip: '2001:db8::100', port: 80, sorry_server: 'febf::99', real_servers: [{address: '2001:db8::11'}]}\n", []string{
			`f.yaml:2:52: virtual_servers[0].sorry_server: febf::99 is a link-local address, which IPVS refuses for a sorry server (it is added as a real server); use a global or unique local address`}},
		{"multicast and unspecified", "virtual_servers:\n  - {vip: '2001:db8::100', port: 80, sorry_server: '::', real_servers: [{address: 'ff02::1'}]}\n", []string{
			`f.yaml:2:52: virtual_servers[0].sorry_server: :: is the unspecified address`,
			`f.yaml:2:83: virtual_servers[0].real_servers[0].address: ff02::1 is a multicast address`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("f.yaml", []byte(tc.doc))
			if c != nil {
				t.Errorf("accepted: %+v", c.VirtualServers)
			}
			if diff := cmp.Diff(tc.want, problemLines(t, err)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	_, err := DirectorFromFlags(DirectorFlags{VIP: "2001:db8::100", Port: 80, Interface: "eth0", RealServers: []string{"[fe80::11]:80"}})
	want := []string{`--realserver: fe80::11 is a link-local address, which IPVS refuses for a real server; use a global or unique local address`}
	if diff := cmp.Diff(want, problemLines(t, err)); diff != "" {
		t.Errorf("--realserver (-want +got):\n%s", diff)
	}
}

// TestNearLinkLocalAccepted: unique local and global IPv6 real servers,
// and IPv4 link-local ones (the kernel takes any IPv4 unicast), are fine.
func TestNearLinkLocalAccepted(t *testing.T) {
	for _, doc := range []string{
		"virtual_servers:\n  - {vip: '2001:db8::100', port: 80, sorry_server: 'fec0::99', real_servers: [{address: 'fd00::11'}, {address: 'fe7f::12'}]}\n",
		"virtual_servers:\n  - {vip: 10.0.0.100, port: 80, sorry_server: 169.254.0.99, real_servers: [{address: 169.254.0.11}]}\n",
	} {
		c, err := Parse("f.yaml", []byte(doc))
		if err != nil {
			t.Errorf("%s: %v", doc, err)
			continue
		}
		if err := checkConfig(c); err != nil {
			t.Errorf("%s: %v", doc, err)
		}
	}
}
