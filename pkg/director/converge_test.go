package director

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/state"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
)

// memBed is a director on a memKernel with a state directory.
type memBed struct {
	t   *testing.T
	k   *memKernel
	dir string
}

func newMemBed(t *testing.T) *memBed {
	return &memBed{t: t, k: newMemKernel(), dir: filepath.Join(t.TempDir(), "state")}
}

func (b *memBed) opts() Options { return Options{StateDir: b.dir, Kernel: b.k} }

func (b *memBed) record() (record, bool) {
	b.t.Helper()
	r, ok, err := loadRecord(state.Store{Dir: b.dir})
	if err != nil {
		b.t.Fatal(err)
	}
	return r, ok
}

// crashing runs fn and reports whether it crashed (a simulated kill).
func crashing(fn func()) (crash bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(crashed); !ok {
				panic(r)
			}
			crash = true
		}
	}()
	fn()
	return false
}

// twoServices is a nat and a dr service with two real servers each, so
// ip_forward is set too.
func twoServices() *config.Config {
	cfg := web()
	cfg.Director.IPForward = true
	cfg.VirtualServers = append(cfg.VirtualServers, config.VirtualServer{
		VIP: vip2, Port: 443, Protocol: config.TCP, Scheduler: "rr", Mode: config.ModeNAT,
		RealServers: []config.RealServer{
			{Address: rs1, Port: 8443, Weight: 1, Mode: config.ModeNAT},
			{Address: rs2, Port: 8443, Weight: 2, Mode: config.ModeNAT},
		},
	})
	return cfg
}

// foreignSvc is a service someone else made.
var foreignSvc = ipvs.Service{Family: ipvs.Inet, Protocol: ipvs.UDP, Address: vip1, Port: 53, Scheduler: "rr", Netmask: 32}

// TestCrashAtEveryWrite kills start after each of its writes (in memory: a
// panic out of the kernel), then start converges and stop restores the
// kernel exactly; then the same for a crash at each write of stop.
func TestCrashAtEveryWrite(t *testing.T) {
	cfg := twoServices()
	probe := newMemBed(t)
	probe.k.services = append(probe.k.services, ipvs.ServiceExtended{Service: foreignSvc})
	if _, err := Start(context.Background(), cfg, probe.opts()); err != nil {
		t.Fatal(err)
	}
	n := probe.k.writes
	if _, err := Stop(context.Background(), probe.opts()); err != nil {
		t.Fatal(err)
	}
	stopWrites := probe.k.writes - n
	t.Logf("start: %d writes, stop: %d", n, stopWrites)
	for k := 1; k <= n; k++ {
		b := newMemBed(t)
		b.k.services = append(b.k.services, ipvs.ServiceExtended{Service: foreignSvc})
		before := b.k.snapshot()
		b.k.crashAfter = k
		if !crashing(func() { Start(context.Background(), cfg, b.opts()) }) {
			t.Fatalf("crash after write %d: start did not reach it", k)
		}
		b.k.crashAfter = 0
		if _, err := Start(context.Background(), cfg, b.opts()); err != nil {
			t.Fatalf("crash after write %d: start again: %v", k, err)
		}
		rep, err := Status(context.Background(), nil, b.opts())
		if err != nil || len(rep.Drift) != 0 {
			t.Fatalf("crash after write %d: status after the rerun: %v %v", k, err, rep.Drift)
		}
		if _, err := Stop(context.Background(), b.opts()); err != nil {
			t.Fatalf("crash after write %d: stop: %v", k, err)
		}
		if diff := cmp.Diff(before, b.k.snapshot(), cmpOpts); diff != "" {
			t.Fatalf("crash after write %d: stop did not restore the kernel (-before +after):\n%s", k, diff)
		}
		if _, ok := b.record(); ok {
			t.Fatalf("crash after write %d: a record is left", k)
		}
	}
	for k := 1; k <= stopWrites; k++ {
		b := newMemBed(t)
		b.k.services = append(b.k.services, ipvs.ServiceExtended{Service: foreignSvc})
		before := b.k.snapshot()
		if _, err := Start(context.Background(), cfg, b.opts()); err != nil {
			t.Fatal(err)
		}
		b.k.crashAfter = b.k.writes + k
		if !crashing(func() { Stop(context.Background(), b.opts()) }) {
			t.Fatalf("crash after stop's write %d: stop did not reach it", k)
		}
		b.k.crashAfter = 0
		if _, err := Stop(context.Background(), b.opts()); err != nil {
			t.Fatalf("crash after stop's write %d: stop again: %v", k, err)
		}
		if diff := cmp.Diff(before, b.k.snapshot(), cmpOpts); diff != "" {
			t.Fatalf("crash after stop's write %d: (-before +after):\n%s", k, diff)
		}
	}
}

// TestLostAcknowledgementsOwnWhatIsPresent: every acknowledgement lost
// (the kernel did the work): start succeeds, records what it made, and
// stop removes it all.
func TestLostAcknowledgementsOwnWhatIsPresent(t *testing.T) {
	for _, pipelined := range []bool{false, true} {
		b := newMemBed(t)
		b.k.pipelined = pipelined
		b.k.services = append(b.k.services, ipvs.ServiceExtended{Service: foreignSvc})
		before := b.k.snapshot()
		b.k.lose = func(ipvs.Op) bool { return true }
		cfg := twoServices()
		if _, err := Start(context.Background(), cfg, b.opts()); err != nil {
			t.Fatalf("pipelined=%v: start: %v", pipelined, err)
		}
		r, _ := b.record()
		var got []string
		for _, s := range r.Services {
			got = append(got, s.ServiceKey.String())
		}
		if diff := cmp.Diff([]string{"tcp 10.0.0.100:80", "tcp 10.0.0.200:443"}, got); diff != "" {
			t.Fatalf("pipelined=%v: owned services (-want +got):\n%s", pipelined, diff)
		}
		recorded, err := r.desired()
		if err != nil || recorded == nil {
			t.Fatalf("the record's desired state: %v, %v", recorded, err)
		}
		if diff := cmp.Diff(DesiredFrom(cfg), *recorded, cmpOpts); diff != "" {
			t.Fatalf("the record's desired state (-want +got):\n%s", diff)
		}
		if _, err := Start(context.Background(), cfg, b.opts()); err != nil {
			t.Fatalf("pipelined=%v: second start: %v", pipelined, err)
		}
		if _, err := Stop(context.Background(), b.opts()); err != nil {
			t.Fatalf("pipelined=%v: stop: %v", pipelined, err)
		}
		if diff := cmp.Diff(before, b.k.snapshot(), cmpOpts); diff != "" {
			t.Fatalf("pipelined=%v: orphans after stop (-before +after):\n%s", pipelined, diff)
		}
	}
}

// TestUnknownOutcomeReadsBack: a deletion whose answer was lost and
// which the kernel did not perform leaves the service recorded (the
// kernel is read back, not assumed to have done it), so stop's next
// round deletes it; a pass whose every request was acknowledged dumps no
// destination after its writes.
func TestUnknownOutcomeReadsBack(t *testing.T) {
	b := newMemBed(t)
	before := b.k.snapshot()
	if _, err := Start(context.Background(), web(), b.opts()); err != nil {
		t.Fatal(err)
	}
	dropped := 0
	b.k.drop = func(op ipvs.Op) bool {
		if op.Kind == ipvs.OpDeleteService && dropped == 0 {
			dropped++
			return true
		}
		return false
	}
	if _, err := Stop(context.Background(), b.opts()); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if dropped != 1 {
		t.Fatal("no deletion was dropped: the test proves nothing")
	}
	if diff := cmp.Diff(before, b.k.snapshot(), cmpOpts); diff != "" {
		t.Fatalf("orphans after a stop whose deletion's answer was lost (-before +after):\n%s", diff)
	}
}

// TestAcknowledgedPassSkipsReadBack: a start whose every request the
// kernel acknowledged dumps destinations only before its writes, and
// records what it made.
func TestAcknowledgedPassSkipsReadBack(t *testing.T) {
	b := newMemBed(t)
	if _, err := Start(context.Background(), web(), b.opts()); err != nil {
		t.Fatal(err)
	}
	cfg := web()
	cfg.VirtualServers[0].RealServers[1].Weight = 5
	cfg.VirtualServers[0].RealServers = append(cfg.VirtualServers[0].RealServers,
		config.RealServer{Address: rs3, Port: 80, Weight: 1, Mode: config.ModeDR})
	k := &dumpCounter{memKernel: b.k}
	o := b.opts()
	o.Kernel = k
	if _, err := Start(context.Background(), cfg, o); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"tcp 10.0.0.100:80"}, k.names()); diff != "" {
		t.Fatalf("destination dumps (-want +got):\n%s", diff)
	}
	r, _ := b.record()
	if len(r.Services) != 1 || len(r.Services[0].Destinations) != 3 {
		t.Fatalf("recorded %+v, want one service with 3 real servers", r.Services)
	}
}

// TestFailedAddKeepsWhatItReplaces: a port change is an addition then a
// deletion; when the addition fails the old service stays, even with a
// kernel that performs every request of a batch.
func TestFailedAddKeepsWhatItReplaces(t *testing.T) {
	b := newMemBed(t)
	b.k.pipelined = true
	cfg := web()
	if _, err := Start(context.Background(), cfg, b.opts()); err != nil {
		t.Fatal(err)
	}
	cfg.VirtualServers[0].Port = 8080
	b.k.failOn = "add service tcp 10.0.0.100:8080"
	_, err := Start(context.Background(), cfg, b.opts())
	if !errors.Is(err, unix.EPERM) || !strings.Contains(err.Error(), "tcp 10.0.0.100:8080") {
		t.Fatalf("start = %v, want EPERM naming tcp 10.0.0.100:8080", err)
	}
	s80 := svc(80)
	if b.k.find(s80.Key()) < 0 || len(b.k.dests[s80.Key()]) != 2 {
		t.Fatalf("the failed addition of :8080 let :80 go: %v", b.k.ops)
	}
	for _, op := range b.k.ops {
		if strings.HasPrefix(op, "delete") {
			t.Fatalf("a deletion ran after a failed addition: %v", b.k.ops)
		}
	}
	b.k.failOn = ""
	if _, err := Start(context.Background(), cfg, b.opts()); err != nil {
		t.Fatal(err)
	}
	if b.k.find(svcKey(80)) >= 0 || b.k.find(svcKey(8080)) < 0 {
		t.Fatal("the rerun did not move the service to :8080")
	}
}

// TestObserveToleratesConcurrentWriters: lvs-rs's service deleted and a
// foreign one added between the dump of services and the dumps of
// destinations: start still converges.
func TestObserveToleratesConcurrentWriters(t *testing.T) {
	b := newMemBed(t)
	cfg := twoServices()
	if _, err := Start(context.Background(), cfg, b.opts()); err != nil {
		t.Fatal(err)
	}
	once := true
	b.k.afterDump = func(f *fakeKernel) {
		if once {
			once = false
			f.services = slices.DeleteFunc(f.services, func(s ipvs.ServiceExtended) bool { return s.Key() == svcKey(80) })
			delete(f.dests, svcKey(80))
			f.services = append(f.services, ipvs.ServiceExtended{Service: foreignSvc})
		}
	}
	if _, err := Start(context.Background(), cfg, b.opts()); err != nil {
		t.Fatalf("start with a writer between the dumps: %v", err)
	}
	if b.k.find(svcKey(80)) < 0 || len(b.k.dests[svcKey(80)]) != 2 || b.k.find(foreignSvc.Key()) < 0 {
		t.Fatalf("after the rerun: %v %v\n%v", b.k.services, b.k.dests, b.k.ops)
	}
	if _, err := Stop(context.Background(), b.opts()); err != nil {
		t.Fatal(err)
	}
	if len(b.k.services) != 1 || b.k.services[0].Service != foreignSvc {
		t.Fatalf("after stop: %v, want only the foreign service", b.k.services)
	}
}

// TestForeignWriterDuringStart: another tool adds and deletes its own
// services while start runs: start succeeds and never touches them; one
// that takes the key start is adding is reported as foreign and left,
// holding none of lvs-rs's real servers, also when the kernel performs
// every request of a batch past the refused addition (as the real one
// does: the real servers are sent only once their service is added).
func TestForeignWriterDuringStart(t *testing.T) {
	b := newMemBed(t)
	b.k.pipelined = true
	churn := 0
	b.k.before = func(f *fakeKernel, op ipvs.Op) {
		churn++
		s := foreignSvc
		s.Port = uint16(1000 + churn)
		f.services = append(f.services, ipvs.ServiceExtended{Service: s})
		if churn%2 == 0 {
			f.services = f.services[1:] // and deletes its oldest
		}
	}
	b.k.afterDump = func(f *fakeKernel) { b.k.before(f, ipvs.Op{}) }
	if _, err := Start(context.Background(), twoServices(), b.opts()); err != nil {
		t.Fatalf("start under a concurrent writer: %v", err)
	}
	for _, op := range b.k.ops {
		if strings.Contains(op, "udp") {
			t.Fatalf("start touched a foreign service: %s", op)
		}
	}

	for _, pipelined := range []bool{false, true} {
		b = newMemBed(t)
		b.k.pipelined = pipelined
		b.k.before = func(f *fakeKernel, op ipvs.Op) {
			if op.Kind == ipvs.OpNewService && op.Service.Port == 443 && f.find(op.Service.Key()) < 0 {
				f.services = append(f.services, ipvs.ServiceExtended{Service: op.Service}) // it got there first
			}
		}
		_, err := Start(context.Background(), twoServices(), b.opts())
		if !errors.Is(err, ErrForeignService) || !strings.Contains(err.Error(), "tcp 10.0.0.200:443") {
			t.Fatalf("pipelined=%v: start = %v, want ErrForeignService naming tcp 10.0.0.200:443", pipelined, err)
		}
		k := DesiredFrom(twoServices()).Services[1].Service.Key()
		if n := len(b.k.dests[k]); n != 0 {
			t.Fatalf("pipelined=%v: the other writer's service holds %d real servers start sent: %v", pipelined, n, b.k.ops)
		}
		r, _ := b.record()
		for _, s := range r.Services {
			if s.Port == 443 {
				t.Fatalf("pipelined=%v: the service another writer created is recorded as lvs-rs's", pipelined)
			}
		}
		if _, err := Stop(context.Background(), b.opts()); err != nil {
			t.Fatal(err)
		}
		if len(b.k.services) != 1 || b.k.services[0].Port != 443 || len(b.k.dests[k]) != 0 {
			t.Fatalf("pipelined=%v: stop left %v (real servers %v), want only the other writer's service, empty",
				pipelined, b.k.services, b.k.dests[k])
		}
	}
}

// TestForeignWriterDuringPass: the long-running director's pass
// (SkipForeign) whose addition of a service is raced by another tool
// leaves that service out, names it in Result.Foreign, puts none of its
// real servers in it, and converges the rest.
func TestForeignWriterDuringPass(t *testing.T) {
	for _, pipelined := range []bool{false, true} {
		b := newMemBed(t)
		b.k.pipelined = pipelined
		b.k.before = func(f *fakeKernel, op ipvs.Op) {
			if op.Kind == ipvs.OpNewService && op.Service.Port == 443 && f.find(op.Service.Key()) < 0 {
				f.services = append(f.services, ipvs.ServiceExtended{Service: op.Service}) // it got there first
			}
		}
		d := DesiredFrom(twoServices())
		o := b.opts()
		o.SkipForeign = true
		res, err := Converge(context.Background(), d, o)
		if err != nil {
			t.Fatalf("pipelined=%v: pass = %v", pipelined, err)
		}
		k := d.Services[1].Service.Key()
		if !slices.Equal(res.Foreign, []ipvs.ServiceKey{k}) {
			t.Errorf("pipelined=%v: Result.Foreign = %v, want %v", pipelined, res.Foreign, k)
		}
		if n := len(b.k.dests[k]); n != 0 {
			t.Errorf("pipelined=%v: the other writer's service holds %d real servers lvs-rs sent: %v", pipelined, n, b.k.ops)
		}
		if n := len(b.k.dests[svcKey(80)]); n != 2 {
			t.Errorf("pipelined=%v: tcp :80 holds %d real servers, want 2", pipelined, n)
		}
	}
}

// TestRecordVersionRefused: an unknown version or a corrupt file is one
// line naming the file, and nothing is changed.
func TestRecordVersionRefused(t *testing.T) {
	for name, body := range map[string]string{
		"version": `{"version": 99}`,
		"corrupt": `{"version": 2, "services": [{"family": "x`,
	} {
		b := newMemBed(t)
		if err := os.MkdirAll(b.dir, 0o700); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(b.dir, Role+".json")
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		for verb, run := range map[string]func() error{
			"start":  func() error { _, err := Start(context.Background(), web(), b.opts()); return err },
			"stop":   func() error { _, err := Stop(context.Background(), b.opts()); return err },
			"status": func() error { _, err := Status(context.Background(), nil, b.opts()); return err },
		} {
			err := run()
			if err == nil || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("%s: %s = %v, want one line naming %s", name, verb, err, path)
			}
		}
		if b.k.writes != 0 {
			t.Fatalf("%s: %d writes with a bad record", name, b.k.writes)
		}
	}
}

// TestNothingToDoWritesNothing: a second start with nothing to change
// leaves the record file as it is (not even rewritten), and one that
// changes a weight rewrites it once, before the write (the desired state
// changed).
func TestNothingToDoWritesNothing(t *testing.T) {
	b := newMemBed(t)
	cfg := twoServices()
	if _, err := Start(context.Background(), cfg, b.opts()); err != nil {
		t.Fatal(err)
	}
	path := state.Store{Dir: b.dir}.Path(Role)
	inode := func() uint64 {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return st.Sys().(*syscall.Stat_t).Ino
	}
	before := inode()
	if res, err := Start(context.Background(), cfg, b.opts()); err != nil || len(res.Changes) != 0 {
		t.Fatalf("second start: %v, %v", res.Changes, err)
	}
	if inode() != before {
		t.Fatal("a start with nothing to do rewrote the record")
	}
	cfg.VirtualServers[0].RealServers[0].Weight = 5
	if res, err := Start(context.Background(), cfg, b.opts()); err != nil || len(res.Changes) != 1 {
		t.Fatalf("start after a weight change: %v, %v", res.Changes, err)
	}
	if inode() == before {
		t.Fatal("the record was not rewritten with the new desired state")
	}
}

// hostReads counts memKernel's reads outside the IPVS table.
type hostReads struct {
	*memKernel
	n int
}

func (h *hostReads) Addrs(dev string) ([]vip.Addr, error) {
	h.n++
	return h.memKernel.Addrs(dev)
}

func (h *hostReads) Sysctl(k sysctl.Key) (string, error) {
	h.n++
	return h.memKernel.Sysctl(k)
}

// TestIPVSOnlyPassKeepsHostRead: after a pass that changed only the IPVS
// table (a one-weight edit), the rest of the host is not read again: the
// edit reads it as often as a start with nothing to do. A pass that binds
// an address reads it again.
func TestIPVSOnlyPassKeepsHostRead(t *testing.T) {
	b := newMemBed(t)
	if _, err := Start(context.Background(), web(), b.opts()); err != nil {
		t.Fatal(err)
	}
	reads := func(cfg *config.Config, changes int) int {
		t.Helper()
		k := &hostReads{memKernel: b.k}
		o := b.opts()
		o.Kernel = k
		res, err := Start(context.Background(), cfg, o)
		if err != nil || len(res.Changes) != changes {
			t.Fatalf("start: %v, %v; want %d changes", res.Changes, err, changes)
		}
		return k.n
	}
	noop := reads(web(), 0)
	edit := web()
	edit.VirtualServers[0].RealServers[1].Weight = 5
	if got := reads(edit, 1); got != noop || noop == 0 {
		t.Fatalf("a one-weight edit read the host %d times, a no-op start %d", got, noop)
	}
	more := edit
	vs := more.VirtualServers[0]
	vs.VIP = vip2
	more.VirtualServers = append(more.VirtualServers, vs)
	if got := reads(more, 4); got <= noop {
		t.Fatalf("a pass that binds an address read the host %d times, a no-op start %d", got, noop)
	}
}

// TestResultSameDesired: a pass reports whether its desired state is the
// one recorded before it, with or without changes to make.
func TestResultSameDesired(t *testing.T) {
	b := newMemBed(t)
	d := DesiredFrom(web())
	other := DesiredFrom(twoServices())
	for i, c := range []struct {
		d     Desired
		drift func()
		want  bool
	}{
		{d: d, want: false}, // no record yet
		{d: d, want: true},
		{d: d, drift: func() { b.k.dests[svcKey(80)][0].Weight = 9 }, want: true},
		{d: other, want: false},
		{d: d, want: false},
	} {
		if c.drift != nil {
			c.drift()
		}
		res, err := Converge(context.Background(), c.d, b.opts())
		if err != nil {
			t.Fatal(err)
		}
		if res.SameDesired != c.want {
			t.Errorf("pass %d (%d changes): SameDesired %v, want %v", i, len(res.Changes), res.SameDesired, c.want)
		}
		if c.drift != nil && len(res.Changes) != 1 {
			t.Errorf("pass %d: %d changes, want the drifted weight put back", i, len(res.Changes))
		}
	}
}
