package director

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// mhWeb is web() under mh (mh-port, mh-fallback) with a third real
// server, and weights 2, 3 and 1.
func mhWeb() *config.Config {
	cfg := web()
	vs := &cfg.VirtualServers[0]
	vs.Scheduler = "mh"
	vs.SchedulerFlags = []config.SchedulerFlag{config.FlagMHPort, config.FlagMHFallback}
	vs.RealServers = append(vs.RealServers, config.RealServer{Address: rs3, Port: 80, Weight: 1, Mode: config.ModeDR})
	for i, w := range []int{2, 3, 1} {
		vs.RealServers[i].Weight = w
	}
	return cfg
}

// quiesced is d with the real server at address a of its first service at
// weight 0, as the long-running director asks when it fails its check;
// with last, it carries its configured weight as its last weight (what
// lvs-rs run's overlay gives an mh service).
func quiesced(d Desired, j int, last bool) Desired {
	d.Services = slices.Clone(d.Services)
	ds := &d.Services[0]
	ds.Destinations = slices.Clone(ds.Destinations)
	x := &ds.Destinations[j]
	if last {
		ds.LastWeights = []LastWeight{{Address: x.Address, Port: x.Port, Weight: x.Weight}}
	}
	x.Weight = 0
	return d
}

// lastWeights are the kernel's last weights of the real servers of k.
func (f *fakeKernel) lastWeights(k ipvs.ServiceKey) map[ipvs.DestinationKey]uint32 {
	out := map[ipvs.DestinationKey]uint32{}
	for _, d := range f.dests[k] {
		out[d.Key()] = f.last[k][d.Key()]
	}
	return out
}

// TestMHTableSameWhateverWasSeen: two directors with the same file build
// the same mh lookup table whether a real server failed after they added
// it (d1: quiesced, its last weight kept) or was down, or not checked
// yet, when they started (d2): d2 adds it at its configured weight and
// sets it to 0 right after, in the same batch. The same holds when it is
// added again after being deleted by hand while down (drift repair), and
// for a new service. A service of another scheduler is added at weight 0
// as before.
func TestMHTableSameWhateverWasSeen(t *testing.T) {
	ctx := context.Background()
	up := DesiredFrom(mhWeb())
	k := up.Services[0].Service.Key()
	rs := up.Services[0].Destinations[1] // rs2, weight 3
	down := quiesced(up, 1, true)

	d1 := newMemBed(t)
	for _, d := range []Desired{up, down} {
		if _, err := Converge(ctx, d, d1.opts()); err != nil {
			t.Fatal(err)
		}
	}
	want := d1.k.mhTable(k)
	if !slices.Contains(want, rs.Key()) {
		t.Fatalf("d1's table leaves out %v, quiesced after it served: the model is wrong", rs.Key())
	}

	d2 := newMemBed(t)
	res, err := Converge(ctx, down, d2.opts())
	if err != nil {
		t.Fatal(err)
	}
	check := func(step string, b *memBed) {
		t.Helper()
		if w := b.k.weightsOf(k)[rs.Address]; w != 0 {
			t.Fatalf("%s: %v has weight %d in the kernel, want 0 (down)", step, rs.Key(), w)
		}
		if lw := b.k.lastWeights(k)[rs.Key()]; lw != 3 {
			t.Fatalf("%s: %v's last weight is %d, want its configured 3 (last weights %v)", step, rs.Key(), lw, b.k.lastWeights(k))
		}
		if diff := cmp.Diff(want, b.k.mhTable(k), cmpOpts); diff != "" {
			t.Fatalf("%s: the mh table differs from the one of a director that saw %v up (-d1 +d2):\n%s", step, rs.Key(), diff)
		}
	}
	check("a director started while it is down", d2)
	// The addition and the edit are consecutive, in that order.
	var kinds []string
	for _, c := range res.Changes {
		if c.Destination.Key() == rs.Key() {
			kinds = append(kinds, fmt.Sprintf("%s %d", c.Kind, c.Destination.Weight))
		}
	}
	if !slices.Equal(kinds, []string{"add-destination 3", "edit-destination 0"}) {
		t.Fatalf("changes of %v: %v, want its addition at 3 then its edit to 0", rs.Key(), kinds)
	}
	if st, err := Status(ctx, nil, d2.opts()); err != nil || len(st.Drift) != 0 {
		t.Fatalf("status after the pass: drift %q, error %v; want none", st.Drift, err)
	}

	// Deleted by hand while down: added again the same way. (Its place
	// in the list changes, as with any addition: the table may differ
	// from d1's, but rs2 is in it.)
	d2.k.dests[k] = slices.DeleteFunc(d2.k.dests[k], func(d ipvs.DestinationExtended) bool { return d.Key() == rs.Key() })
	delete(d2.k.last[k], rs.Key())
	if st, err := Status(ctx, nil, d2.opts()); err != nil || len(st.Drift) != 1 {
		t.Fatalf("status with %v deleted by hand: drift %q, error %v; want one line, that it is missing", rs.Key(), st.Drift, err)
	}
	if _, err := Converge(ctx, down, d2.opts()); err != nil {
		t.Fatal(err)
	}
	if lw := d2.k.lastWeights(k)[rs.Key()]; lw != 3 || d2.k.weightsOf(k)[rs.Address] != 0 || !slices.Contains(d2.k.mhTable(k), rs.Key()) {
		t.Fatalf("added again while down: weight %d, last weight %d; want 0 and 3, in the table", d2.k.weightsOf(k)[rs.Address], lw)
	}

	// Another scheduler: added at weight 0, nothing else.
	wrr := quiesced(DesiredFrom(web()), 1, true)
	d3 := newMemBed(t)
	if res, err := Converge(ctx, wrr, d3.opts()); err != nil || slices.ContainsFunc(res.Changes, func(c Change) bool { return c.Kind == EditDestination }) {
		t.Fatalf("a wrr service: %v, changes %v; want additions alone", err, res.Changes)
	}
	if lw := d3.k.lastWeights(wrr.Services[0].Service.Key())[dstKey(rs2, 80)]; lw != 0 {
		t.Fatalf("a wrr real server down: last weight %d, want 0 (added at 0)", lw)
	}
}

// TestMHQuiescedAdditionInterruptedAtEveryWrite: a director starting with
// an mh real server down (added at its last weight, then set to 0) killed
// as each write of that pass begins, or with that write refused: the next
// pass gives it its last weight, killed or refused, and the table of a
// director that saw the real server up after a kill, and stop leaves the kernel as it was, with no record: the intentions
// saved before the first write cover the addition, and a real server left
// at its last weight by a missing edit is edited to 0 by the next pass.
func TestMHQuiescedAdditionInterruptedAtEveryWrite(t *testing.T) {
	ctx := context.Background()
	up := DesiredFrom(mhWeb())
	k := up.Services[0].Service.Key()
	down := quiesced(up, 1, true)
	ref := newMemBed(t)
	for _, d := range []Desired{up, down} {
		if _, err := Converge(ctx, d, ref.opts()); err != nil {
			t.Fatal(err)
		}
	}
	want := ref.k.mhTable(k)
	probe := newMemBed(t)
	if _, err := Converge(ctx, down, probe.opts()); err != nil {
		t.Fatal(err)
	}
	writes := probe.k.writes
	for n := 1; n <= writes; n++ {
		for _, crash := range []bool{true, false} {
			name := fmt.Sprintf("write %d of %d %s", n, writes, map[bool]string{true: "killed", false: "refused"}[crash])
			b := newMemBed(t)
			before := b.k.snapshot()
			if crash {
				b.k.crashBefore = n
				if !crashing(func() { Converge(ctx, down, b.opts()) }) {
					t.Fatalf("%s: the pass did not reach the write", name)
				}
				b.k.crashBefore = 0
			} else {
				b.k.failAt = n
				_, err := Converge(ctx, down, b.opts())
				b.k.failAt = 0
				if !errors.Is(err, unix.EPERM) {
					t.Fatalf("%s: the pass = %v, want the refusal (EPERM)", name, err)
				}
			}
			if _, err := Converge(ctx, down, b.opts()); err != nil {
				t.Fatalf("%s: the next pass: %v", name, err)
			}
			if w := b.k.weightsOf(k)[rs2]; w != 0 {
				t.Fatalf("%s: rs2 has weight %d after the next pass, want 0", name, w)
			}
			if lw := b.k.lastWeights(k)[dstKey(rs2, 80)]; lw != 3 {
				t.Fatalf("%s: rs2's last weight is %d after the next pass, want 3", name, lw)
			}
			// A refused addition of another real server, which the next
			// pass makes, puts that one elsewhere in the kernel's list
			// (as any addition out of order does): only a kill keeps the
			// order, and with it the whole table.
			if diff := cmp.Diff(want, b.k.mhTable(k), cmpOpts); crash && diff != "" {
				t.Fatalf("%s: the table after the next pass differs from a director's that saw rs2 up (-want +got):\n%s", name, diff)
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

// TestLastWeightsRecorded: the last weights are kept in the state record
// (Recorded, status) and read back the same by the fast decoder and by
// encoding/json; a record without them reads as before.
func TestLastWeightsRecorded(t *testing.T) {
	ctx := context.Background()
	down := quiesced(DesiredFrom(mhWeb()), 1, true)
	b := newMemBed(t)
	if _, err := Converge(ctx, down, b.opts()); err != nil {
		t.Fatal(err)
	}
	got, err := Recorded(b.opts())
	if err != nil || got == nil {
		t.Fatalf("Recorded: %v, %v", got, err)
	}
	if diff := cmp.Diff(down.Services[0].LastWeights, got.Services[0].LastWeights, cmpOpts); diff != "" {
		t.Fatalf("recorded last weights (-want +got):\n%s", diff)
	}
	r, _ := b.record()
	if !checkDesiredDecode(t, r.Desired) {
		t.Fatal("the fast decoder did not read the record's desired state")
	}
}
