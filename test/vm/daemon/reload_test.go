package daemon

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// load sends requests through the VIP one after another until stopped,
// counting answers and failures.
type load struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	errs       []string
	stop       context.CancelFunc
	done       chan struct{}
}

func (c *cluster) startLoad() *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for ctx.Err() == nil {
			if _, err := c.get(); err != nil {
				l.failed.Add(1)
				l.mu.Lock()
				l.errs = append(l.errs, err.Error())
				l.mu.Unlock()
				continue
			}
			l.ok.Add(1)
		}
	}()
	c.t.Cleanup(func() { cancel(); <-l.done })
	return l
}

// finish stops the load and fails the test on any failed request.
func (l *load) finish(t *testing.T) {
	t.Helper()
	l.stop()
	<-l.done
	t.Logf("requests: %d answered, %d failed", l.ok.Load(), l.failed.Load())
	if l.failed.Load() > 0 || l.ok.Load() == 0 {
		t.Fatalf("%d request(s) failed (%d answered): %v", l.failed.Load(), l.ok.Load(), l.errs)
	}
}

// serviceConns is the service's connection counter.
func (c *cluster) serviceConns() uint64 {
	c.t.Helper()
	svcs, err := c.ipvs.Services(context.Background())
	must(c.t, err)
	for _, s := range svcs {
		if s.Service.Key() == vip80 {
			return s.Stats.Connections
		}
	}
	c.t.Fatal("service tcp 10.0.0.100:80 is missing")
	return 0
}

// reload rewrites the file and sends SIGHUP.
func (c *cluster) reload(yaml string) {
	c.t.Helper()
	c.write(yaml)
	c.d.signal(syscall.SIGHUP)
}

// TestReloadUnderTraffic: three reloads (a weight changed, a real server
// added, one removed) while a client sends requests: no request fails,
// the service's counters survive (edited in place), the removed real
// server drains and is deleted. Then a bad file: rejected with
// FILE:LINE:COLUMN, status says so, the kernel keeps the running state.
func TestReloadUnderTraffic(t *testing.T) {
	c := newCluster(t, patient("5s", 1, -1))
	c.run()
	c.ready()
	// director.ipvs_sysctls: without expire_nodest_conn, a client port
	// reused after the removed real server's deletion hits its old
	// connection entry and is dropped until that entry expires.
	if v, err := c.p.Director.ReadSysctl("net/ipv4/vs/expire_nodest_conn"); err != nil || strings.TrimSpace(v) != "1" {
		t.Fatalf("expire_nodest_conn = %q (%v), want 1 from director.ipvs_sysctls", v, err)
	}
	c.waitWeights(vip80, 5*time.Second, map[string]int{"10.0.0.11": 1})
	l := c.startLoad()
	// The kernel's counters are copied out by its estimator, every 2s.
	var before uint64
	waitFor(t, 5*time.Second, "the service's connection counter to count", func() (bool, string) {
		before = c.serviceConns()
		return before > 0, "0"
	})

	c.reload(patient("5s", 3, -1))
	c.waitWeights(vip80, 5*time.Second, map[string]int{"10.0.0.11": 3})
	c.reload(patient("5s", 3, 2))
	c.waitWeights(vip80, 5*time.Second, map[string]int{"10.0.0.11": 3, "10.0.0.12": 2})
	time.Sleep(500 * time.Millisecond)
	c.reload(patient("5s", -1, 2))
	// Draining: weight 0 at once, deleted once idle or at drain_timeout (2s).
	c.waitWeights(vip80, 5*time.Second, map[string]int{"10.0.0.11": 0, "10.0.0.12": 2})
	c.waitWeights(vip80, 10*time.Second, map[string]int{"10.0.0.12": 2})
	time.Sleep(2500 * time.Millisecond) // one estimator period
	l.finish(t)
	if after := c.serviceConns(); after <= before {
		t.Fatalf("service connection counter %d -> %d: the service was re-created", before, after)
	}

	c.reload("director:\n  interface: eth0\nvirtual_servers:\n  - vip: 10.0.0.100\n    port: 80\n    schedular: rr\n")
	var rejection string
	waitFor(t, 5*time.Second, "the reload to be rejected", func() (bool, string) {
		st, err := c.status()
		if err != nil {
			return false, err.Error()
		}
		rejection = st.Config.Rejection
		return !st.Config.Accepted, "accepted"
	})
	if !strings.HasPrefix(rejection, c.cfg+":6:5: ") {
		t.Fatalf("rejection %q, want it to start with %s:6:5: ", rejection, c.cfg)
	}
	// The log reaches the test through a pipe: wait for it too.
	waitFor(t, 5*time.Second, "the rejection to be logged with FILE:LINE:COLUMN", func() (bool, string) {
		return strings.Contains(c.d.log.String(), c.cfg+":6:5"), c.d.log.String()
	})
	code, out := c.lvsrs("status")
	if !strings.Contains(out, "reload REJECTED") {
		t.Fatalf("lvs-rs status (exit %d) does not show the rejection:\n%s", code, out)
	}
	time.Sleep(time.Second)
	if got := c.weights(vip80); len(got) != 1 || got["10.0.0.12"] != 2 {
		t.Fatalf("after a rejected reload the kernel has %v, want the running state {10.0.0.12: 2}", got)
	}
	if got := c.tally(5); got["rs2"] != 5 {
		t.Fatalf("after a rejected reload: answers %v", got)
	}
}
