package crash

import (
	"context"
	"fmt"
	"testing"
)

// wave2YAML adds the director's host-wide settings to a service with
// scheduler flags, thresholds and tunnel types: each is a kernel write
// that a crash may interrupt.
const wave2YAML = `director:
  interface: eth0
  send_redirects: false
  ipvs_sysctls: {sloppy_tcp: 1, expire_nodest_conn: 1}
  timeouts: {tcp: 600s, tcp_fin: 30s, udp: 45s}
  sync: {interface: eth0, state: both, syncid: 3}
virtual_servers:
  - vip: 10.0.0.100
    port: 80
    protocol: tcp
    scheduler: mh
    scheduler_flags: [mh-port]
    mode: tun
    real_servers:
      - address: 10.0.0.12
        upper_threshold: 100
        tunnel: {type: gue, port: 6080}
      - address: 10.0.0.11
        tunnel: {type: gre}
  - vip: 10.0.0.200
    port: 443
    protocol: tcp
    scheduler: rr
    mode: nat
    real_servers:
      - address: 10.0.0.11
        port: 8443
`

// wave2Snapshot is snapshot plus the host-wide settings wave2YAML changes.
func (h *dirHost) wave2Snapshot() []string {
	h.t.Helper()
	out := h.snapshot()
	for _, k := range []string{"net/ipv4/conf/all/send_redirects", "net/ipv4/conf/eth0/send_redirects",
		"net/ipv4/vs/sloppy_tcp", "net/ipv4/vs/expire_nodest_conn"} {
		v, err := h.ns.ReadSysctl(k)
		if err != nil {
			h.t.Fatal(err)
		}
		out = append(out, "sysctl "+k+" = "+v)
	}
	c := h.ipvs()
	t, err := c.Timeouts(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	out = append(out, "timeouts "+t.String())
	ds, err := c.Daemons(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	for _, d := range ds {
		out = append(out, fmt.Sprintf("sync daemon %+v", d))
	}
	return out
}

// TestDirectorWave2CrashAtEveryWrite kills start after each of its writes
// (sysctls, timeouts, sync daemons, VIPs, IPVS) and then stop after each
// of its writes: the next run converges (status 0) and stop restores
// every prior value and stops only the daemons lvs-rs started.
func TestDirectorWave2CrashAtEveryWrite(t *testing.T) {
	h := newDirHost(t, wave2YAML)
	crashAtEveryWrite(t, h, h.wave2Snapshot)
}
