package director

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// benchKernel is memKernel with an IPVS table in maps, so that a
// benchmark of 11,000 objects measures Converge, not the fake's linear
// searches. It knows no failure.
type benchKernel struct {
	*memKernel
	order []ipvs.ServiceKey
	svcs  map[ipvs.ServiceKey]ipvs.Service
	dests map[ipvs.ServiceKey][]ipvs.DestinationExtended
	dumps int // dumps of destinations
}

func newBenchKernel() *benchKernel {
	return &benchKernel{memKernel: newMemKernel(), svcs: map[ipvs.ServiceKey]ipvs.Service{},
		dests: map[ipvs.ServiceKey][]ipvs.DestinationExtended{}}
}

func (k *benchKernel) Services(context.Context) ([]ipvs.ServiceExtended, error) {
	out := make([]ipvs.ServiceExtended, 0, len(k.order))
	for _, key := range k.order {
		if s, ok := k.svcs[key]; ok {
			out = append(out, ipvs.ServiceExtended{Service: s})
		}
	}
	return out, nil
}

func (k *benchKernel) Service(_ context.Context, key ipvs.ServiceKey) (ipvs.ServiceExtended, error) {
	if s, ok := k.svcs[key]; ok {
		return ipvs.ServiceExtended{Service: s}, nil
	}
	return ipvs.ServiceExtended{}, unix.ESRCH
}

func (k *benchKernel) Destinations(_ context.Context, s ipvs.Service) ([]ipvs.DestinationExtended, error) {
	k.dumps++
	if _, ok := k.svcs[s.Key()]; !ok {
		return nil, unix.ESRCH
	}
	return slices.Clone(k.dests[s.Key()]), nil
}

// DestinationConfigs lists without counters, as ipvs.Client does.
func (k *benchKernel) DestinationConfigs(_ context.Context, s ipvs.Service) ([]ipvs.Destination, error) {
	k.dumps++
	if _, ok := k.svcs[s.Key()]; !ok {
		return nil, unix.ESRCH
	}
	return configsOf(k.dests[s.Key()]), nil
}

func (k *benchKernel) DestinationsOf(ctx context.Context, svcs []ipvs.Service, each func(int, []ipvs.DestinationExtended)) error {
	return listEach(ctx, svcs, k.Destinations, each)
}

func (k *benchKernel) DestinationConfigsOf(ctx context.Context, svcs []ipvs.Service, each func(int, []ipvs.Destination)) error {
	return listConfigsEach(ctx, svcs, k.Destinations, each)
}

func (k *benchKernel) Apply(_ context.Context, ops []ipvs.Op) []error {
	errs := make([]error, len(ops))
	for i, op := range ops {
		key := op.Service.Key()
		k.writes++
		switch op.Kind {
		case ipvs.OpNewService:
			k.svcs[key] = op.Service
			k.order = append(k.order, key)
		case ipvs.OpUpdateService:
			k.svcs[key] = op.Service
		case ipvs.OpNewDestination:
			k.dests[key] = append(k.dests[key], ipvs.DestinationExtended{Destination: op.Destination})
		case ipvs.OpUpdateDestination:
			ds := k.dests[key]
			for j := range ds {
				if ds[j].Key() == op.Destination.Key() {
					ds[j].Destination = op.Destination
				}
			}
		case ipvs.OpDeleteService:
			delete(k.svcs, key)
			delete(k.dests, key)
		case ipvs.OpDeleteDestination:
			k.dests[key] = slices.DeleteFunc(k.dests[key], func(d ipvs.DestinationExtended) bool {
				return d.Key() == op.Destination.Key()
			})
		default:
			errs[i] = &ipvs.Error{Op: op.Kind.String(), Object: op.String(), Err: unix.EPERM}
		}
	}
	return errs
}

// benchStart is a kernel and state directory after a start of
// bigConfig(1000, 10), and its desired state.
func benchStart(b *testing.B) (*benchKernel, Options, Desired) {
	return benchStartShape(b, benchShape{1000, 10})
}

// benchShape is a table of services of perService real servers each.
type benchShape struct{ services, perService int }

func (s benchShape) String() string { return fmt.Sprintf("%dx%d", s.services, s.perService) }

// benchShapes are the bench's two tables of about 10,000 real servers.
var benchShapes = []benchShape{{1000, 10}, {100, 100}}

// benchStartShape is benchStart for a table of that shape.
func benchStartShape(b *testing.B, s benchShape) (*benchKernel, Options, Desired) {
	d := DesiredFrom(bigConfig(s.services, s.perService))
	k := newBenchKernel()
	o := Options{StateDir: filepath.Join(b.TempDir(), "state"), Kernel: k}
	res, err := Converge(context.Background(), d, o)
	if want := 1 + s.services*(1+s.perService); err != nil || len(res.Changes) != want {
		b.Fatalf("start: %d changes (want %d), %v", len(res.Changes), want, err)
	}
	return k, o, d
}

// BenchmarkConvergeStart is lvs-rs start from an empty table: 11,000
// objects added (and one VIP bound), the record written once, with the
// intentions: the record after the writes is the same, and not written.
func BenchmarkConvergeStart(b *testing.B) {
	d := DesiredFrom(bigConfig(1000, 10))
	dir := b.TempDir()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		o := Options{StateDir: filepath.Join(dir, strconv.Itoa(i)), Kernel: newBenchKernel()}
		if _, err := Converge(context.Background(), d, o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConvergeNoop is a start that finds the kernel converged, for
// each of benchShapes.
func BenchmarkConvergeNoop(b *testing.B) { benchAgain(b, false) }

// BenchmarkConvergeEdit is a start that edits one weight, for each of
// benchShapes.
func BenchmarkConvergeEdit(b *testing.B) { benchAgain(b, true) }

// benchAgain times a start after a start of each of benchShapes: with
// edit, of a desired state that differs in one weight each time.
func benchAgain(b *testing.B, edit bool) {
	want := 0
	if edit {
		want = 1
	}
	for _, s := range benchShapes {
		b.Run(s.String(), func(b *testing.B) {
			k, o, d := benchStartShape(b, s)
			dumps := k.dumps
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if edit {
					d.Services[s.services/2].Destinations[s.perService/2].Weight ^= 2
				}
				res, err := Converge(context.Background(), d, o)
				if err != nil || len(res.Changes) != want {
					b.Fatalf("%d changes (want %d), %v", len(res.Changes), want, err)
				}
				n++
			}
			b.ReportMetric(float64(k.dumps-dumps)/float64(n), "dumps/op")
		})
	}
}

// BenchmarkConvergeStop is lvs-rs stop after a start of 1,000 services of
// 10 real servers each: the record loaded, the kernel read, 1,000
// services deleted and the record removed. The start is not timed.
func BenchmarkConvergeStop(b *testing.B) {
	d := DesiredFrom(bigConfig(1000, 10))
	dir := b.TempDir()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		k := newBenchKernel()
		o := Options{StateDir: filepath.Join(dir, strconv.Itoa(i)), Kernel: k}
		if _, err := Converge(context.Background(), d, o); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := Stop(context.Background(), o)
		if err != nil || len(res.Changes) != 1001 || len(k.svcs) != 0 {
			b.Fatalf("stop: %d changes, %d services left, %v", len(res.Changes), len(k.svcs), err)
		}
	}
}

// BenchmarkStatus is lvs-rs status after a start of 1,000 services of 10
// real servers each: the record loaded and its desired state decoded, the
// kernel read with counters, the report built and its table rendered.
func BenchmarkStatus(b *testing.B) {
	_, o, _ := benchStart(b)
	b.ReportAllocs()
	for b.Loop() {
		rep, err := Status(context.Background(), nil, o)
		if err != nil || len(rep.Services) != 1000 || rep.Drifted() {
			b.Fatalf("status: %d services, drift %q, %v", len(rep.Services), rep.Drift, err)
		}
		if err := rep.WriteTable(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDaemonPass is a pass of the long-running director over 1,000
// services of 10 real servers: "noop" a full pass with nothing to do,
// "transition" a pass scoped to the one service whose real server changed
// weight (as a health transition makes it); each reading the record every
// pass, or keeping it between passes (Options.Records, as lvs-rs run does).
func BenchmarkDaemonPass(b *testing.B) {
	for _, cached := range []bool{false, true} {
		name := "read"
		if cached {
			name = "cached"
		}
		b.Run("noop/"+name, func(b *testing.B) {
			_, o, d := benchStart(b)
			if cached {
				o.Records = new(RecordCache)
			}
			b.ReportAllocs()
			for b.Loop() {
				if res, err := Converge(context.Background(), d, o); err != nil || len(res.Changes) != 0 {
					b.Fatalf("%d changes, %v", len(res.Changes), err)
				}
			}
		})
		b.Run("transition/"+name, func(b *testing.B) {
			_, o, d := benchStart(b)
			if cached {
				o.Records = new(RecordCache)
			}
			o.Services = []ipvs.ServiceKey{d.Services[500].Service.Key()}
			b.ReportAllocs()
			for b.Loop() {
				d.Services[500].Destinations[5].Weight ^= 2
				if res, err := Converge(context.Background(), d, o); err != nil || len(res.Changes) != 1 {
					b.Fatalf("%d changes, %v", len(res.Changes), err)
				}
			}
		})
	}
}
