package arp

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

func keys(ws []sysctl.Want) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.Key.String()+"="+w.Value)
	}
	return out
}

func TestPolicy(t *testing.T) {
	for _, c := range []struct {
		mode config.Mode
		want []string
	}{
		{config.ModeDR, []string{
			"net/ipv4/conf/lo/arp_ignore=1", "net/ipv4/conf/lo/arp_announce=2",
			"net/ipv4/conf/all/arp_ignore=1", "net/ipv4/conf/all/arp_announce=2",
		}},
		{config.ModeTUN, []string{
			"net/ipv4/conf/tunl0/arp_ignore=1", "net/ipv4/conf/tunl0/arp_announce=2", "net/ipv4/conf/tunl0/rp_filter=0",
			"net/ipv4/conf/all/arp_ignore=1", "net/ipv4/conf/all/arp_announce=2", "net/ipv4/conf/all/rp_filter=0",
		}},
		{config.ModeNAT, nil},
		{"bogus", nil},
	} {
		if d := cmp.Diff(c.want, keys(Policy(c.mode))); d != "" {
			t.Errorf("Policy(%s) (-want +got):\n%s", c.mode, d)
		}
	}
}

func TestDevicePolicyDottedName(t *testing.T) {
	w := DevicePolicy("eth0.100", false)
	if got := w[0].Key; len(got) != 5 || got[3] != "eth0.100" {
		t.Fatalf("key segments %q: the device must be one segment", got)
	}
	tr := sysctl.Tree{Root: t.TempDir()}
	p := tr.Path(w[0].Key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	op := Op{Kind: OpSet, Key: w[0].Key.String(), Value: "1", Current: "0"}
	recs, _, err := Apply(tr, op, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(tr.Root, "net/ipv4/conf/eth0.100/arp_ignore"))
	if string(b) != "1\n" {
		t.Errorf("eth0.100/arp_ignore holds %q", b)
	}
	if d := cmp.Diff([]sysctl.Record{{Key: "net/ipv4/conf/eth0.100/arp_ignore", Prior: "0", Wrote: "1"}}, recs); d != "" {
		t.Errorf("records (-want +got):\n%s", d)
	}
}

func TestMerge(t *testing.T) {
	got, err := Merge(Policy(config.ModeDR), Policy(config.ModeTUN))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"net/ipv4/conf/lo/arp_ignore=1", "net/ipv4/conf/lo/arp_announce=2",
		"net/ipv4/conf/all/arp_ignore=1", "net/ipv4/conf/all/arp_announce=2",
		"net/ipv4/conf/tunl0/arp_ignore=1", "net/ipv4/conf/tunl0/arp_announce=2", "net/ipv4/conf/tunl0/rp_filter=0",
		"net/ipv4/conf/all/rp_filter=0",
	}
	if d := cmp.Diff(want, keys(got)); d != "" {
		t.Errorf("Merge(dr, tun) (-want +got):\n%s", d)
	}
	bad := []sysctl.Want{{Key: sysctl.IPv4Conf("all", ArpIgnore), Value: "2"}}
	if _, err := Merge(Policy(config.ModeDR), bad); err == nil {
		t.Error("Merge with a conflicting value succeeded")
	}
}

const (
	loI  = "net/ipv4/conf/lo/arp_ignore"
	allI = "net/ipv4/conf/all/arp_ignore"
	allA = "net/ipv4/conf/all/arp_announce"
	tunR = "net/ipv4/conf/tunl0/rp_filter"
)

func TestPlan(t *testing.T) {
	want := func(k, v string) sysctl.Want { return sysctl.Want{Key: sysctl.ParseKey(k), Value: v} }
	for _, c := range []struct {
		name         string
		wants        []sysctl.Want
		cur          map[string]string
		recs         []sysctl.Record
		hostOnly     bool
		sets, rests  []Op
		warningCount int
	}{
		{name: "fresh host", wants: []sysctl.Want{want(loI, "1"), want(allA, "2")},
			cur:  map[string]string{loI: "0", allA: "1"},
			sets: []Op{{Kind: OpSet, Key: loI, Value: "1", Current: "0"}, {Kind: OpSet, Key: allA, Value: "2", Current: "1"}}},
		{name: "already set, not recorded: nothing", wants: []sysctl.Want{want(loI, "1")},
			cur: map[string]string{loI: "1"}},
		{name: "recorded and holding: nothing", wants: []sysctl.Want{want(loI, "1")},
			cur: map[string]string{loI: "1"}, recs: []sysctl.Record{{Key: loI, Prior: "0", Wrote: "1"}}},
		{name: "recorded, changed by hand: set again keeping prior", wants: []sysctl.Want{want(loI, "1")},
			cur: map[string]string{loI: "0"}, recs: []sysctl.Record{{Key: loI, Prior: "0", Wrote: "1"}},
			sets: []Op{{Kind: OpSet, Key: loI, Value: "1", Current: "0", Wrote: "1"}}},
		{name: "parameter missing yet (tunl0 before ipip)", wants: []sysctl.Want{want(tunR, "0")},
			cur: map[string]string{}, sets: []Op{{Kind: OpSet, Key: tunR, Value: "0"}}},
		{name: "no longer wanted: restore", cur: map[string]string{loI: "1"},
			recs:  []sysctl.Record{{Key: loI, Prior: "0", Wrote: "1"}},
			rests: []Op{{Kind: OpRestore, Key: loI, Value: "0", Current: "1", Wrote: "1"}}},
		{name: "no longer wanted, already back at prior: forget", cur: map[string]string{loI: "0"},
			recs:  []sysctl.Record{{Key: loI, Prior: "0", Wrote: "1"}},
			rests: []Op{{Kind: OpForget, Key: loI, Value: "0", Current: "0", Wrote: "1"}}},
		{name: "no longer wanted, changed by someone: leave and warn", cur: map[string]string{allA: "0"},
			recs:  []sysctl.Record{{Key: allA, Prior: "1", Wrote: "2"}},
			rests: []Op{{Kind: OpForget, Key: allA, Value: "1", Current: "0", Wrote: "2"}}, warningCount: 1},
		{name: "no longer wanted, device gone: forget", cur: map[string]string{},
			recs:  []sysctl.Record{{Key: tunR, Prior: "1", Wrote: "0"}},
			rests: []Op{{Kind: OpForget, Key: tunR, Value: "1", Wrote: "0"}}},
		{name: "stricter arp_ignore 2 and 8: nothing, nothing recorded", wants: []sysctl.Want{want(allI, "1"), want(loI, "1")},
			cur: map[string]string{allI: "2", loI: "8"}},
		{name: "arp_ignore 3, every VIP scope host: nothing", wants: []sysctl.Want{want(allI, "1")}, hostOnly: true,
			cur: map[string]string{allI: "3"}},
		{name: "arp_ignore 3, a VIP of scope global: set", wants: []sysctl.Want{want(allI, "1")},
			cur: map[string]string{allI: "3"}, sets: []Op{{Kind: OpSet, Key: allI, Value: "1", Current: "3"}}},
		{name: "arp_ignore 5 (reserved, replies as 0): set", wants: []sysctl.Want{want(allI, "1")}, hostOnly: true,
			cur: map[string]string{allI: "5"}, sets: []Op{{Kind: OpSet, Key: allI, Value: "1", Current: "5", HostOnly: true}}},
		{name: "arp_announce 3 (read as 0): set", wants: []sysctl.Want{want(allA, "2")},
			cur: map[string]string{allA: "3"}, sets: []Op{{Kind: OpSet, Key: allA, Value: "2", Current: "3"}}},
		{name: "rp_filter: exactly 0", wants: []sysctl.Want{want(tunR, "0")},
			cur: map[string]string{tunR: "2"}, sets: []Op{{Kind: OpSet, Key: tunR, Value: "0", Current: "2"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			sets, rests, warns := Plan(c.wants, c.cur, c.recs, c.hostOnly)
			if d := cmp.Diff(c.sets, sets); d != "" {
				t.Errorf("sets (-want +got):\n%s", d)
			}
			if d := cmp.Diff(c.rests, rests); d != "" {
				t.Errorf("restores (-want +got):\n%s", d)
			}
			if len(warns) != c.warningCount {
				t.Errorf("warnings = %q, want %d", warns, c.warningCount)
			}
		})
	}
}

// fakeRW is an in-memory parameter store that counts writes.
type fakeRW struct {
	v      map[string]string
	writes int
	fail   error
}

func (f *fakeRW) Read(k sysctl.Key) (string, error) {
	v, ok := f.v[k.String()]
	if !ok {
		return "", fmt.Errorf("read %s: %w", k, fs.ErrNotExist)
	}
	return v, nil
}

func (f *fakeRW) Write(k sysctl.Key, v string) error {
	if f.fail != nil {
		return f.fail
	}
	if _, ok := f.v[k.String()]; !ok {
		return fmt.Errorf("write %s: %w", k, fs.ErrNotExist)
	}
	f.writes++
	f.v[k.String()] = v
	return nil
}

func TestApply(t *testing.T) {
	rw := &fakeRW{v: map[string]string{loI: "0", allA: "1", allI: "0"}}
	recs, _, err := Apply(rw, Op{Kind: OpSet, Key: loI, Value: "1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Set again after someone reset it: the first prior survives.
	rw.v[loI] = "3"
	recs, _, err = Apply(rw, Op{Kind: OpSet, Key: loI, Value: "1"}, recs)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]sysctl.Record{{Key: loI, Prior: "0", Wrote: "1"}}, recs); d != "" {
		t.Errorf("records (-want +got):\n%s", d)
	}
	// A set whose value is already there writes nothing.
	before := rw.writes
	if recs, _, err = Apply(rw, Op{Kind: OpSet, Key: loI, Value: "1"}, recs); err != nil || rw.writes != before {
		t.Errorf("no-op set wrote %d times, err %v", rw.writes-before, err)
	}
	// A set whose parameter holds a stricter value writes nothing either.
	rw.v[allI] = "2"
	if recs, _, err = Apply(rw, Op{Kind: OpSet, Key: allI, Value: "1"}, recs); err != nil || rw.writes != before || rw.v[allI] != "2" {
		t.Errorf("set over a stricter value: wrote %d times, err %v, value %s", rw.writes-before, err, rw.v[allI])
	}
	// Restore writes the prior and drops the record.
	recs, warn, err := Apply(rw, Op{Kind: OpRestore, Key: loI, Value: "0"}, recs)
	if err != nil || warn != "" || len(recs) != 0 || rw.v[loI] != "0" {
		t.Errorf("restore: recs %v, warn %q, err %v, value %s", recs, warn, err, rw.v[loI])
	}
	// Restore re-checks: changed since the plan means leave and warn.
	recs = []sysctl.Record{{Key: allA, Prior: "1", Wrote: "2"}}
	rw.v[allA] = "7"
	before = rw.writes
	recs, warn, err = Apply(rw, Op{Kind: OpRestore, Key: allA, Value: "1"}, recs)
	if err != nil || warn == "" || len(recs) != 0 || rw.writes != before || rw.v[allA] != "7" {
		t.Errorf("foreign restore: recs %v, warn %q, err %v, writes %d, value %s", recs, warn, err, rw.writes-before, rw.v[allA])
	}
	// A parameter whose device is gone is forgotten without error.
	recs, _, err = Apply(rw, Op{Kind: OpRestore, Key: tunR, Value: "1"}, []sysctl.Record{{Key: tunR, Prior: "1", Wrote: "0"}})
	if err != nil || len(recs) != 0 {
		t.Errorf("restore of a gone parameter: %v, %v", recs, err)
	}
	// A failed write keeps the records and the errno.
	rw.fail = fmt.Errorf("write: %w", fs.ErrPermission)
	recs, _, err = Apply(rw, Op{Kind: OpSet, Key: allA, Value: "2"}, nil)
	if !errors.Is(err, fs.ErrPermission) || len(recs) != 0 {
		t.Errorf("failed set: %v, %v", recs, err)
	}
}

// TestEnough pins which values of a parameter already do what lvs-rs
// wants of it (ip-sysctl.rst): for arp_ignore, the kernel takes the
// larger of conf/all and conf/DEV, so a larger value that still keeps the
// VIP quiet is left; 3 only keeps scope host addresses quiet.
func TestEnough(t *testing.T) {
	ign, ann, rpf := sysctl.IPv4Conf("all", ArpIgnore), sysctl.IPv4Conf("all", ArpAnnounce), sysctl.IPv4Conf("tunl0", RPFilter)
	for _, c := range []struct {
		key        sysctl.Key
		want, have string
		hostOnly   bool
		ok         bool
	}{
		{ign, "1", "1", false, true},
		{ign, "1", "0", true, false},
		{ign, "1", "2", false, true},
		{ign, "1", "3", true, true},
		{ign, "1", "3", false, false},
		{ign, "1", "4", true, false},
		{ign, "1", "7", true, false},
		{ign, "1", "8", false, true},
		{ign, "1", "9", true, false},
		{ann, "2", "2", false, true},
		{ann, "2", "3", true, false},
		{ann, "2", "1", true, false},
		{rpf, "0", "0", false, true},
		{rpf, "0", "1", true, false},
	} {
		if got := Enough(c.key, c.want, c.have, c.hostOnly); got != c.ok {
			t.Errorf("Enough(%s, want %s, have %s, hostOnly %v) = %v", c.key, c.want, c.have, c.hostOnly, got)
		}
	}
}
