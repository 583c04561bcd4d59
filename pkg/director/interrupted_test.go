package director

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
)

// changeCase is a configuration lvs-rs runs with (from), then a second
// one (to) that changes something it owns; setup prepares the kernel
// before either.
type changeCase struct {
	name     string
	setup    func(k *memKernel)
	from, to func() *config.Config
}

func changeCases() []changeCase {
	withTimeout := func(sec int) func() *config.Config {
		return func() *config.Config {
			c := web()
			c.Director.Timeouts = config.Timeouts{TCP: time.Duration(sec) * time.Second}
			return c
		}
	}
	withReuse := func(v int64) func() *config.Config {
		return func() *config.Config {
			c := web()
			c.Director.IPVSSysctls = []config.IPVSSysctl{{Name: "conn_reuse_mode", Value: v}}
			return c
		}
	}
	withSync := func(id uint8) func() *config.Config {
		return func() *config.Config {
			c := web()
			c.Director.Sync = &config.Sync{Interface: "eth1", State: config.SyncMaster, SyncID: id}
			return c
		}
	}
	inTable := func(table uint32) func() *config.Config {
		return func() *config.Config {
			c := marked()
			c.Director.Announce.Table = table
			return c
		}
	}
	return []changeCase{
		{name: "an IPVS timeout set again", from: withTimeout(600), to: withTimeout(300)},
		{name: "an IPVS sysctl set again", setup: func(k *memKernel) { k.sysctls[reuse] = "1" },
			from: withReuse(0), to: withReuse(2)},
		{name: "the sync daemon restarted", from: withSync(1), to: withSync(2)},
		{name: "the announce table moved", from: inTable(100), to: inTable(200)},
		{name: "the announce protocol changed", from: inTable(100), to: func() *config.Config {
			c := inTable(100)()
			c.Director.Announce.Protocol = 251
			return c
		}},
		{name: "a service moved to another port", from: announcedWeb, to: func() *config.Config {
			c := announcedWeb()
			c.VirtualServers[0].Port = 8080
			return c
		}},
		{name: "services edited, added and removed",
			setup: func(k *memKernel) { k.services = append(k.services, ipvs.ServiceExtended{Service: foreignSvc}) },
			from:  twoServices,
			to: func() *config.Config {
				c := web()
				c.VirtualServers[0].RealServers[1].Weight = 5
				c.VirtualServers[0].RealServers = append(c.VirtualServers[0].RealServers,
					config.RealServer{Address: rs3, Port: 80, Weight: 1, Mode: config.ModeDR})
				return c
			}},
	}
}

// TestChangeInterruptedAtEveryWrite: lvs-rs started with one
// configuration, then with another that changes what it owns (a sysctl or
// timeout it set, its sync daemon, its announce table, its services),
// has that second start killed as each of its writes begins in turn (the
// first right after its intentions are saved), or has that write refused.
// Whatever follows (stop; the second configuration again, then stop; the
// first, the second, then stop), every start converges and stop leaves
// the kernel exactly as it was before lvs-rs ran, with no record left: a
// value lvs-rs wrote and is about to replace, a daemon it is restarting
// and a table it is leaving stay its own until read back gone.
func TestChangeInterruptedAtEveryWrite(t *testing.T) {
	ctx := context.Background()
	for _, tc := range changeCases() {
		writes := writesOfChange(t, tc)
		for k := 1; k <= writes; k++ {
			for _, crash := range []bool{true, false} {
				for _, then := range [][]func() *config.Config{nil, {tc.to}, {tc.from, tc.to}} {
					name := fmt.Sprintf("%s: write %d of %d %s, then %d starts and stop", tc.name, k, writes,
						map[bool]string{true: "killed", false: "refused"}[crash], len(then))
					b := newMemBed(t)
					if tc.setup != nil {
						tc.setup(b.k)
					}
					before := b.k.snapshot()
					if _, err := Start(ctx, tc.from(), b.opts()); err != nil {
						t.Fatalf("%s: first start: %v", name, err)
					}
					interruptStart(t, b, tc.to(), k, crash, name)
					for i, cfg := range then {
						if _, err := Start(ctx, cfg(), b.opts()); err != nil {
							t.Fatalf("%s: start %d after: %v", name, i+1, err)
						}
					}
					if _, err := Stop(ctx, b.opts()); err != nil {
						t.Fatalf("%s: stop: %v", name, err)
					}
					if diff := cmp.Diff(before, b.k.snapshot(), cmpOpts); diff != "" {
						t.Fatalf("%s: stop did not restore the kernel (-before +after):\n%s", name, diff)
					}
					if _, ok := b.record(); ok {
						t.Fatalf("%s: a record is left", name)
					}
				}
			}
		}
	}
}

// writesOfChange counts the writes of tc's second start, uninterrupted.
func writesOfChange(t *testing.T, tc changeCase) int {
	t.Helper()
	b := newMemBed(t)
	if tc.setup != nil {
		tc.setup(b.k)
	}
	if _, err := Start(context.Background(), tc.from(), b.opts()); err != nil {
		t.Fatalf("%s: %v", tc.name, err)
	}
	n := b.k.writes
	if _, err := Start(context.Background(), tc.to(), b.opts()); err != nil {
		t.Fatalf("%s: %v", tc.name, err)
	}
	if b.k.writes == n {
		t.Fatalf("%s: the second start wrote nothing: the case proves nothing", tc.name)
	}
	return b.k.writes - n
}

// interruptStart runs a start of cfg killed as its k-th write begins, or
// with that write refused (EPERM), and checks it was.
func interruptStart(t *testing.T, b *memBed, cfg *config.Config, k int, crash bool, name string) {
	t.Helper()
	if crash {
		b.k.crashBefore = b.k.writes + k
		if !crashing(func() { Start(context.Background(), cfg, b.opts()) }) {
			t.Fatalf("%s: start did not reach the write", name)
		}
		b.k.crashBefore = 0
		return
	}
	b.k.failAt = b.k.writes + k
	_, err := Start(context.Background(), cfg, b.opts())
	b.k.failAt = 0
	if !errors.Is(err, unix.EPERM) {
		t.Fatalf("%s: start = %v, want the refusal (EPERM)", name, err)
	}
}

// TestStopInterruptedAtEveryWrite: stop, with a real server another tool
// added to one of lvs-rs's services, killed as each of its writes begins
// or with that write refused; a second stop then leaves the kernel as an
// uninterrupted stop does (that service kept, holding only the other
// tool's real server) and no record: a real server of lvs-rs's whose
// deletion did not happen stays recorded, service and all.
func TestStopInterruptedAtEveryWrite(t *testing.T) {
	ctx := context.Background()
	foreign := dst(rs3, 80, ipvs.Route, 1)
	started := func() *memBed {
		b := newMemBed(t)
		b.k.services = append(b.k.services, ipvs.ServiceExtended{Service: foreignSvc})
		if _, err := Start(ctx, twoServices(), b.opts()); err != nil {
			t.Fatal(err)
		}
		k := svcKey(80)
		b.k.dests[k] = append(b.k.dests[k], ipvs.DestinationExtended{Destination: foreign})
		return b
	}
	probe := started()
	n := probe.k.writes
	if _, err := Stop(ctx, probe.opts()); err != nil {
		t.Fatal(err)
	}
	writes, want := probe.k.writes-n, probe.k.snapshot()
	if len(want.Dests[svcKey(80)]) != 1 {
		t.Fatalf("an uninterrupted stop left %v in :80, want the other tool's real server alone", want.Dests[svcKey(80)])
	}
	for k := 1; k <= writes; k++ {
		for _, crash := range []bool{true, false} {
			name := fmt.Sprintf("stop's write %d of %d %s", k, writes, map[bool]string{true: "killed", false: "refused"}[crash])
			b := started()
			if crash {
				b.k.crashBefore = b.k.writes + k
				if !crashing(func() { Stop(ctx, b.opts()) }) {
					t.Fatalf("%s: stop did not reach the write", name)
				}
				b.k.crashBefore = 0
			} else {
				b.k.failAt = b.k.writes + k
				_, err := Stop(ctx, b.opts())
				b.k.failAt = 0
				if !errors.Is(err, unix.EPERM) {
					t.Fatalf("%s: stop = %v, want the refusal (EPERM)", name, err)
				}
			}
			if _, err := Stop(ctx, b.opts()); err != nil {
				t.Fatalf("%s: stop again: %v", name, err)
			}
			if diff := cmp.Diff(want, b.k.snapshot(), cmpOpts); diff != "" {
				t.Fatalf("%s: (-uninterrupted +after):\n%s", name, diff)
			}
			if _, ok := b.record(); ok {
				t.Fatalf("%s: a record is left", name)
			}
		}
	}
}

// racedBind is a memKernel on which another tool binds each VIP just
// before lvs-rs's bind of it, once.
type racedBind struct {
	*memKernel
	raced bool
}

func (r *racedBind) Bind(a vip.Addr) error {
	if !r.raced {
		r.raced = true
		r.addrs[a.Dev] = append(r.addrs[a.Dev], a)
	}
	return r.memKernel.Bind(a)
}

// TestBindRacedByAnotherTool: a VIP another tool binds between start's
// reading of the addresses and its bind is refused (EEXIST), never taken
// over: start reads the host again and converges, the VIP is not recorded
// as lvs-rs's, and stop leaves it bound.
func TestBindRacedByAnotherTool(t *testing.T) {
	ctx := context.Background()
	b := newMemBed(t)
	o := b.opts()
	k := &racedBind{memKernel: b.k}
	o.Kernel = k
	if _, err := Start(ctx, web(), o); err != nil {
		t.Fatalf("start with its bind raced: %v", err)
	}
	if !k.raced {
		t.Fatal("start bound nothing: the test proves nothing")
	}
	if r, _ := b.record(); len(r.Addresses) != 0 {
		t.Fatalf("the other tool's VIP is recorded as lvs-rs's: %+v", r.Addresses)
	}
	if _, err := Stop(ctx, b.opts()); err != nil {
		t.Fatal(err)
	}
	if len(b.k.addrs["eth0"]) != 1 {
		t.Fatalf("stop unbound the other tool's VIP: eth0 holds %v", b.k.addrs["eth0"])
	}
}

// TestChangeUnderWayIsVersion3: a record saved while a change is under way
// (here a timeout set again, killed before its write: the value it
// replaces is recorded as was) is format version 3, which an lvs-rs
// reading only version 2 refuses instead of ignoring was and leaving the
// timeout at lvs-rs's value; once the change is read back, version 2
// again. A version this lvs-rs does not know is refused, naming the file.
func TestChangeUnderWayIsVersion3(t *testing.T) {
	ctx := context.Background()
	withTimeout := func(sec int) *config.Config {
		c := web()
		c.Director.Timeouts = config.Timeouts{TCP: time.Duration(sec) * time.Second}
		return c
	}
	b := newMemBed(t)
	if _, err := Start(ctx, withTimeout(600), b.opts()); err != nil {
		t.Fatal(err)
	}
	if r, _ := b.record(); r.Version != recordVersion {
		t.Fatalf("a settled record is version %d, want %d", r.Version, recordVersion)
	}
	b.k.crashBefore = b.k.writes + 1
	if !crashing(func() { Start(ctx, withTimeout(300), b.opts()) }) {
		t.Fatal("the second start did not reach its write")
	}
	b.k.crashBefore = 0
	if r, _ := b.record(); r.Version != changingVersion || len(r.Timeouts) != 1 || r.Timeouts[0].Was != 600 {
		t.Fatalf("the record of a change under way: version %d, timeouts %+v; want version %d with was 600", r.Version, r.Timeouts, changingVersion)
	}
	if _, err := Start(ctx, withTimeout(300), b.opts()); err != nil {
		t.Fatal(err)
	}
	if r, _ := b.record(); r.Version != recordVersion {
		t.Fatalf("the record once the change is read back: version %d, want %d", r.Version, recordVersion)
	}
	path := filepath.Join(b.dir, Role+".json")
	if err := os.WriteFile(path, []byte(`{"version":4}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Stop(ctx, b.opts()); err == nil || !strings.Contains(err.Error(), "format version 4") || !strings.Contains(err.Error(), path) {
		t.Fatalf("stop with a version 4 record: %v, want it refused naming the file", err)
	}
}
