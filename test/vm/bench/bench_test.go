package bench

import (
	"context"
	"testing"
)

// method is one way of applying a shape's table into a fresh namespace.
// setup runs untimed and returns the timed part.
type method struct {
	name  string
	setup func(b *testing.B, e *bed, s shape) (run func())
}

var methods = []method{
	{"pipelined", func(b *testing.B, e *bed, s shape) func() {
		c := dial(b, e.fresh())
		b.Cleanup(func() { c.Close() })
		ops := s.ops()
		return func() { applyAll(b, c, ops) }
	}},
	{"serial", func(b *testing.B, e *bed, s shape) func() {
		c := dial(b, e.fresh())
		b.Cleanup(func() { c.Close() })
		ops := s.ops()
		return func() { applySerial(b, c, ops) }
	}},
	{"director", func(b *testing.B, e *bed, s shape) func() {
		ns := e.fresh()
		dir := stateDir(b, e.n)
		return func() { startDirector(b, ns, s, dir) }
	}},
	{"ipvsadm", func(b *testing.B, e *bed, s shape) func() {
		path := ipvsadmPath()
		if path == "" {
			b.Skip("no ipvsadm in the VM (scripts/vm-prepare.sh adds it to the initramfs)")
		}
		ns := e.fresh()
		restore := s.restore()
		return func() { restoreIpvsadm(b, ns, path, restore) }
	}},
	{"floor", floor(true)},
	{"floor-noack", floor(false)},
}

// floor sends the table pre-encoded with raw system calls.
func floor(ackEach bool) func(b *testing.B, e *bed, s shape) func() {
	return func(b *testing.B, e *bed, s shape) func() {
		raw := openRaw(b, e.fresh())
		cs := encodeChunks(b, s, raw.family, ackEach)
		return func() { raw.sendChunks(b, cs) }
	}
}

// BenchmarkApply applies 10,000 real servers into a fresh namespace per
// iteration, for each shape and method (see the package documentation).
func BenchmarkApply(b *testing.B) {
	for _, s := range shapes {
		for _, m := range methods {
			b.Run(s.String()+"/"+m.name, func(b *testing.B) { bench(b, s, m) })
		}
	}
}

func bench(b *testing.B, s shape, m method) {
	e := newBed(b)
	var cpu cpuTime
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		run := m.setup(b, e, s)
		quiesce(b)
		b.StartTimer()
		t0 := cpuNow()
		run()
		cpu = cpu.add(cpuNow().sub(t0))
		b.StopTimer()
		teardown(b, e, s)
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(s.realServers()*b.N)/b.Elapsed().Seconds(), "rs/s")
	b.ReportMetric(float64(cpu.sys.Milliseconds())/float64(b.N), "sys-ms/op")
	b.ReportMetric(float64(cpu.user.Milliseconds())/float64(b.N), "user-ms/op")
}

// teardown checks the service count and deletes the services of the
// latest namespace (their real servers go with them), so that no
// namespace holding 10,000 real servers is left to the kernel's
// asynchronous cleanup while the next iteration is measured.
func teardown(b *testing.B, e *bed, s shape) {
	b.Helper()
	ns := e.tp.NS(nsName(e.n))
	c := dial(b, ns)
	defer c.Close()
	svcs, err := c.Services(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	if len(svcs) != s.services {
		b.Fatalf("%d services after the run, want %d", len(svcs), s.services)
	}
	applyAll(b, c, s.deletes())
}
