package director

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/state"
)

// encode renders the record in one piece, as the file holds it (less
// the newline state.Store.Write adds).
func (r *record) encode() ([]byte, error) {
	parts, err := r.parts()
	if err != nil {
		return nil, err
	}
	return bytes.Join(parts, nil), nil
}

// TestSaveCopiesUnchangedServices checks that a save whose services are
// the ones the previous record was read with copies that record's bytes
// for them (a one-weight edit does not render 11,000 entries again), and
// renders them when they differ. The previous file spells its services
// with spaces, which rendering never writes, to tell a copy from a
// rendering.
func TestSaveCopiesUnchangedServices(t *testing.T) {
	svc := func(last byte) recordService {
		return recordService{
			ServiceKey:   ipvs.ServiceKey{Family: ipvs.Inet, Protocol: ipvs.TCP, Address: netip.MustParseAddr("10.0.0.1"), Port: 80},
			Destinations: []ipvs.DestinationKey{{Address: netip.AddrFrom4([4]byte{10, 0, 1, last}), Port: 80}},
		}
	}
	spaced := `[ {"family":"inet","protocol":"tcp","address":"10.0.0.1","port":80,"destinations":[{"address":"10.0.1.1","port":80}]} ]`
	file := []byte(`{"version":2,"desired":{"interface":"eth0"},"services":` + spaced + `}`)
	prev, ok := decodeRecordFast(file)
	if !ok {
		t.Fatalf("fast decoding refused %s", file)
	}
	for _, tc := range []struct {
		name     string
		services OwnedServices
		copied   bool
	}{
		{"same services", OwnedServices{svc(1)}, true},
		{"another destination", OwnedServices{svc(2)}, false},
		{"no services", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runner{store: state.Store{Dir: t.TempDir()}, keep: rawDesired([]byte(`{"interface":"eth1"}`))}
			saved, err := r.save(Owned{Services: tc.services}, prev)
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(r.store.Path(Role))
			if err != nil {
				t.Fatal(err)
			}
			if got := bytes.Contains(b, []byte(spaced)); got != tc.copied {
				t.Fatalf("services copied from the previous file: %v, want %v; saved:\n%s", got, tc.copied, b)
			}
			// What was saved reads back as what was meant, spaces or not.
			var back, want record
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			rendered := recordOf(r.keep, Owned{Services: tc.services})
			enc, err := rendered.encode()
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(enc, &want); err != nil {
				t.Fatal(err)
			}
			if !sameRecord(back, want) || !bytes.Equal(back.Desired, want.Desired) {
				t.Fatalf("saved\n%s\nrendered\n%s", b, enc)
			}
			// The record save returns knows its file's bytes for the
			// services, for a second save in the same pass.
			if len(tc.services) > 0 && !bytes.Contains(b, saved.servicesJSON) {
				t.Fatalf("saved record's services bytes %q are not in its file\n%s", saved.servicesJSON, b)
			}
		})
	}
}

// TestEditWritesWhatRenderingWould: after a one-weight edit, which saves
// the recorded desired state's unchanged prefix, the newly rendered rest
// and the recorded services' bytes as pieces, the record file is byte for
// byte the record rendered whole.
func TestEditWritesWhatRenderingWould(t *testing.T) {
	d := DesiredFrom(bigConfig(40, 3))
	k := newBenchKernel()
	o := Options{StateDir: t.TempDir(), Kernel: k}
	if _, err := Converge(context.Background(), d, o); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{20, 0, 39} {
		d.Services[i].Destinations[1].Weight += 3
		res, err := Converge(context.Background(), d, o)
		if err != nil || len(res.Changes) != 1 {
			t.Fatalf("edit of service %d: %v, %v", i, res.Changes, err)
		}
		b, err := os.ReadFile(state.Store{Dir: o.StateDir}.Path(Role))
		if err != nil {
			t.Fatal(err)
		}
		rec, _, err := loadRecord(state.Store{Dir: o.StateDir})
		if err != nil {
			t.Fatal(err)
		}
		enc, err := encodeDesired(&d)
		if err != nil {
			t.Fatal(err)
		}
		whole := recordOf(enc, rec.owned())
		want, err := whole.encode()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, append(want, '\n')) {
			t.Fatalf("edit of service %d: the file differs from the record rendered whole", i)
		}
	}
}

// TestDesiredEncEqual: two encodings are equal when their bytes are,
// however each is split into head and rest.
func TestDesiredEncEqual(t *testing.T) {
	const s = `{"interface":"eth0","services":[]}`
	split := func(b string, at int) desiredEnc { return desiredEnc{head: []byte(b[:at]), rest: []byte(b[at:])} }
	for i := 0; i <= len(s); i++ {
		for j := 0; j <= len(s); j++ {
			if !split(s, i).equal(split(s, j)) {
				t.Fatalf("split at %d and %d: not equal", i, j)
			}
			other := []byte(s)
			other[j%len(s)] ^= 1
			if split(s, i).equal(split(string(other), j)) {
				t.Fatalf("split at %d against byte %d changed, split at %d: equal", i, j%len(s), j)
			}
		}
		if split(s, i).equal(rawDesired([]byte(s[:len(s)-1]))) || split(s, i).equal(rawDesired([]byte(s+" "))) {
			t.Fatalf("split at %d: equal to a shorter or longer encoding", i)
		}
	}
}
