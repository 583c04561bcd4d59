package reconcile

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestRemovedNATDrainKeepsOptOut: with director.ip_forward: false and
// send_redirects: true in the file, lvs-rs leaves ip_forward and
// send_redirects alone for its nat service; once that service is
// removed from the file and drains, it still leaves them alone (a drain
// keeps what the director had, it does not set what the operator told
// lvs-rs not to touch).
func TestRemovedNATDrainKeepsOptOut(t *testing.T) {
	const nat = `  - vip: 10.0.0.101
    port: 81
    scheduler: wrr
    mode: nat
    drain_timeout: 1h
    real_servers:
      - {address: 127.0.0.3, port: 8081, weight: 3}
`
	optOut := func(cfg string) string {
		return strings.Replace(cfg, "  interface: eth0\n", "  interface: eth0\n  ip_forward: false\n  send_redirects: true\n", 1)
	}
	lp, k, _ := runLoop(t, optOut(leavingVIPConfig(nat)))
	const untouched = "ip_forward=0 all/send_redirects= eth0/send_redirects="
	if got := k.natSettings(); got != untouched {
		t.Fatalf("with the nat service and the opt-outs: %s, want %s", got, untouched)
	}
	k.setConns(81, "127.0.0.3", 5)
	writeConfig(t, lp.opts.File, optOut(leavingVIPConfig("")))
	lp.Reload()
	waitUntil(t, "the nat real server draining", func() (bool, string) {
		w := k.weights(81)
		return fmt.Sprint(w) == fmt.Sprint(map[string]int{"127.0.0.3": 0}), fmt.Sprint(w)
	})
	n := counts(lp).passes
	lp.Kick()
	waitUntil(t, "a pass after that", func() (bool, string) { return counts(lp).passes > n+1, "" })
	if got := k.natSettings(); got != untouched {
		t.Fatalf("while the nat real server drains: %s, want %s (the file's opt-outs)", got, untouched)
	}
}

// TestEditedNATDrainKeepsForwarding: a busy nat service removed from the
// file while lvs-rs run is not active drains, in the next run, with the
// forwarding settings of the desired state last applied (the state
// record's) kept.
func TestEditedNATDrainKeepsForwarding(t *testing.T) {
	const nat = `  - vip: 10.0.0.101
    port: 81
    scheduler: wrr
    mode: nat
    drain_timeout: 1h
    real_servers:
      - {address: 127.0.0.3, port: 8081, weight: 3}
`
	dir := t.TempDir()
	file, stateDir := filepath.Join(dir, "lvs-rs.yaml"), filepath.Join(dir, "state")
	writeConfig(t, file, leavingVIPConfig(nat))
	k := newMemKernel()
	_, _, stopA := runLoopOn(t, file, stateDir, k)
	k.setConns(81, "127.0.0.3", 5)
	stopA()
	writeConfig(t, file, leavingVIPConfig(""))
	b, _, _ := runLoopOn(t, file, stateDir, k)
	const set = "ip_forward=1 all/send_redirects=0 eth0/send_redirects=0"
	if got := k.natSettings(); got != set {
		t.Fatalf("while the nat real server drains: %s, want %s", got, set)
	}
	k.setConns(81, "127.0.0.3", 0)
	b.Kick()
	waitUntil(t, "the settings restored once it is deleted", func() (bool, string) {
		got := k.natSettings()
		return got == "ip_forward=0 all/send_redirects= eth0/send_redirects=", got
	})
}
