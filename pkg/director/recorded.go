package director

import (
	"net/netip"

	"github.com/lvs-rs/lvs-rs/pkg/state"
)

// Recorded returns the desired state the state record in o.StateDir
// holds, the one the last start (or pass of lvs-rs run) applied; nil
// when there is no record or it holds none (a record of version 1). Its
// services, and their real servers, are narrowed to those the record
// lists as lvs-rs's: a service of the file that another tool had (which
// start refused to take over) is left out. It reads the record through
// o.Records when set, which then keeps it for the next Converge. A
// damaged record is an error wrapping state.ErrCorrupt.
//
// A long-running director that starts with an edited file compares it
// with this to find the real servers the file no longer has.
func Recorded(o Options) (*Desired, error) {
	s := state.Store{Dir: o.StateDir}
	rec, found, _, err := o.Records.load(s)
	if err != nil || !found {
		return nil, err
	}
	d, err := rec.desired()
	if err != nil {
		return nil, s.Corrupt(Role, err)
	}
	if d == nil {
		return nil, nil
	}
	owned := normalOwned(rec.Services)
	mine := d.Services[:0:0]
	for _, ds := range d.Services {
		dests, ok := owned.dests(ds.Service.Key())
		if !ok {
			continue
		}
		keep := DesiredService{Service: ds.Service, LastWeights: ds.LastWeights}
		for _, x := range ds.Destinations {
			if dests.has(x.Key()) {
				keep.Destinations = append(keep.Destinations, x)
			}
		}
		mine = append(mine, keep)
	}
	d.Services = mine
	return d, nil
}

// RecordedVIPs returns the VIPs of the desired state the state record in
// o.StateDir holds: those the last start or pass of lvs-rs run bound,
// including a VIP kept bound for a service that left the file and still
// drains. It reads the record without o.Records (a pass's cache: a read
// from outside a pass must not take what the pass compares with). None
// without a record or with one that holds no desired state; a damaged
// record is an error wrapping state.ErrCorrupt.
func RecordedVIPs(o Options) ([]netip.Addr, error) {
	o.Records = nil
	d, err := Recorded(o)
	if err != nil || d == nil {
		return nil, err
	}
	return d.VIPs, nil
}
