package demo

import (
	"context"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// waitCounters waits (at most 5 s) until the IPVS services in ns have
// counted n connections: the kernel folds its per-CPU counters into what
// it reports every 2 s, and the status table is more telling with them.
// It only delays the report; it never fails.
func waitCounters(ns *topo.NS, n uint64) {
	c, err := ipvs.Dial(&ipvs.Config{NetNS: int(ns.NsHandle())})
	if err != nil {
		return
	}
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		svcs, err := c.Services(context.Background())
		if err != nil {
			return
		}
		var conns uint64
		for _, s := range svcs {
			conns += s.Stats.Connections
		}
		if conns >= n {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}
