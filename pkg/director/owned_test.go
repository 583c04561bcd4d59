package director

import (
	"bytes"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// TestOwnedFromUnsortedRecord: a record not in recordOf's order (written
// by hand, or twice listing a service) still gives a set whose services
// and destinations are found, and which saves sorted.
func TestOwnedFromUnsortedRecord(t *testing.T) {
	a, b := svcKey(80), svcKey(81)
	d1, d2, d3 := dstKey(rs1, 80), dstKey(rs2, 80), dstKey(rs3, 80)
	r := record{Version: recordVersion, Services: []recordService{
		{ServiceKey: b, Destinations: []ipvs.DestinationKey{d3, d1}},
		{ServiceKey: a, Destinations: []ipvs.DestinationKey{d2}},
		{ServiceKey: b, Destinations: []ipvs.DestinationKey{d2, d1}},
	}}
	o := r.owned()
	for _, k := range []ipvs.ServiceKey{a, b} {
		if !o.Services.has(k) {
			t.Fatalf("service %v not found in %v", k, o.Services)
		}
	}
	if ds, _ := o.Services.dests(b); !ds.has(d1) || !ds.has(d2) || !ds.has(d3) {
		t.Fatalf("destinations of %v: %v", b, ds)
	}
	want := []recordService{
		{ServiceKey: a, Destinations: []ipvs.DestinationKey{d2}},
		{ServiceKey: b, Destinations: []ipvs.DestinationKey{d1, d2, d3}},
	}
	if diff := cmp.Diff(want, recordOf(desiredEnc{}, o).Services, cmpOpts); diff != "" {
		t.Fatalf("saved (-want +got):\n%s", diff)
	}
}

// TestIntentsTakeServices: intents adds the services a plan creates and
// the destinations it adds or edits in services lvs-rs owns or creates,
// sorted, without modifying the set it started from.
func TestIntentsTakeServices(t *testing.T) {
	a, b, c := svc(80), svc(81), svc(82)
	d1, d2, d3 := dst(rs1, 80, 0, 0), dst(rs2, 80, 0, 0), dst(rs3, 80, 0, 0)
	o := Owned{Services: ownedOf(map[ipvs.ServiceKey]map[ipvs.DestinationKey]bool{b.Key(): {d2.Key(): true}})}
	before := recordOf(desiredEnc{}, o)
	changes := []Change{
		{Kind: AddService, Service: c}, {Kind: AddDestination, Service: c, Destination: d3}, {Kind: AddDestination, Service: c, Destination: d1},
		{Kind: AddDestination, Service: b, Destination: d3},
		{Kind: AddDestination, Service: a, Destination: d1}, // a is not lvs-rs's
		{Kind: EditDestination, Service: b, Destination: d1},
		{Kind: EditDestination, Service: b, Destination: d2},
	}
	got := intents(o, changes).Services
	want := ownedOf(map[ipvs.ServiceKey]map[ipvs.DestinationKey]bool{
		b.Key(): {d1.Key(): true, d2.Key(): true, d3.Key(): true},
		c.Key(): {d1.Key(): true, d3.Key(): true},
	})
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Fatalf("intents (-want +got):\n%s", diff)
	}
	if !sameRecord(before, recordOf(desiredEnc{}, o)) {
		t.Fatalf("intents modified the set it started from: %v", o.Services)
	}
}

// TestSameDesired: a desired state matches its own encoding only, whatever
// part of it differs (a service early or late, the end).
func TestSameDesired(t *testing.T) {
	d := DesiredFrom(bigConfig(40, 3))
	e0, err := encodeDesired(&d)
	if err != nil {
		t.Fatal(err)
	}
	enc := e0.bytes()
	if !sameDesired(&d, enc) {
		t.Fatal("a desired state differs from its own encoding")
	}
	for name, b := range map[string][]byte{
		"longer":  append(slices.Clone(enc), ' '),
		"shorter": enc[:len(enc)-1],
		"empty":   nil,
	} {
		if sameDesired(&d, b) {
			t.Errorf("%s: same", name)
		}
	}
	for _, i := range []int{0, 39} {
		e := DesiredFrom(bigConfig(40, 3))
		e.Services[i].Destinations[2].Weight++
		if sameDesired(&e, enc) {
			t.Errorf("weight of service %d changed: same", i)
		}
	}
	e := DesiredFrom(bigConfig(40, 3))
	e.Interface = "eth1"
	if sameDesired(&e, enc) {
		t.Error("interface changed: same")
	}
}

// TestSettleKeepsWhatIsUnchanged: settle returns the services as intended
// up to the first that differs, and the rest read back, in order.
func TestSettleKeepsWhatIsUnchanged(t *testing.T) {
	d1, d2 := dst(rs1, 80, ipvs.Route, 1), dst(rs2, 80, ipvs.Route, 1)
	m := map[ipvs.ServiceKey]map[ipvs.DestinationKey]bool{}
	after := Observed{Services: map[ipvs.ServiceKey]ObservedService{}}
	for p := uint16(80); p < 84; p++ {
		s := svc(p)
		m[s.Key()] = map[ipvs.DestinationKey]bool{d1.Key(): true, d2.Key(): true}
		os := ObservedService{ServiceExtended: ipvs.ServiceExtended{Service: s}}
		for _, d := range []ipvs.Destination{d2, d1} {
			if p != 82 || d != d2 { // 82 lost d2
				os.Destinations = append(os.Destinations, d)
			}
		}
		if p != 83 { // 83 is gone
			after.Services[s.Key()] = os
		}
	}
	intended := Owned{Services: ownedOf(m)}
	before := recordOf(desiredEnc{}, intended)
	got := settle(intended, after, Desired{}, nil, nil).Services
	delete(m, svcKey(83))
	delete(m[svcKey(82)], d2.Key())
	if diff := cmp.Diff(ownedOf(m), got, cmpOpts); diff != "" {
		t.Fatalf("settled (-want +got):\n%s", diff)
	}
	if !sameRecord(before, recordOf(desiredEnc{}, intended)) {
		t.Fatal("settle modified the intended set")
	}
	if same := settle(intended, after, Desired{}, nil, nil); len(same.Services) != 3 {
		t.Fatalf("settled %d services, want 3", len(same.Services))
	}
}

// TestEncodeDesiredAgainst: the encoding made against a recorded one is
// encodeDesired's, byte for byte, wherever the two states differ; it is
// the recorded slice itself only when nothing does.
func TestEncodeDesiredAgainst(t *testing.T) {
	d := DesiredFrom(bigConfig(40, 3))
	e0, err := encodeDesired(&d)
	if err != nil {
		t.Fatal(err)
	}
	enc := e0.bytes()
	got, same, err := encodeDesiredAgainst(&d, enc)
	if err != nil || !same || len(got.rest) != 0 || &got.head[0] != &enc[0] {
		t.Fatalf("unchanged state: same %v, err %v, recorded slice reused %v", same, err, err == nil && &got.head[0] == &enc[0])
	}
	edits := map[string]func(*Desired){
		"first service":  func(e *Desired) { e.Services[0].Destinations[2].Weight++ },
		"middle service": func(e *Desired) { e.Services[20].Destinations[0].Weight++ },
		"last service":   func(e *Desired) { e.Services[39].Destinations[1].Weight++ },
		"interface":      func(e *Desired) { e.Interface = "eth1" },
		"one service less": func(e *Desired) {
			e.Services = e.Services[:39]
		},
		"no services": func(e *Desired) { e.Services = nil },
	}
	for name, edit := range edits {
		e := DesiredFrom(bigConfig(40, 3))
		edit(&e)
		w, err := encodeDesired(&e)
		if err != nil {
			t.Fatal(err)
		}
		want := w.bytes()
		for what, rec := range map[string][]byte{"recorded": enc, "empty": nil, "cut short": enc[:len(enc)/2]} {
			got, same, err := encodeDesiredAgainst(&e, rec)
			if err != nil || same || !bytes.Equal(got.bytes(), want) || !got.equal(rawDesired(want)) {
				t.Errorf("%s, against %s: same %v, err %v, equal to encodeDesired %v", name, what, same, err, bytes.Equal(got.bytes(), want))
			}
			// The unchanged prefix is the recorded bytes, not a copy.
			if len(got.head) > 0 && &got.head[0] != &rec[0] {
				t.Errorf("%s, against %s: the head is a copy", name, what)
			}
		}
	}
	// A longer state than recorded: every recorded byte matches, the rest
	// is new.
	e := DesiredFrom(bigConfig(41, 3))
	w, _ := encodeDesired(&e)
	want := w.bytes()
	if got, same, err := encodeDesiredAgainst(&e, enc); err != nil || same || !bytes.Equal(got.bytes(), want) {
		t.Errorf("one service more: same %v, err %v, equal %v", same, err, bytes.Equal(got.bytes(), want))
	} else if len(got.head) != len(enc)-2 {
		// Every recorded byte but the closing "]}" matches.
		t.Errorf("one service more: head of %d bytes, want %d", len(got.head), len(enc)-2)
	}
}
