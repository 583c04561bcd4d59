package scaleout

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lvs-rs/lvs-rs/internal/topo"
)

// TestFWMarkTemplateListed: a persistent fwmark service's persistence
// template (the kernel gives it protocol IP and the mark as its virtual
// address, port 0) is listed by status --connections with the service's
// connection: it was left out, since its virtual address is not a VIP.
func TestFWMarkTemplateListed(t *testing.T) {
	p := topo.DR(t)
	c := presetCluster(t, p, fmt.Sprintf(`director:
  interface: eth0
virtual_servers:
  - vip: %v
    fwmark: 10
    mark: [{protocol: tcp, port: 80}]
    scheduler: rr
    persistence: 60
    mode: dr
    real_servers:
      - {address: %v, weight: 1}
`, p.VIP, p.RS1IP))
	c.lvsrs(p.RS1, "start", "--role", "realserver")
	_, err := p.RS1.ServeEcho(":80")
	c.must(err)
	c.lvsrs(p.Director, "start", "--role", "director")
	if _, err := p.Client.Get(fmt.Sprintf("%v:80", p.VIP)); err != nil {
		t.Fatalf("VIP:80: %v", err)
	}
	out := c.lvsrs(p.Director, "status", "--role", "director", "--connections")
	var template bool
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 6 && f[0] == "IP" && f[4] == "0.0.0.10:0" && strings.HasPrefix(f[5], p.RS1IP.String()+":") {
			template = true
		}
	}
	if !template {
		t.Fatalf("status --connections does not list the fwmark service's persistence template (IP, virtual 0.0.0.10:0, to %v):\n%s", p.RS1IP, out)
	}
	c.lvsrs(p.Director, "stop", "--role", "director")
}
