package realserver

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
	"github.com/lvs-rs/lvs-rs/pkg/tunnel"
	"golang.org/x/sys/unix"
)

// runDR runs a DR start of vip1 and vip6 on f from an empty record (see
// runStart).
func runDR(t *testing.T, f *fakeKernel) (saves []Record, writesAt []int, err error) {
	t.Helper()
	return runStart(t, f, Desired{Bindings: dr(vip1, vip6)})
}

// runStart runs a start of d on f from an empty record, returning every
// record saved, in order, and the writes made before each save.
func runStart(t *testing.T, f *fakeKernel, d Desired) (saves []Record, writesAt []int, err error) {
	t.Helper()
	changes, _ := Plan(d, f.observed(Record{}))
	e := &executor{k: f, save: func(r Record, _ []byte) error {
		saves, writesAt = append(saves, r.clone()), append(writesAt, len(f.writes))
		return nil
	}}
	e.rec.Desired = specOf(d)
	err = e.run(context.Background(), changes)
	if err == nil {
		err = e.flush()
	}
	return saves, writesAt, err
}

// TestAheadOneSave: a DR real server's start (two VIPs, four sysctls)
// saves its record once, before its first write, with every intention in
// it; the start's last flush finds nothing new to save.
func TestAheadOneSave(t *testing.T) {
	f := newFake()
	saves, writesAt, err := runDR(t, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.writes) < 5 {
		t.Fatalf("writes %q: want two binds and the ARP sysctls", f.writes)
	}
	if len(saves) != 1 || writesAt[0] != 0 {
		t.Fatalf("%d save(s), the first after %v write(s); want one, before any of the %d writes", len(saves), writesAt, len(f.writes))
	}
	checkRecordHoldsWrites(t, f, saves[0], true)
}

// TestAheadFailureTakesBackLaterIntentions fails each write of a start in
// turn, a DR one (its binds and sysctl writes open it) and one of every
// mode (they follow ipip's load and tunl0): the record last saved lists
// exactly the sysctls and VIPs the writes before it set (the failed write
// and those after it never ran, so their intentions are taken back), and
// no record at all when the first write fails.
func TestAheadFailureTakesBackLaterIntentions(t *testing.T) {
	for name, d := range map[string]Desired{"dr": {Bindings: dr(vip1, vip6)}, "every mode": everything()} {
		probe := newFake()
		if _, _, err := runStart(t, probe, d); err != nil {
			t.Fatal(err)
		}
		for k, w := range probe.writes {
			f := newFake()
			f.fail = func(op string) error {
				if op == w {
					return unix.EINVAL
				}
				return nil
			}
			saves, _, err := runStart(t, f, d)
			if !errors.Is(err, unix.EINVAL) {
				t.Fatalf("%s, k=%d (%s): start = %v, want EINVAL", name, k+1, w, err)
			}
			last := saves[len(saves)-1]
			if k == 0 && !last.empty() {
				t.Errorf("%s, k=1 (%s): the first write failed, yet the record keeps %+v", name, w, last)
			}
			t.Logf("%s, k=%d (%s): %d sysctl(s), %d address(es) recorded", name, k+1, w, len(last.Sysctls), len(last.Addresses))
			checkRecordHoldsWrites(t, f, last, false)
		}
	}
}

// checkRecordHoldsWrites checks that rec lists every sysctl and address the
// writes on f changed and, unless ahead (a record saved before its writes),
// nothing they did not.
func checkRecordHoldsWrites(t *testing.T, f *fakeKernel, rec Record, ahead bool) {
	t.Helper()
	base := newFake()
	for _, dev := range []string{tunnel.Dev, tunnel.GREDev} {
		if f.link(dev).Exists { // loading the module made the device's parameters, at their defaults
			base.EnsureTunnel(context.Background(), dev)
		}
	}
	for k, v := range f.sys {
		if v != base.sys[k] && !slices.ContainsFunc(rec.Sysctls, func(r sysctl.Record) bool { return r.Key == k }) {
			t.Errorf("%s was written (%s -> %s) but is not in the record", k, base.sys[k], v)
		}
	}
	for _, a := range f.addrs {
		if !slices.Contains(base.addrs, a) && !slices.Contains(rec.Addresses, addrRecord(a)) {
			t.Errorf("%s was bound but is not in the record", a)
		}
	}
	if ahead {
		return
	}
	for _, r := range rec.Sysctls {
		if f.sys[r.Key] != r.Wrote {
			t.Errorf("record lists %s=%s, never written (the kernel holds %s)", r.Key, r.Wrote, f.sys[r.Key])
		}
	}
	for _, a := range rec.Addresses {
		if !slices.Contains(f.addrs, a.Addr()) {
			t.Errorf("record lists %s, never bound", a.Prefix)
		}
	}
}
