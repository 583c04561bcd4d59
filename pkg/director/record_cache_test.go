package director

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/state"
)

// cachedPass converges d with the cache, scoped to scope when it is set.
func (b *memBed) cachedPass(c *RecordCache, d Desired, scope ...ipvs.ServiceKey) {
	b.t.Helper()
	o := b.opts()
	o.Records, o.Services = c, scope
	if _, err := Converge(context.Background(), d, o); err != nil {
		b.t.Fatal(err)
	}
}

// sameAsFile fails unless c holds exactly what the record file holds:
// the same bytes once encoded, and the same ownership.
func (b *memBed) sameAsFile(c *RecordCache, step string) {
	b.t.Helper()
	file, err := os.ReadFile(state.Store{Dir: b.dir}.Path(Role))
	if err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
	if !c.held {
		b.t.Fatalf("%s: the cache holds nothing after a pass that saved", step)
	}
	kept := c.rec
	parts, err := kept.parts()
	if err != nil {
		b.t.Fatal(err)
	}
	if enc := append(bytes.Join(parts, nil), '\n'); !bytes.Equal(enc, file) {
		b.t.Fatalf("%s: the cached record encodes as\n%s\nthe file holds\n%s", step, enc, file)
	}
	onDisk, _ := b.record()
	if diff := cmp.Diff(onDisk.owned(), c.rec.owned(), cmpOpts); diff != "" {
		b.t.Fatalf("%s: cached ownership differs from the file's (-file +cache):\n%s", step, diff)
	}
}

// TestRecordCacheFollowsTheFile replays configurations in random order,
// full and scoped passes, and checks after each that the cache holds what
// the file does; stop forgets it.
func TestRecordCacheFollowsTheFile(t *testing.T) {
	heavier := twoServices()
	heavier.VirtualServers[1].RealServers[0].Weight = 7
	fewer := twoServices()
	fewer.VirtualServers[1].RealServers = fewer.VirtualServers[1].RealServers[:1]
	// Three services, the middle one edited: the services after the
	// first difference are copied from the recorded bytes (desiredIndex).
	three := func(w int) *config.Config {
		c := twoServices()
		last := c.VirtualServers[1]
		last.Port, last.RealServers = 8443, slices.Clone(last.RealServers)
		c.VirtualServers = append(c.VirtualServers, last)
		c.VirtualServers[1].RealServers = slices.Clone(c.VirtualServers[1].RealServers)
		c.VirtualServers[1].RealServers[1].Weight = w
		return c
	}
	configs := map[string]*config.Config{"web": web(), "two": twoServices(), "heavier": heavier, "fewer": fewer,
		"three": three(2), "three-edited": three(5)}
	names := []string{"web", "two", "heavier", "fewer", "three", "three-edited"}
	for seed := range uint64(20) {
		b := newMemBed(t)
		c := new(RecordCache)
		r := rand.New(rand.NewPCG(seed, 1))
		for i := range 8 {
			name := names[r.IntN(len(names))]
			d := DesiredFrom(configs[name])
			var scope []ipvs.ServiceKey
			if i > 0 && r.IntN(2) == 0 {
				scope = []ipvs.ServiceKey{d.Services[r.IntN(len(d.Services))].Service.Key()}
			}
			b.cachedPass(c, d, scope...)
			b.sameAsFile(c, name)
		}
		o := b.opts()
		o.Records = c
		if _, err := Stop(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		if c.held {
			t.Fatal("the cache still holds a record after stop removed it")
		}
	}
}

// TestRecordCacheSkipsAnUnchangedFile: a pass whose record file is the one
// the last pass wrote does not read it. The file is overwritten in place
// with the same size and modification time (which lvs-rs never does), so
// a pass that read it would refuse it as damaged.
func TestRecordCacheSkipsAnUnchangedFile(t *testing.T) {
	b := newMemBed(t)
	c := new(RecordCache)
	d := DesiredFrom(web())
	b.cachedPass(c, d)
	path := state.Store{Dir: b.dir}.Path(Role)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(bytes.Repeat([]byte{'x'}, int(fi.Size()))); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if _, err := Converge(context.Background(), d, b.opts()); !errors.Is(err, state.ErrCorrupt) {
		t.Fatalf("a pass without the cache: %v, want the damaged record refused", err)
	}
	b.cachedPass(c, d) // fails the test if it read the file
}

// TestRecordCacheSeesOtherWriters: a start run between two passes of the
// daemon (another process, without the cache) records a service; the
// daemon's next pass reads that record, so it removes the service, which
// its configuration no longer names, instead of leaving it as foreign.
// Then a stop between two passes: the next pass starts from no record.
func TestRecordCacheSeesOtherWriters(t *testing.T) {
	b := newMemBed(t)
	c := new(RecordCache)
	d := DesiredFrom(web())
	b.cachedPass(c, d)
	if _, err := Start(context.Background(), twoServices(), b.opts()); err != nil {
		t.Fatal(err)
	}
	second := DesiredFrom(twoServices()).Services[1].Service.Key()
	if b.k.find(second) < 0 {
		t.Fatal("the other start did not create the second service")
	}
	b.cachedPass(c, d)
	if b.k.find(second) >= 0 {
		t.Fatalf("the daemon's pass left %v, which the record written by the other start lists", second)
	}
	b.sameAsFile(c, "after another start")

	if _, err := Stop(context.Background(), b.opts()); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.record(); ok {
		t.Fatal("stop left a record")
	}
	// A service like web's, made by someone else after the stop: the next
	// pass must find it foreign (no record), not take it over as its own.
	b.k.services = append(b.k.services, ipvs.ServiceExtended{Service: d.Services[0].Service})
	o := b.opts()
	o.Records = c
	if _, err := Converge(context.Background(), d, o); !errors.Is(err, ErrForeignService) {
		t.Fatalf("pass after another stop: %v, want %v", err, ErrForeignService)
	}
}
