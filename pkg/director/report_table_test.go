package director

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// randStats are counters of every magnitude human renders.
func randStats(r *rand.Rand) ipvs.Stats {
	v := func() uint64 { return r.Uint64N([]uint64{10, 100_000, 1 << 30, 1 << 40, 1 << 63}[r.IntN(5)]) }
	return ipvs.Stats{Connections: v(), PacketsIn: v(), PacketsOut: v(), BytesIn: v(), BytesOut: v(), CPS: v(), PPSIn: v(),
		PPSOut: v(), BPSIn: v(), BPSOut: v()}
}

// randReport is a report with services and real servers of every kind
// the table renders.
func randReport(r *rand.Rand) *Report {
	rep := &Report{Applied: true, Interface: "eth0", IPVSVersion: "1.2.1", ConnTableSize: 4096}
	for range r.IntN(6) {
		proto := []ipvs.Protocol{ipvs.TCP, ipvs.UDP, ipvs.SCTP, ipvs.Protocol(99)}[r.IntN(4)]
		s := ServiceRow{ServiceKey: ipvs.ServiceKey{Family: ipvs.Inet, Protocol: proto, Address: randAddr(r), Port: uint16(r.IntN(65536))},
			Scheduler: []string{"wrr", "rr", "mh", "sché", ""}[r.IntN(5)], Flags: []string{"", "sh-port", "ops"}[r.IntN(3)],
			Present: r.IntN(4) > 0, Stats: randStats(r)}
		if r.IntN(3) == 0 {
			s.ServiceKey = ipvs.ServiceKey{Family: []ipvs.Family{ipvs.Inet, ipvs.Inet6}[r.IntN(2)], FWMark: uint32(r.IntN(1000) + 1)}
		}
		if r.IntN(2) == 0 {
			s.Persistence, s.PersistenceNetmask = uint32(r.IntN(1000)), r.IntN(33)
		}
		for range r.IntN(12) {
			s.Destinations = append(s.Destinations, DestinationRow{Address: randAddr(r), Port: uint16(r.IntN(65536)),
				Forward: ipvs.ForwardMethod(r.IntN(6)), Weight: r.Uint32(), UpperThreshold: uint32(r.IntN(2) * 1000),
				Tunnel: []string{"", "ipip", "gue port 6080 csum"}[r.IntN(3)], Present: r.IntN(4) > 0,
				ActiveConns: r.Uint32(), InactiveConns: uint32(r.IntN(10)), Stats: randStats(r)})
		}
		rep.Services = append(rep.Services, s)
	}
	return rep
}

// TestServicesTableMatchesTabwriter: the services table is laid out
// byte for byte as text/tabwriter lays it out.
func TestServicesTableMatchesTabwriter(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	reps := []*Report{sampleReport(t), {Applied: true}}
	for range 500 {
		reps = append(reps, randReport(r))
	}
	for i, rep := range reps {
		var got, want bytes.Buffer
		if err := rep.writeServices(&got); err != nil {
			t.Fatal(err)
		}
		if err := rep.writeServicesTabwriter(&want); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("report %d: table\n%s\ntabwriter\n%s", i, got.Bytes(), want.Bytes())
		}
	}
}

// TestLargeServicesTableMatchesTabwriter: a table larger than the chunks
// writeServices writes out (1,000 services of 10 real servers, with
// counters) is laid out as text/tabwriter lays it out.
func TestLargeServicesTableMatchesTabwriter(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	rep := bigTableReport()
	for i := range rep.Services {
		for j := range rep.Services[i].Destinations {
			rep.Services[i].Destinations[j].Stats = randStats(r)
		}
	}
	var got, want bytes.Buffer
	if err := rep.writeServices(&got); err != nil {
		t.Fatal(err)
	}
	if err := rep.writeServicesTabwriter(&want); err != nil {
		t.Fatal(err)
	}
	if got.Len() < 4*tableChunk || !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("table of %d bytes differs from tabwriter's %d", got.Len(), want.Len())
	}
}

// bigTableReport is the report of 1,000 services of 10 real servers each,
// all present.
func bigTableReport() *Report {
	rep := &Report{Applied: true, Interface: "eth0", IPVSVersion: "1.2.1", ConnTableSize: 4096, Drift: []string{}}
	d := DesiredFrom(bigConfig(1000, 10))
	for _, ds := range d.Services {
		s := ServiceRow{ServiceKey: ds.Service.Key(), Scheduler: ds.Service.Scheduler, Present: true}
		for _, x := range ds.Destinations {
			s.Destinations = append(s.Destinations, DestinationRow{Address: x.Address, Port: x.Port, Forward: x.Forward,
				Weight: x.Weight, Present: true})
		}
		rep.Services = append(rep.Services, s)
	}
	return rep
}

// BenchmarkStatusTable renders the table of 1,000 services of 10 real
// servers each.
func BenchmarkStatusTable(b *testing.B) {
	rep := bigTableReport()
	for name, write := range map[string]func(io.Writer) error{
		"table":     rep.writeServices,
		"tabwriter": rep.writeServicesTabwriter, // the reference, for comparison
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := write(io.Discard); err != nil { // as status writes, through a small buffer
					b.Fatal(err)
				}
			}
		})
	}
}

// TestKeyIndex: a keyIndex finds what a map of the last index of each key
// finds, below and beyond its linear scan.
func TestKeyIndex(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for range 200 {
		var x keyIndex
		want := map[ipvs.DestinationKey]int{}
		n := r.IntN(3 * keyIndexLinear)
		for i := range n {
			k := ipvs.DestinationKey{Port: uint16(r.IntN(2 * keyIndexLinear))}
			x.add(k)
			want[k] = i
		}
		for p := range 2 * keyIndexLinear {
			k := ipvs.DestinationKey{Port: uint16(p)}
			i, ok := x.find(k)
			if wi, wok := want[k]; ok != wok || i != wi && ok {
				t.Fatalf("%d keys: find(%v) = %d, %v; want %d, %v", n, k, i, ok, wi, wok)
			}
		}
	}
}

// BenchmarkStatusReport builds the report of 1,000 services of 10 real
// servers each, all present.
func BenchmarkStatusReport(b *testing.B) {
	d := DesiredFrom(bigConfig(1000, 10))
	obs := Observed{Services: map[ipvs.ServiceKey]ObservedService{}, Sysctls: map[string]string{}}
	mine := map[ipvs.ServiceKey]map[ipvs.DestinationKey]bool{}
	for _, ds := range d.Services {
		o := ObservedService{ServiceExtended: ipvs.ServiceExtended{Service: ds.Service}}
		m := map[ipvs.DestinationKey]bool{}
		for _, x := range ds.Destinations {
			o.Destinations = append(o.Destinations, x)
			m[x.Key()] = true
		}
		obs.Services[ds.Service.Key()], mine[ds.Service.Key()] = o, m
	}
	owned := Owned{Services: ownedOf(mine)}
	b.ReportAllocs()
	for b.Loop() {
		buildReport(ipvs.Info{}, d, obs, owned, nil, nil)
	}
}
