package daemon

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestDrainEnable: `lvs-rs drain` sets weight 0 at once and the real
// server is deleted at drain_timeout (the client's connections keep it
// busy); the drain is kept across a restart; `lvs-rs enable` gives the
// weight back. Without a running daemon both exit 1.
func TestDrainEnable(t *testing.T) {
	c := newCluster(t, config("5s", 2, 3))
	if code, out := c.lvsrs("drain", "10.0.0.11"); code != 1 {
		t.Fatalf("drain without run: exit %d, want 1\n%s", code, out)
	}
	d := c.run()
	c.ready()
	c.waitWeights(vip80, 5*time.Second, map[string]int{"10.0.0.11": 2, "10.0.0.12": 3})
	c.tally(10) // connections that keep 10.0.0.11 busy (TIME_WAIT entries)
	code, out := c.lvsrs("drain", "10.0.0.11", "--service", "tcp:10.0.0.100:80")
	if code != 0 || !strings.Contains(out, "drained 10.0.0.11") {
		t.Fatalf("drain: exit %d\n%s", code, out)
	}
	// drain returns once a pass applied it.
	if got := c.weights(vip80); got["10.0.0.11"] != 0 {
		t.Fatalf("right after drain: weights %v, want 10.0.0.11 at 0", got)
	}
	if got := c.tally(10); got["rs2"] != 10 {
		t.Fatalf("while drained: answers %v, want all from rs2", got)
	}
	// drain_timeout is 2s: deleted then even though connections remain.
	c.waitWeights(vip80, 5*time.Second, map[string]int{"10.0.0.12": 3})
	st, err := c.status()
	must(t, err)
	if !hasRow(st.RealServers, "10.0.0.11", "drained") {
		t.Fatalf("status after drain: %+v, want 10.0.0.11 drained", st.RealServers)
	}

	d.signal(syscall.SIGTERM)
	if code := d.exit(t); code != 0 {
		t.Fatalf("SIGTERM: exit %d", code)
	}
	c.run()
	c.ready()
	time.Sleep(time.Second)
	if got := c.weights(vip80); len(got) != 1 || got["10.0.0.12"] != 3 {
		t.Fatalf("after a restart the drain is lost: weights %v", got)
	}
	code, out = c.lvsrs("enable", "10.0.0.11")
	if code != 0 || !strings.Contains(out, "enabled 10.0.0.11") {
		t.Fatalf("enable: exit %d\n%s", code, out)
	}
	c.waitWeights(vip80, 5*time.Second, map[string]int{"10.0.0.11": 2, "10.0.0.12": 3})
	if code, out := c.lvsrs("drain", "10.0.0.99"); code != 2 {
		t.Fatalf("drain of an unknown address: exit %d, want 2\n%s", code, out)
	}
}

func hasRow(rows any, addr, state string) bool {
	return strings.Contains(fmt.Sprintf("%+v", rows), addr) && strings.Contains(fmt.Sprintf("%+v", rows), "State:"+state)
}

// TestSorryServerAndRemove: with on_failure remove a dead real server is
// deleted (and added back when it recovers); while no real server is up
// the sorry server answers (status: sorry; lvsrs_real_server_up 0), and
// it leaves when one is up again.
func TestSorryServerAndRemove(t *testing.T) {
	c := newCluster(t, config("5s", 1, 1, "on_failure: remove", "sorry_server: 10.0.0.13"))
	sorry := c.p.AddNS("sorry")
	c.p.Connect("sorry", "lan", "eth0", "10.0.0.13/24")
	c.realServer(sorry)
	c.run()
	c.ready()
	c.waitWeights(vip80, 5*time.Second, map[string]int{"10.0.0.11": 1, "10.0.0.12": 1})

	c.web["rs1"].stop()
	c.waitWeights(vip80, 5*time.Second, map[string]int{"10.0.0.12": 1})
	c.web["rs2"].stop()
	c.waitWeights(vip80, 5*time.Second, map[string]int{"10.0.0.13": 1})
	if got := c.tally(5); got["sorry"] != 5 {
		t.Fatalf("with no real server up: answers %v, want the sorry server's", got)
	}
	// Reported as the sorry server, not as a real server that is up.
	st, err := c.status()
	must(t, err)
	if !hasRow(st.RealServers, "10.0.0.13", "sorry") {
		t.Fatalf("status with the sorry server in service: %+v, want its state sorry", st.RealServers)
	}
	m := c.scrape("10.0.0.1:9597")
	if v, ok := metricLine(m, "lvsrs_real_server_up", `remote_address="10.0.0.13"`); !ok || v != "0" {
		t.Fatalf("lvsrs_real_server_up of the sorry server = %q (found %v), want 0\n%s", v, ok, m)
	}
	c.web["rs2"].start()
	c.waitWeights(vip80, 5*time.Second, map[string]int{"10.0.0.12": 1})
	if got := c.tally(5); got["rs2"] != 5 {
		t.Fatalf("after rs2 recovered: answers %v", got)
	}
}

// agent is a HAProxy agent-check server on rs1:8888 that answers line.
func agentServer(t *testing.T, c *cluster, line *atomic.Value) {
	l, err := c.p.RS1.Listen("tcp", "10.0.0.11:8888")
	must(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			w := bufio.NewWriter(conn)
			w.WriteString(line.Load().(string) + "\n")
			w.Flush()
			conn.Close()
		}
	}()
}

// TestExecAndAgentChecks: an exec check's exit code sets the state and
// weight (0 up, 1 down, 2..255 up with weight code-2); an agent check's
// answer does (NN%, drain, down, up).
func TestExecAndAgentChecks(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "check.sh")
	must(t, os.WriteFile(script, []byte("#!/bin/sh\nexit $(cat "+dir+"/code-$1)\n"), 0o755))
	setCode := func(addr string, code int) {
		must(t, os.WriteFile(filepath.Join(dir, "code-"+addr), []byte(fmt.Sprint(code)), 0o644))
	}
	setCode("10.0.0.11", 0)
	setCode("10.0.0.12", 0)
	yaml := fmt.Sprintf(`director:
  interface: eth0
  reconcile_interval: 5s
virtual_servers:
  - vip: 10.0.0.100
    port: 80
    scheduler: wrr
    mode: dr
    check: {type: exec, command: ["/bin/sh", %q, "{address}"], interval: 300ms, timeout: 250ms, rise: 1, fall: 1}
    real_servers:
      - {address: 10.0.0.11, weight: 10, check: {type: agent, port: 8888}}
      - {address: 10.0.0.12, weight: 10}
`, script)
	c := newCluster(t, yaml)
	var line atomic.Value
	line.Store("up")
	agentServer(t, c, &line)
	c.run()
	c.ready()
	c.waitWeights(vip80, 5*time.Second, map[string]int{"10.0.0.11": 10, "10.0.0.12": 10})

	setCode("10.0.0.12", 7)
	c.waitWeights(vip80, 5*time.Second, map[string]int{"10.0.0.11": 10, "10.0.0.12": 5})
	setCode("10.0.0.12", 1)
	c.waitWeights(vip80, 5*time.Second, map[string]int{"10.0.0.11": 10, "10.0.0.12": 0})
	setCode("10.0.0.12", 0)
	c.waitWeights(vip80, 5*time.Second, map[string]int{"10.0.0.11": 10, "10.0.0.12": 10})

	line.Store("50%")
	c.waitWeights(vip80, 5*time.Second, map[string]int{"10.0.0.11": 5, "10.0.0.12": 10})
	line.Store("drain")
	c.waitWeights(vip80, 5*time.Second, map[string]int{"10.0.0.11": 0, "10.0.0.12": 10})
	line.Store("down#maintenance")
	waitFor(t, 5*time.Second, "10.0.0.11 down", func() (bool, string) {
		st, err := c.status()
		if err != nil {
			return false, err.Error()
		}
		return hasRow(st.RealServers, "10.0.0.11", "down"), fmt.Sprintf("%+v", st.RealServers)
	})
	line.Store("up")
	c.waitWeights(vip80, 5*time.Second, map[string]int{"10.0.0.11": 10, "10.0.0.12": 10})
}
