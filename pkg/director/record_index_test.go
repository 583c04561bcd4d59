package director

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// changeDesired changes d in place (as a caller may between two passes)
// in one of several ways, and says how.
func changeDesired(r *rand.Rand, d *Desired) string {
	n := len(d.Services)
	i := r.IntN(max(n, 1))
	switch k := r.IntN(9); {
	case n == 0 || k == 0:
		return "nothing"
	case k == 1 && len(d.Services[i].Destinations) > 0:
		d.Services[i].Destinations[0].Weight ^= 1 + uint32(r.IntN(5)) // in place
		return "a weight"
	case k == 2:
		o := randDesired(r, false)
		if len(o.Services) > 0 {
			d.Services[i] = o.Services[0]
		}
		return "a service replaced"
	case k == 3 && len(d.Services[i].Destinations) > 0:
		d.Services[i].Destinations = d.Services[i].Destinations[1:]
		return "a real server removed"
	case k == 4:
		d.VIPs = append(slices.Clip(d.VIPs), randAddr(r))
		return "a VIP added"
	case k == 5:
		if d.Announce == nil {
			d.Announce = &Announce{Table: 7, Protocol: 250}
		} else {
			a := *d.Announce
			a.VIPs = nil
			d.Announce = &a
		}
		return "the announced VIPs"
	case k == 6:
		d.Services = append(slices.Clip(d.Services), randDesired(r, false).Services...)
		return "services added"
	case k == 7:
		for j := range d.Services { // every weight, in place
			for m := range d.Services[j].Destinations {
				d.Services[j].Destinations[m].Weight++
			}
		}
		return "every weight"
	}
	return "nothing"
}

// TestEncodeDesiredIndexed: over chains of random desired states, each
// changed in place from the one before, encoding against the index of the
// one before gives encodeDesired's bytes exactly, reports same exactly
// when they are the recorded ones, and leaves the index a fresh encoding
// gives; an index that does not fit (another number of services, another
// head) is refused, not used.
func TestEncodeDesiredIndexed(t *testing.T) {
	used := 0
	for seed := range 400 {
		r := rand.New(rand.NewPCG(uint64(seed), 11))
		d := randDesired(r, false)
		enc, x := freshIndexed(t, &d)
		for step := range 10 {
			how := changeDesired(r, &d)
			want, err := encodeDesired(&d)
			if err != nil {
				t.Fatal(err)
			}
			_, fx := freshIndexed(t, &d)
			var ends []int // the index as a render against enc makes it
			if _, _, err := encodeDesiredAgainstIndexing(&d, enc, &ends); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(fx, indexDesired(&d, ends), cmpIndex); diff != "" {
				t.Fatalf("seed %d step %d (%s): index rendering against the record (-fresh +against):\n%s", seed, step, how, diff)
			}
			got, same, next, ok := encodeDesiredIndexed(&d, enc, x)
			if !ok {
				fits := x != nil && len(d.Services) > 0 && len(d.Services) == len(x.services) && bytes.Equal(headOf(t, &d), enc[:x.start])
				if fits {
					t.Fatalf("seed %d step %d (%s): the index was refused though it fits", seed, step, how)
				}
				enc, x = freshIndexed(t, &d)
				continue
			}
			used++
			if !bytes.Equal(got.bytes(), want.bytes()) {
				t.Fatalf("seed %d step %d (%s): indexed encoding\n%s\nwant\n%s", seed, step, how, got.bytes(), want.bytes())
			}
			if same != bytes.Equal(enc, want.bytes()) {
				t.Fatalf("seed %d step %d (%s): same %v", seed, step, how, same)
			}
			if diff := cmp.Diff(fx, next, cmpIndex); diff != "" {
				t.Fatalf("seed %d step %d (%s): index (-fresh +indexed):\n%s", seed, step, how, diff)
			}
			enc, x = got.bytes(), next
		}
	}
	t.Logf("the index was used in %d of 4,000 steps", used)
	if used < 1000 {
		t.Errorf("the index was used %d times in 4,000 steps", used)
	}
}

var cmpIndex = cmp.Options{cmp.AllowUnexported(desiredIndex{}), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })}

// freshIndexed encodes d from scratch, with its index.
func freshIndexed(t *testing.T, d *Desired) ([]byte, *desiredIndex) {
	t.Helper()
	var ends []int
	enc, err := encodeDesiredIndexing(d, &ends)
	if err != nil {
		t.Fatal(err)
	}
	return enc.bytes(), indexDesired(d, ends)
}

func headOf(t *testing.T, d *Desired) []byte {
	t.Helper()
	b, err := appendDesiredHead(nil, d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
