package daemon

import (
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// sampler reads the kernel's weights every 10ms until stopped and keeps
// every distinct map it saw.
type sampler struct {
	mu   sync.Mutex
	seen map[string]bool
	stop chan struct{}
	done chan struct{}
}

func (c *cluster) sample() *sampler {
	s := &sampler{seen: map[string]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			w := fmt.Sprint(c.weightsNoFatal())
			s.mu.Lock()
			s.seen[w] = true
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return s
}

func (s *sampler) finish() map[string]bool {
	close(s.stop)
	<-s.done
	return s.seen
}

// TestRestartKeepsWeights: SIGTERM exits 0 and leaves the kernel as it
// is, traffic keeps flowing without the daemon, and the next run adopts
// without changing any weight of a healthy server; the same after
// SIGKILL. A start while run is active refuses.
func TestRestartKeepsWeights(t *testing.T) {
	c := newCluster(t, patient("5s", 2, 3))
	d := c.run()
	c.ready()
	want := map[string]int{"10.0.0.11": 2, "10.0.0.12": 3}
	c.waitWeights(vip80, 5*time.Second, want)
	for _, verb := range []string{"start", "stop"} {
		if code, out := c.lvsrs(verb, "--role", "director", "--config", c.cfg); code != 1 || !strings.Contains(out, "lvs-rs run is active") {
			t.Fatalf("%s while run is active: exit %d, want 1\n%s", verb, code, out)
		}
	}
	code, out := c.lvsrs("status")
	if code != 0 || !contains(out, "== daemon", "10.0.0.11:80", "up") {
		t.Fatalf("status while run is active: exit %d, want 0 and the daemon's table\n%s", code, out)
	}
	code, out = c.lvsrs("status", "-o", "json")
	if code != 0 || !contains(out, `"daemon": {`, `"real_servers": [`, `"state": "up"`) {
		t.Fatalf("status -o json while run is active: exit %d, want a daemon key\n%s", code, out)
	}

	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		s := c.sample()
		t0 := time.Now()
		d.signal(sig)
		code := d.exit(t)
		t.Logf("%v: exited after %s", sig, time.Since(t0))
		if sig == syscall.SIGTERM && code != 0 {
			t.Fatalf("SIGTERM: exit %d, want 0\n%s", code, d.log.String())
		}
		if got := c.tally(10); got["rs1"]+got["rs2"] != 10 {
			t.Fatalf("without the daemon (after %v): answers %v", sig, got)
		}
		t0 = time.Now()
		d = c.run()
		c.ready()
		t.Logf("restarted and ready after %s", time.Since(t0))
		time.Sleep(time.Second)
		seen := s.finish()
		if len(seen) != 1 || !seen[fmt.Sprint(want)] {
			t.Fatalf("weights seen across the restart after %v: %v, want only %v", sig, seen, want)
		}
	}
}

// weightsNoFatal is weights for goroutines other than the test's.
func (c *cluster) weightsNoFatal() map[string]int {
	out := map[string]int{}
	svcs, err := c.ipvs.Services(bg())
	if err != nil {
		return map[string]int{"error": 1}
	}
	for _, s := range svcs {
		if s.Service.Key() != vip80 {
			continue
		}
		ds, err := c.ipvs.Destinations(bg(), s.Service)
		if err != nil {
			return map[string]int{"error": 1}
		}
		for _, d := range ds {
			out[d.Address.String()] = int(d.Weight)
		}
	}
	return out
}
