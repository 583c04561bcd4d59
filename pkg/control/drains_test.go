package control

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var addrCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func TestDrainsRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if ds, err := LoadDrains(dir); err != nil || ds != nil {
		t.Fatalf("LoadDrains without a file: %v %v, want nothing", ds, err)
	}
	a, b := netip.MustParseAddr("10.0.0.11"), netip.MustParseAddr("2001:db8::12")
	web, mark := mustService(t, "tcp:10.0.0.100:80"), mustService(t, "fwmark:10")
	in := []Drain{{Service: mark, Address: a}, {Service: web, Address: b}, {Service: web, Address: a}, {Service: mark, Address: a}}
	if err := SaveDrains(dir, in); err != nil {
		t.Fatal(err)
	}
	got, err := LoadDrains(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []Drain{{Service: web, Address: a}, {Service: web, Address: b}, {Service: mark, Address: a}}
	if diff := cmp.Diff(want, got, addrCmp); diff != "" {
		t.Errorf("loaded drains (-want +got):\n%s", diff)
	}
	fi, err := os.Stat(filepath.Join(dir, DrainsFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("drains file mode %v (%v), want 0600", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("state dir holds %v, want only %s (no temporary file left)", entries, DrainsFile)
	}
	if err := SaveDrains(dir, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadDrains(dir); err != nil || len(got) != 0 {
		t.Errorf("after saving none: %v %v", got, err)
	}
}

func TestDrainsFileFormat(t *testing.T) {
	dir := t.TempDir()
	err := SaveDrains(dir, []Drain{{Service: mustService(t, "udp:10.0.0.1:53"), Address: netip.MustParseAddr("10.0.0.2")}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, DrainsFile))
	want := "{\n  \"version\": 1,\n  \"drains\": [\n    {\n      \"service\": \"udp:10.0.0.1:53\",\n      \"address\": \"10.0.0.2\"\n    }\n  ]\n}\n"
	if string(b) != want {
		t.Errorf("drains file:\n%s\nwant:\n%s", b, want)
	}
}

func TestLoadDrainsNormalizes(t *testing.T) {
	dir := t.TempDir()
	body := `{"version":1,"drains":[
		{"service":"fwmark:2","address":"10.0.0.1"},
		{"service":"tcp:10.0.0.100:80","address":"10.0.0.2"},
		{"service":"fwmark:2","address":"10.0.0.1"},
		{"service":"tcp:10.0.0.100:80","address":"10.0.0.1"}]}`
	if err := os.WriteFile(filepath.Join(dir, DrainsFile), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LoadDrains(dir)
	if err != nil {
		t.Fatal(err)
	}
	web := mustService(t, "tcp:10.0.0.100:80")
	want := []Drain{
		{Service: web, Address: netip.MustParseAddr("10.0.0.1")}, {Service: web, Address: netip.MustParseAddr("10.0.0.2")},
		{Service: mustService(t, "fwmark:2"), Address: netip.MustParseAddr("10.0.0.1")},
	}
	if diff := cmp.Diff(want, got, addrCmp); diff != "" {
		t.Errorf("loaded drains (-want +got):\n%s", diff)
	}
}

func TestDrainsCorrupt(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{"", "not a drains record: EOF"},
		{`{"version":1,"drains":[`, "not a drains record: unexpected EOF"},
		{`{"version":4,"drains":[]}`, "version 4, want 1, 2 or 3"},
		{`{"version":2,"drains":[{"service":"fwmark:1","address":"10.0.0.2","since":"2024-05-01T10:00:00Z"}]}`, "drains[0]: since in a record of version 2"},
		{`{"version":3,"drains":[{"service":"fwmark:1","address":"10.0.0.2","since":"yesterday"}]}`, "not a drains record"},
		{`{"version":1,"drains":[]}{}`, "data after the record"},
		{`{"version":1,"drains":[],"extra":1}`, `unknown field "extra"`},
		{`{"version":1,"drains":[{"service":"tcp:10.0.0.1","address":"10.0.0.2"}]}`, `service "tcp:10.0.0.1": missing :PORT`},
		{`{"version":1,"drains":[{"service":"fwmark:1","address":"10.0.0.300"}]}`, `10.0.0.300`},
		{`{"version":1,"drains":[{"address":"10.0.0.2"}]}`, "drains[0]: no service"},
		{`{"version":2,"drains":[{"address":"10.0.0.2","enabled":true}]}`, "drains[0]: enabled without a service"},
		{`{"version":2,"drains":[{"service":"fwmark:1"}]}`, "drains[0]: no address"},
		{`{"version":1,"drains":[{"service":"fwmark:1"}]}`, "drains[0]: no address"},
		{`{"version":1,"drains":[{"service":"fwmark:1","address":"fe80::1%eth0"}]}`, "drains[0]: address fe80::1%eth0 has a zone"},
	} {
		dir := t.TempDir()
		p := filepath.Join(dir, DrainsFile)
		if err := os.WriteFile(p, []byte(c.body), 0o600); err != nil {
			t.Fatal(err)
		}
		ds, err := LoadDrains(dir)
		if err == nil {
			t.Errorf("%q: loaded %v, want an error", c.body, ds)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "drains: "+p+": ") || !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
			t.Errorf("%q: error %q, want one line naming %s and saying %q", c.body, msg, p, c.want)
		}
	}
}

func TestSaveDrainsRejectsIncomplete(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []Drain{{Address: netip.MustParseAddr("10.0.0.1"), Enabled: true}, {Service: Service{FWMark: 1}}} {
		if err := SaveDrains(dir, []Drain{d}); err == nil {
			t.Errorf("SaveDrains(%+v) succeeded", d)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, DrainsFile)); !os.IsNotExist(err) {
		t.Errorf("a rejected save wrote the file: %v", err)
	}
}

// TestDrainsEveryService: a drain of every service and its exceptions
// survive a save and a load (format version 2, which an lvs-rs reading
// only version 1 refuses); a file without one stays version 1; a load
// drops drains that say nothing (one service's drain of an address
// drained in every service, an exception without that drain).
func TestDrainsEveryService(t *testing.T) {
	dir := t.TempDir()
	web, mark := mustService(t, "tcp:10.0.0.100:80"), mustService(t, "fwmark:10")
	a, b := netip.MustParseAddr("10.0.0.11"), netip.MustParseAddr("10.0.0.12")
	ds := []Drain{except(mark, a), every(a), in(web, b)}
	if err := SaveDrains(dir, ds); err != nil {
		t.Fatal(err)
	}
	body, _ := os.ReadFile(filepath.Join(dir, DrainsFile))
	if !strings.Contains(string(body), `"version": 2`) {
		t.Errorf("drains file of a drain of every service:\n%s\nwant version 2", body)
	}
	got, err := LoadDrains(dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Drain{every(a), in(web, b), except(mark, a)}, got, addrCmp); diff != "" {
		t.Errorf("loaded (-want +got):\n%s", diff)
	}
	if err := SaveDrains(dir, []Drain{in(web, b)}); err != nil {
		t.Fatal(err)
	}
	if body, _ := os.ReadFile(filepath.Join(dir, DrainsFile)); !strings.Contains(string(body), `"version": 1`) {
		t.Errorf("drains file of one service's drain:\n%s\nwant version 1", body)
	}
	redundant := `{"version":2,"drains":[{"address":"10.0.0.11"},{"service":"tcp:10.0.0.100:80","address":"10.0.0.11"},` +
		`{"service":"fwmark:10","address":"10.0.0.12","enabled":true},{"service":"fwmark:10","address":"10.0.0.12"}]}`
	if err := os.WriteFile(filepath.Join(dir, DrainsFile), []byte(redundant), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err = LoadDrains(dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Drain{every(a), in(mark, b)}, got, addrCmp); diff != "" {
		t.Errorf("loaded (-want +got):\n%s", diff)
	}
}

// TestDrainsSince: the time each drain was made is kept (version 3, the
// time in UTC) and read back, the earlier of a drain listed twice; a
// drain without one, and every drain of a file of version 1 or 2, has
// none.
func TestDrainsSince(t *testing.T) {
	dir := t.TempDir()
	a, b := netip.MustParseAddr("10.0.0.11"), netip.MustParseAddr("10.0.0.12")
	web := mustService(t, "tcp:10.0.0.100:80")
	da, db := Drain{Service: web, Address: a}, Drain{Address: b}
	at := time.Date(2024, 5, 1, 12, 0, 0, 5, time.FixedZone("CEST", 2*3600))
	if err := SaveDrainsSince(dir, []Drain{da, db}, map[Drain]time.Time{da: at}); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, DrainsFile))
	if !strings.Contains(string(raw), `"version": 3`) || !strings.Contains(string(raw), `"since": "2024-05-01T10:00:00.000000005Z"`) {
		t.Fatalf("drains file with a time:\n%s", raw)
	}
	ds, since, err := LoadDrainsSince(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || !since[da].Equal(at) || !since[db].IsZero() {
		t.Fatalf("loaded %v, since %v; want both drains, %v since %v and %v since nothing", ds, since, da, at, db)
	}
	body := `{"version":3,"drains":[
		{"service":"tcp:10.0.0.100:80","address":"10.0.0.11","since":"2024-05-01T11:00:00Z"},
		{"service":"tcp:10.0.0.100:80","address":"10.0.0.11","since":"2024-05-01T10:00:00Z"}]}`
	if err := os.WriteFile(filepath.Join(dir, DrainsFile), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, since, err = LoadDrainsSince(dir); err != nil || !since[da].Equal(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("a drain listed twice: since %v (%v), want the earlier, 10:00", since, err)
	}
	if err := SaveDrains(dir, []Drain{da}); err != nil {
		t.Fatal(err)
	}
	if _, since, err = LoadDrainsSince(dir); err != nil || len(since) != 0 {
		t.Fatalf("a file of version 1: since %v (%v), want none", since, err)
	}
}

// TestDrainTargetTimes: a real server's own drain time, one that is not
// the time of the drain covering it now, is kept as a target of a version
// 3 file and read back under its key; a target in an older version, or
// one without service or time, is refused.
func TestDrainTargetTimes(t *testing.T) {
	dir := t.TempDir()
	a := netip.MustParseAddr("10.0.0.11")
	web := mustService(t, "tcp:10.0.0.100:80")
	every, own := Drain{Address: a}, Drain{Service: web, Address: a}
	t0, t1 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), time.Date(2024, 5, 1, 11, 0, 0, 0, time.UTC)
	if err := SaveDrainsSince(dir, []Drain{every}, map[Drain]time.Time{every: t1, own: t0}); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, DrainsFile))
	if !strings.Contains(string(raw), `"targets"`) {
		t.Fatalf("drains file without the target's time:\n%s", raw)
	}
	ds, since, err := LoadDrainsSince(dir)
	if err != nil || len(ds) != 1 || ds[0] != every || !since[every].Equal(t1) || !since[own].Equal(t0) {
		t.Fatalf("loaded %v, since %v (%v); want %v since %v and %v's own time %v", ds, since, err, every, t1, own, t0)
	}
	for name, body := range map[string]string{
		"version 2":    `{"version":2,"drains":[{"address":"10.0.0.11"}],"targets":[{"service":"tcp:10.0.0.100:80","address":"10.0.0.11","since":"2024-05-01T10:00:00Z"}]}`,
		"no service":   `{"version":3,"drains":[{"address":"10.0.0.11"}],"targets":[{"address":"10.0.0.11","since":"2024-05-01T10:00:00Z"}]}`,
		"no time":      `{"version":3,"drains":[{"address":"10.0.0.11"}],"targets":[{"service":"tcp:10.0.0.100:80","address":"10.0.0.11"}]}`,
		"an exception": `{"version":3,"drains":[{"address":"10.0.0.11"}],"targets":[{"service":"tcp:10.0.0.100:80","address":"10.0.0.11","enabled":true,"since":"2024-05-01T10:00:00Z"}]}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, DrainsFile), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := LoadDrainsSince(dir); err == nil {
			t.Errorf("%s: loaded, want refused", name)
		}
	}
}
