package director

import (
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/state"
)

// bigConfig is services x perService dr real servers.
func bigConfig(services, perService int) *config.Config {
	cfg := &config.Config{Director: config.Director{Interface: "eth0"}}
	for i := range services {
		vs := config.VirtualServer{VIP: vip1, Port: uint16(10000 + i), Protocol: config.TCP, Scheduler: "wrr",
			Mode: config.ModeDR, PersistenceNetmask: 32}
		for j := range perService {
			n := 172<<24 | 16<<16 + uint32(i)<<10 + uint32(j) + 1
			a := netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
			vs.RealServers = append(vs.RealServers, config.RealServer{Address: a, Port: uint16(10000 + i), Weight: 1, Mode: config.ModeDR})
		}
		cfg.VirtualServers = append(cfg.VirtualServers, vs)
	}
	return cfg
}

// bigRecord is the record of a start of bigConfig(1000, 10): 11,000
// objects.
func bigRecord(b *testing.B) (record, Desired) {
	d := DesiredFrom(bigConfig(1000, 10))
	mine := map[ipvs.ServiceKey]map[ipvs.DestinationKey]bool{}
	for _, ds := range d.Services {
		m := map[ipvs.DestinationKey]bool{}
		for _, x := range ds.Destinations {
			m[x.Key()] = true
		}
		mine[ds.Service.Key()] = m
	}
	o := Owned{Services: ownedOf(mine)}
	raw, err := encodeDesired(&d)
	if err != nil {
		b.Fatal(err)
	}
	return recordOf(raw, o), d
}

// BenchmarkRecordLoad reads the record of 11,000 objects as start and
// stop do (the desired state left encoded).
func BenchmarkRecordLoad(b *testing.B) {
	rec, _ := bigRecord(b)
	s := state.Store{Dir: filepath.Join(b.TempDir(), "state")}
	buf, err := rec.encode()
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Write(Role, buf); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := loadRecord(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecordSave renders the record of 11,000 objects (recordOf
// and encode, no file).
func BenchmarkRecordSave(b *testing.B) {
	rec, _ := bigRecord(b)
	o := rec.owned()
	b.ReportAllocs()
	for b.Loop() {
		next := recordOf(rawDesired(rec.Desired), o)
		if _, err := next.encode(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeDesired encodes the desired state of 11,000 objects,
// once per start.
func BenchmarkEncodeDesired(b *testing.B) {
	_, d := bigRecord(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeDesired(&d); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecordDesired decodes the desired state of 11,000 objects, as
// status does.
func BenchmarkRecordDesired(b *testing.B) {
	rec, _ := bigRecord(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rec.desired(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecordOwned turns the record of 11,000 objects into the Owned
// set start, status and stop work from.
func BenchmarkRecordOwned(b *testing.B) {
	rec, _ := bigRecord(b)
	b.ReportAllocs()
	for b.Loop() {
		rec.owned()
	}
}

// BenchmarkSameRecord compares two equal records of 11,000 objects, as
// every save does before writing.
func BenchmarkSameRecord(b *testing.B) {
	rec, _ := bigRecord(b)
	other := recordOf(rawDesired(rec.Desired), rec.owned())
	b.ReportAllocs()
	for b.Loop() {
		if !sameRecord(rec, other) {
			b.Fatal("differ")
		}
	}
}

// BenchmarkRecordOf builds the record of 11,000 owned objects, as every
// save does before comparing it with the last one.
func BenchmarkRecordOf(b *testing.B) {
	rec, _ := bigRecord(b)
	owned := rec.owned()
	b.ReportAllocs()
	for b.Loop() {
		recordOf(rawDesired(rec.Desired), owned)
	}
}
