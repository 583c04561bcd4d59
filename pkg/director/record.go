package director

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"reflect"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/state"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
)

// recordVersion is the state record's format version. Version 1 held the
// configuration instead of Desired; its ownership lists are read as they
// are.
const recordVersion = 2

// changingVersion is the version of a record that holds a change under
// way (Owned.changing): a sysctl or timeout with the value it replaces
// (was), a table announced in before (past_announce_routes), two sync
// daemons of one state. Version 2 with those: an lvs-rs that reads only
// version 2 would ignore them and misread the record (leave the prior
// value, the old table's routes, the old daemon), so it refuses this one
// instead. It is written only while such a change is recorded.
const changingVersion = 3

// record is the director's state file: the desired state of the last
// start and everything lvs-rs created or changed (or, while a run is under
// way, is about to create: see intents). It is one line of compact JSON.
//
// Desired is kept encoded: start and stop never need it decoded (start
// writes its own, stop writes back the one it read), and decoding it is
// most of the cost of reading a large record; status decodes it (see
// desired).
type record struct {
	Version   int             `json:"version"`
	Desired   json.RawMessage `json:"desired,omitempty"`
	Addresses []recordAddr    `json:"addresses,omitempty"`
	Sysctls   []sysctl.Record `json:"sysctls,omitempty"`
	Timeouts  []TimeoutRecord `json:"timeouts,omitempty"`
	Daemons   []ipvs.Daemon   `json:"sync_daemons,omitempty"`
	Routes    *RouteTable     `json:"announce_routes,omitempty"` // every route of this table and protocol
	// PastRoutes are tables announced in before Routes whose routes may
	// remain: every route of each is lvs-rs's too.
	PastRoutes []RouteTable    `json:"past_announce_routes,omitempty"`
	NFTable    string          `json:"nftables_table,omitempty"` // nftmark.TableName when lvs-rs's
	Services   []recordService `json:"services,omitempty"`

	// desiredRest, when set, follows Desired in the desired state's
	// encoding (see desiredEnc): Desired is then the recorded encoding's
	// unchanged prefix. Only records about to be saved have one.
	desiredRest []byte

	// servicesJSON is Services encoded, as read from the file or last
	// written: a save whose services are the same copies these bytes
	// instead of rendering 11,000 entries again (see reuseServices).
	servicesJSON []byte
}

// desiredEnc is a desired state's encoding for a record: head, then
// rest. A start whose desired state differs from the recorded one keeps
// the recorded encoding's unchanged prefix as head, not copied, and
// renders only what follows into rest (see encodeDesiredAgainst); the
// record file is written from both pieces.
type desiredEnc struct {
	head, rest []byte
}

// rawDesired is the encoding b, whole.
func rawDesired(b []byte) desiredEnc { return desiredEnc{head: b} }

// bytes returns the encoding in one piece (a copy only when it has two).
func (e desiredEnc) bytes() []byte {
	if len(e.rest) == 0 {
		return e.head
	}
	return append(append(make([]byte, 0, len(e.head)+len(e.rest)), e.head...), e.rest...)
}

// equal reports whether e and o encode the same bytes, compared piece
// against piece: neither is joined (a start's two saves compare the same
// 1 MB encoding, split the same way, with itself).
func (e desiredEnc) equal(o desiredEnc) bool {
	if len(e.head)+len(e.rest) != len(o.head)+len(o.rest) {
		return false
	}
	x, y := [2][]byte{e.head, e.rest}, [2][]byte{o.head, o.rest}
	for i, j := 0, 0; i < 2 && j < 2; {
		n := min(len(x[i]), len(y[j]))
		if !bytes.Equal(x[i][:n], y[j][:n]) {
			return false
		}
		x[i], y[j] = x[i][n:], y[j][n:]
		if len(x[i]) == 0 {
			i++
		}
		if len(y[j]) == 0 {
			j++
		}
	}
	return true
}

// encodeDesired renders d for a record; empty for nil. The bytes are
// json.Marshal's (see appendDesired).
func encodeDesired(d *Desired) (desiredEnc, error) {
	return encodeDesiredIndexing(d, nil)
}

// encodeDesiredIndexing is encodeDesired; a non-nil ends gets where each
// service's bytes end in the encoding (see desiredIndex).
func encodeDesiredIndexing(d *Desired, ends *[]int) (desiredEnc, error) {
	if d == nil {
		return desiredEnc{}, nil
	}
	var flush func([]byte) ([]byte, bool)
	if ends != nil {
		flush = func(b []byte) ([]byte, bool) {
			*ends = append(*ends, len(b))
			return b, true
		}
	}
	b, err := appendDesired(make([]byte, 0, desiredSize(d)), d, flush)
	if err != nil {
		return desiredEnc{}, fmt.Errorf("director: encode the desired state: %w", err)
	}
	return rawDesired(b), nil
}

// encodeDesiredAgainst renders d for a record, as encodeDesired would,
// given enc, the encoding recorded last time: it renders a service at a
// time into a small buffer and compares as it goes. While every byte
// matches it keeps nothing, and when all do it returns enc itself and
// same (a start of the recorded state makes no second copy). At the first
// difference the new encoding's head is enc's matching prefix, not
// copied, and the rest is rendered into a buffer of its own.
func encodeDesiredAgainst(d *Desired, enc []byte) (out desiredEnc, same bool, err error) {
	return encodeDesiredAgainstIndexing(d, enc, nil)
}

// encodeDesiredAgainstIndexing is encodeDesiredAgainst; a non-nil ends
// gets where each service's bytes end in the new encoding (see
// desiredIndex).
func encodeDesiredAgainstIndexing(d *Desired, enc []byte, ends *[]int) (out desiredEnc, same bool, err error) {
	off := 0
	diverged := false
	flush := func(b []byte) ([]byte, bool) {
		switch {
		case diverged: // b is the new encoding's rest, growing
		case bytes.HasPrefix(enc[off:], b):
			off += len(b)
			b = b[:0]
		default:
			diverged = true
			// The rest of the recorded encoding sizes the rest of the new one.
			b = append(make([]byte, 0, max(len(enc)-off, 4096)+len(b)), b...)
		}
		if ends != nil { // the new encoding is enc[:off], then b
			*ends = append(*ends, off+len(b))
		}
		return b, true
	}
	b, err := appendDesired(make([]byte, 0, 4096), d, flush)
	if err != nil {
		return desiredEnc{}, false, fmt.Errorf("director: encode the desired state: %w", err)
	}
	if !diverged && bytes.Equal(enc[off:], b) {
		return rawDesired(enc), true, nil
	}
	return desiredEnc{head: enc[:off:off], rest: b}, false, nil
}

// desiredSize is room for d's encoding, sized for IPv4 (a service takes
// about 120 bytes, a destination 90): an encoding of 11,000 objects is
// not grown and copied.
func desiredSize(d *Desired) int {
	n := 64
	for i := range d.Services {
		n += 128 + 96*len(d.Services[i].Destinations)
	}
	return n
}

// sameDesired reports whether d encodes to enc (as encodeDesired would
// render it).
func sameDesired(d *Desired, enc []byte) bool {
	_, same, err := encodeDesiredAgainst(d, enc)
	return err == nil && same
}

// desired decodes the record's desired state; nil when it has none.
func (r record) desired() (*Desired, error) {
	raw := r.desiredEnc().bytes()
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if d, ok := decodeDesiredFast(raw); ok {
		return &d, nil
	}
	var d Desired
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// desiredEnc is the record's desired state, encoded.
func (r record) desiredEnc() desiredEnc { return desiredEnc{head: r.Desired, rest: r.desiredRest} }

// parts renders the record as compact JSON, as json.Marshal would with
// Desired, already encoded, spliced in, in pieces to be written one after
// the other (state.Store.Write): Desired and the services' encoding are
// pieces of their own, not copied into one buffer. The services' piece is
// servicesJSON when the record has one, and parts sets servicesJSON to it.
func (r *record) parts() ([][]byte, error) {
	parts, err := recordParts(r)
	if err != nil {
		return nil, fmt.Errorf("director: encode the state record: %w", err)
	}
	return parts, nil
}

// reuseServices gives next the services' encoding of prev when both list
// the same services, so that saving next copies it (a one-weight edit
// changes the desired state, not what lvs-rs owns). prev's encoding is
// what its file holds, decoded to prev's Services.
func reuseServices(next *record, prev record) {
	if prev.servicesJSON != nil && sameServices(next.Services, prev.Services) {
		next.servicesJSON = prev.servicesJSON
	}
}

// sameServices reports whether a and b list the same services with the
// same destinations, in the same order (an empty list and none are the
// same: both save the same).
func sameServices(a, b []recordService) bool {
	return slices.EqualFunc(a, b, func(x, y recordService) bool {
		return x.ServiceKey == y.ServiceKey && slices.Equal(x.Destinations, y.Destinations)
	})
}

// recordAddr is an address lvs-rs bound.
type recordAddr struct {
	Dev    string       `json:"dev"`
	Prefix netip.Prefix `json:"prefix"`
	Label  string       `json:"label,omitempty"`
}

// recordService is a virtual service lvs-rs created, with the
// destinations in it that are lvs-rs's: the Owned entry, as it is.
type recordService = OwnedService

// owned returns the record as an Owned set. Its services are the
// record's, shared (sorted first if the file was not).
func (r record) owned() Owned {
	o := Owned{Services: normalOwned(r.Services), Sysctls: slices.Clone(r.Sysctls),
		Timeouts: slices.Clone(r.Timeouts), Daemons: slices.Clone(r.Daemons), Marks: r.NFTable != ""}
	if r.Routes != nil {
		o.Routes = *r.Routes
	}
	o.PastRoutes = slices.Clone(r.PastRoutes)
	for _, a := range r.Addresses {
		o.Addrs = append(o.Addrs, vip.Addr{Dev: a.Dev, Prefix: a.Prefix, Label: a.Label})
	}
	return o
}

// desiredKey follows the version in the layout encode writes.
var desiredKey = []byte(`,"desired":`)

// splitDesired splits a record in the layout encode writes,
// {"version":N,"desired":{...},...}, into the desired state's bytes and
// the record without it, {"version":N,...}; ok is false for any other
// layout (older or hand-edited files), which json.Unmarshal reads whole.
// It finds the end of the desired state by matching braces outside
// strings, without validating it.
func splitDesired(b []byte) (desired, rest []byte, ok bool) {
	if !bytes.HasPrefix(b, []byte(`{"version":`)) {
		return nil, nil, false
	}
	i := bytes.Index(b[:min(len(b), 32)], desiredKey)
	if i < 0 {
		return nil, nil, false
	}
	start := i + len(desiredKey)
	end, ok := skipObject(b, start)
	if !ok {
		return nil, nil, false
	}
	rest = append(append(make([]byte, 0, len(b)-(end-i)), b[:i]...), b[end:]...)
	return b[start:end:end], rest, true
}

// skipObject returns the index just past the JSON object that starts at
// b[i].
func skipObject(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '{' {
		return 0, false
	}
	return skipNested(b, i)
}

// recordOf renders o (sorted, so equal sets give equal files) with the
// encoded desired state d.
func recordOf(d desiredEnc, o Owned) record {
	r := record{Version: recordVersion, Desired: d.head, desiredRest: d.rest, Sysctls: slices.Clone(o.Sysctls)}
	if o.changing() {
		r.Version = changingVersion
	}
	r.Timeouts, r.Daemons = sortedSettings(o)
	r.Routes, r.NFTable = recordNetwork(o)
	r.PastRoutes = sortedTables(o.PastRoutes)
	for _, a := range o.Addrs {
		r.Addresses = append(r.Addresses, recordAddr{Dev: a.Dev, Prefix: a.Prefix, Label: a.Label})
	}
	slices.SortFunc(r.Addresses, func(a, b recordAddr) int {
		return cmp.Or(cmp.Compare(a.Dev, b.Dev), a.Prefix.Addr().Compare(b.Prefix.Addr()))
	})
	slices.SortFunc(r.Sysctls, func(a, b sysctl.Record) int { return cmp.Compare(a.Key, b.Key) })
	// The services are kept sorted: the record shares them.
	r.Services = normalOwned(o.Services)
	return r
}

// changing reports whether o records a change under way (see
// changingVersion).
func (o Owned) changing() bool {
	if len(o.PastRoutes) > 0 ||
		slices.ContainsFunc(o.Sysctls, func(r sysctl.Record) bool { return r.Was != "" }) ||
		slices.ContainsFunc(o.Timeouts, func(r TimeoutRecord) bool { return r.Was != 0 }) {
		return true
	}
	for i, d := range o.Daemons {
		if _, dup := daemonIn(o.Daemons[:i], d.State); dup {
			return true
		}
	}
	return false
}

// empty reports whether o holds nothing.
func (o Owned) empty() bool {
	return len(o.Services) == 0 && len(o.Addrs) == 0 && len(o.Sysctls) == 0 && len(o.Timeouts) == 0 && len(o.Daemons) == 0 &&
		o.Routes == (RouteTable{}) && len(o.PastRoutes) == 0 && !o.Marks
}

// loadRecord reads the record; a version this lvs-rs does not know is one
// line naming the file and what to do.
func loadRecord(s state.Store) (record, bool, error) {
	r, _, ok, err := loadStamped(s)
	return r, ok, err
}

// loadStamped is loadRecord, with the stamp of the file it read.
func loadStamped(s state.Store) (record, state.Stamp, bool, error) {
	b, st, ok, err := s.ReadStamped(Role)
	if err != nil || !ok {
		return record{}, st, ok, err
	}
	// The desired state is left as it is: decoding (or even validating)
	// it is most of the cost of reading a large record, and start and stop
	// do not need it (see record.desired).
	r, fast := decodeRecordFast(b)
	if !fast {
		if r, err = decodeRecordSlow(b); err != nil {
			return record{}, st, false, s.Corrupt(Role, err)
		}
	}
	if r.Version != recordVersion && r.Version != changingVersion && r.Version != 1 {
		return record{}, st, false, fmt.Errorf("director: %s has format version %d, which this lvs-rs (version %d) cannot read: "+
			"run stop with the lvs-rs that wrote it, or remove what it lists by hand and delete the file",
			filepath.Join(s.Dir, Role+".json"), r.Version, changingVersion)
	}
	if err := sysctl.ValidateRecords(r.Sysctls); err != nil {
		return record{}, st, false, s.Corrupt(Role, err)
	}
	return r, st, true, nil
}

// decodeRecordSlow decodes a record with encoding/json: any layout, and
// the errors of damaged records.
func decodeRecordSlow(b []byte) (record, error) {
	var r record
	if desired, rest, ok := splitDesired(b); ok {
		if err := json.Unmarshal(rest, &r); err != nil {
			return record{}, err
		}
		r.Desired = desired
		return r, nil
	}
	err := json.Unmarshal(b, &r)
	return r, err
}

// intents returns o plus everything changes will create: the record
// written before any change, so that a crash midway leaves no orphan.
// Deleting what does not exist is success, so over-recording is harmless.
func intents(o Owned, changes []Change) Owned {
	n := o.clone()
	for i := range changes {
		n.take(&changes[i])
	}
	n.Services = takeServices(o.Services, changes)
	return n
}

// take records what a successful creating change made lvs-rs's, outside
// the IPVS table (see takeServices).
func (o *Owned) take(c *Change) {
	switch c.Kind {
	case SetSysctl:
		o.Sysctls = slices.DeleteFunc(o.Sysctls, func(r sysctl.Record) bool { return r.Key == c.Sysctl().Key })
		o.Sysctls = append(o.Sysctls, c.Sysctl())
	case Bind:
		o.Addrs = slices.DeleteFunc(o.Addrs, func(a vip.Addr) bool { return keyOf(a) == keyOf(c.Addr()) })
		o.Addrs = append(o.Addrs, c.Addr())
	case AddService, AddDestination, EditDestination:
		// Taken by takeServices, all at once.
	case AddRoute:
		o.takeRoutes(c.Route())
	case BuildMarks:
		o.Marks = true
	default:
		o.takeSetting(*c)
	}
}

// settle decides what lvs-rs owns after a run by reading the kernel
// back: what was intended (the record saved before the first write) and
// is present in after is lvs-rs's, whatever the acknowledgements said,
// except what someone else created first (an addition refused with
// EEXIST) and services released (they hold real servers lvs-rs did not
// add) once none of their real servers is lvs-rs's. A recorded sysctl or timeout stays recorded while it holds the
// value lvs-rs wrote (there is something to restore), a sync daemon while
// it runs as lvs-rs started it. Destinations of lvs-rs's
// services that desired names are its own from then on (adopted).
func settle(intended Owned, after Observed, d Desired, changes []Change, errs []error) Owned {
	refused := map[ownedKey]bool{} // services (zero destination) and destinations
	refusedAddr := map[addrKey]bool{}
	released := map[ipvs.ServiceKey]bool{}
	for i := range changes {
		c := &changes[i]
		exists := errs[i] != nil && errors.Is(errs[i], unix.EEXIST)
		switch {
		case c.Kind == ReleaseService && errs[i] == nil:
			released[c.Service.Key()] = true
		case c.Kind == AddService && exists:
			refused[ownedKey{svc: c.Service.Key()}] = true
		case c.Kind == AddDestination && exists:
			refused[ownedKey{c.Service.Key(), c.Destination.Key()}] = true
		case c.Kind == Bind && exists:
			refusedAddr[keyOf(c.Addr())] = true
		}
	}
	n := Owned{}
	present := map[addrKey]bool{}
	for _, a := range after.Addrs {
		present[keyOf(a)] = true
	}
	for _, a := range intended.Addrs {
		if present[keyOf(a)] && !refusedAddr[keyOf(a)] {
			n.Addrs = append(n.Addrs, a)
		}
	}
	n.Services = settleServices(intended.Services, after, d, refused, released)
	n.Sysctls, n.Timeouts, n.Daemons = settleSettings(intended, after)
	n.Routes, n.PastRoutes = settleRoutes(intended, after, d)
	n.Marks = intended.Marks && after.Marks.Present
	return n
}

// ownedKey is a destination of a service, or with the zero destination
// key the service itself.
type ownedKey struct {
	svc ipvs.ServiceKey
	dst ipvs.DestinationKey
}

// settleServices is settle's IPVS table: the intended services present in
// after, neither refused nor released (a released one while an intended
// destination of it remains), with their intended destinations
// present and not refused, plus the destinations present that d names
// (adopted). intended is not modified; while the result is the same, it
// is intended itself (a pass that changed no ownership allocates no copy).
func settleServices(intended OwnedServices, after Observed, d Desired, refused map[ownedKey]bool, released map[ipvs.ServiceKey]bool) OwnedServices {
	var wanted map[ipvs.ServiceKey]int // d's services by key, for adoption
	if len(d.Services) > 0 {
		wanted = make(map[ipvs.ServiceKey]int, len(d.Services))
		for i := range d.Services {
			wanted[d.Services[i].Service.Key()] = i
		}
	}
	var (
		out     OwnedServices // nil while the result is intended so far
		keys    []ipvs.DestinationKey
		scratch = make([]ipvs.DestinationKey, 0, 64)
	)
	for i, s := range intended {
		k := s.ServiceKey
		cur, exists := after.Services[k]
		kept := exists && !refused[ownedKey{svc: k}]
		scratch = scratch[:0]
		if kept {
			var want destIndexed // settle rarely asks: only for a destination that is not lvs-rs's
			if j, ok := wanted[k]; ok {
				want = destIndex(d.Services[j].Destinations)
			}
			mine := ownedDests(s.Destinations)
			for j := range cur.Destinations {
				dk := cur.Destinations[j].Key()
				if mine.hasAt(dk, j, len(cur.Destinations)) && !refused[ownedKey{k, dk}] || want.has(dk) {
					scratch = append(scratch, dk)
				}
			}
			sortDestKeys(scratch)
			scratch = slices.Compact(scratch) // not clipped: reused
			// A released service stops being lvs-rs's once none of its
			// real servers is: one whose deletion failed keeps it
			// recorded, for the next stop to delete.
			kept = !released[k] || len(scratch) > 0
		}
		if out == nil {
			if kept && slices.Equal(scratch, s.Destinations) {
				continue
			}
			out = make(OwnedServices, i, len(intended))
			copy(out, intended[:i])
			n := 0
			for j := range intended[i:] {
				n += len(after.Services[intended[i+j].ServiceKey].Destinations)
			}
			keys = make([]ipvs.DestinationKey, 0, n)
		}
		if kept {
			start := len(keys)
			keys = append(keys, scratch...)
			out = append(out, OwnedService{ServiceKey: k, Destinations: keys[start:len(keys):len(keys)]})
		}
	}
	if out == nil {
		return intended
	}
	return out
}

// sameRecord reports whether a and b would be saved identically (both
// sorted by recordOf or read from a file recordOf wrote: empty lists are
// nil in both). Every field counts, whatever fields the record gains.
func sameRecord(a, b record) bool {
	// The services, most of a large record, compared without reflection.
	if !a.desiredEnc().equal(b.desiredEnc()) || !sameServices(a.Services, b.Services) {
		return false
	}
	a.Desired, b.Desired, a.Services, b.Services = nil, nil, nil, nil
	a.desiredRest, b.desiredRest = nil, nil
	a.servicesJSON, b.servicesJSON = nil, nil
	return reflect.DeepEqual(a, b)
}
