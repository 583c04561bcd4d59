package director

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/nftmark"
	"github.com/lvs-rs/lvs-rs/pkg/state"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

// randAddr is an address of every kind the record can hold, odd ones
// included: zero, IPv4, IPv6, IPv4-mapped, zoned (with characters JSON
// escapes).
func randAddr(r *rand.Rand) netip.Addr {
	var b16 [16]byte
	for i := range b16 {
		b16[i] = byte(r.IntN(256))
	}
	switch r.IntN(8) {
	case 0:
		return netip.Addr{}
	case 1:
		return netip.AddrFrom16(b16)
	case 2:
		return netip.AddrFrom16(b16).WithZone([]string{"eth0", `a"<&>\`, "é"}[r.IntN(3)])
	case 3:
		return netip.AddrFrom4([4]byte{b16[0], b16[1], b16[2], b16[3]}).Unmap()
	case 4:
		return netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: b16[0], 13: b16[1]})
	}
	return netip.AddrFrom4([4]byte{b16[0], b16[1], b16[2], b16[3]})
}

func randString(r *rand.Rand) string {
	return []string{"", "wrr", "eth0", "sip", `q"<&>\`, "é\u2028", "\x01", "a<b", "x&y>"}[r.IntN(9)]
}

func randUint(r *rand.Rand, max uint64) uint64 {
	switch r.IntN(4) {
	case 0:
		return 0
	case 1:
		return max
	}
	return r.Uint64N(max + 1)
}

// randDesired is a desired state with every field exercised; with odd,
// values encoding/json writes but cannot read back (unknown families).
func randDesired(r *rand.Rand, odd bool) Desired {
	d := Desired{Interface: randString(r)}
	fams := []ipvs.Family{0, ipvs.Inet, ipvs.Inet6}
	fwds := []ipvs.ForwardMethod{ipvs.Masq, ipvs.Local, ipvs.Tunnel, ipvs.Route, ipvs.Bypass}
	if odd {
		fams, fwds = append(fams, 7), append(fwds, 9)
	}
	for range r.IntN(4) {
		d.VIPs = append(d.VIPs, randAddr(r))
	}
	for range r.IntN(5) {
		s := ipvs.Service{Family: fams[r.IntN(len(fams))], Protocol: []ipvs.Protocol{0, ipvs.TCP, ipvs.UDP, ipvs.SCTP}[r.IntN(4)],
			Address: randAddr(r), Port: uint16(randUint(r, 65535)), FWMark: uint32(randUint(r, 1<<32-1)), Scheduler: randString(r),
			Flags: ipvs.ServiceFlags(randUint(r, 1<<32-1)), Timeout: uint32(randUint(r, 1<<32-1)), Netmask: r.IntN(300) - 100,
			PEName: randString(r)}
		ds := DesiredService{Service: s}
		for range r.IntN(4) {
			ds.Destinations = append(ds.Destinations, ipvs.Destination{Family: fams[r.IntN(len(fams))], Address: randAddr(r),
				Port: uint16(randUint(r, 65535)), Forward: fwds[r.IntN(len(fwds))], Weight: uint32(randUint(r, 1<<32-1)),
				UpperThreshold: uint32(randUint(r, 1<<32-1)), LowerThreshold: uint32(randUint(r, 1<<32-1)),
				TunnelType: ipvs.TunnelType(randUint(r, 255)), TunnelPort: uint16(randUint(r, 65535)),
				TunnelFlags: ipvs.TunnelFlags(randUint(r, 65535))})
		}
		for range r.IntN(3) {
			ds.LastWeights = append(ds.LastWeights, LastWeight{Address: randAddr(r), Port: uint16(randUint(r, 65535)),
				Weight: uint32(randUint(r, 1<<32-1))})
		}
		d.Services = append(d.Services, ds)
	}
	if r.IntN(2) == 0 {
		d.Sysctls = []SysctlWant{{Key: "net/ipv4/ip_forward", Value: randString(r)}}
		d.Timeouts = ipvs.Timeouts{TCP: time.Duration(r.IntN(3)) * time.Second}
		d.Sync = []ipvs.Daemon{{Interface: randString(r), SyncID: 3}}
		d.Announce = &Announce{Table: 100, Protocol: 250, VIPs: []netip.Addr{randAddr(r)}}
		d.Marks = []nftmark.Rule{{VIP: randAddr(r), Protocol: 6, Port: 80, Mark: 10}}
	}
	return d
}

// randRecord is a record with every field exercised.
func randRecord(r *rand.Rand, odd bool) record {
	d := randDesired(r, odd)
	raw, _ := json.Marshal(&d)
	rec := record{Version: r.IntN(5) - 1, Desired: raw, NFTable: randString(r)}
	fams := []ipvs.Family{0, ipvs.Inet, ipvs.Inet6}
	if odd {
		fams = append(fams, 7)
	}
	for range r.IntN(5) {
		rs := recordService{ServiceKey: ipvs.ServiceKey{Family: fams[r.IntN(len(fams))], Protocol: []ipvs.Protocol{0, ipvs.TCP, ipvs.UDP}[r.IntN(3)],
			Address: randAddr(r), Port: uint16(randUint(r, 65535)), FWMark: uint32(randUint(r, 1<<32-1))}}
		for range r.IntN(4) {
			rs.Destinations = append(rs.Destinations, ipvs.DestinationKey{Address: randAddr(r), Port: uint16(randUint(r, 65535))})
		}
		rec.Services = append(rec.Services, rs)
	}
	if r.IntN(2) == 0 {
		rec.Addresses = []recordAddr{{Dev: randString(r), Prefix: netip.MustParsePrefix("10.0.0.1/32"), Label: randString(r)}}
		rec.Sysctls = []sysctl.Record{{Key: "net/ipv4/ip_forward", Prior: "0", Wrote: "1"}}
		rec.Timeouts = []TimeoutRecord{{Name: "tcp", Prior: 900, Wrote: 60}}
		rec.Daemons = []ipvs.Daemon{{Interface: "eth0", SyncID: 1}}
		rec.Routes = &RouteTable{Table: 100, Protocol: 250}
	}
	if r.IntN(3) == 0 { // a pass under way: values replaced, tables left
		rec.Sysctls = []sysctl.Record{{Key: "net/ipv4/vs/conn_reuse_mode", Prior: "1", Wrote: "2", Was: "0"}}
		rec.Timeouts = []TimeoutRecord{{Name: "udp", Prior: 300, Wrote: 30, Was: 60}}
		rec.PastRoutes = []RouteTable{{Table: 99, Protocol: 250}}
	}
	if r.IntN(4) == 0 {
		rec.Desired = nil
	}
	return rec
}

// TestFastEncodeMatchesJSON: the hand-written encoding is json.Marshal's,
// byte for byte, for every kind of value.
func TestFastEncodeMatchesJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		d := randDesired(r, true)
		want, err := json.Marshal(&d)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := encodeDesired(&d); err != nil || !bytes.Equal(got.bytes(), want) {
			t.Fatalf("%d: encodeDesired =\n%s, %v\nwant\n%s", i, got, err, want)
		}
		rec := randRecord(r, true)
		want, err = json.Marshal(&rec)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := rec.encode(); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%d: encode =\n%s, %v\nwant\n%s", i, got, err, want)
		}
	}
}

// checkDesiredDecode fails when the fast decoding of b succeeds with
// anything else than what json.Unmarshal gives (or where it fails).
func checkDesiredDecode(t testing.TB, b []byte) bool {
	got, ok := decodeDesiredFast(b)
	if !ok {
		return false
	}
	var want Desired
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("fast decoding accepted what encoding/json refuses (%v):\n%q", err, b)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fast decoding of\n%q\n= %+v\nencoding/json: %+v", b, got, want)
	}
	return true
}

// checkRecordDecode is checkDesiredDecode for a whole record, whose
// desired state the fast path leaves encoded and unvalidated (as the
// layout split of loadRecord always has).
func checkRecordDecode(t testing.TB, b []byte) bool {
	got, ok := decodeRecordFast(b)
	if !ok {
		return false
	}
	var want record
	if err := json.Unmarshal(b, &want); err != nil {
		if !json.Valid(got.Desired) {
			return true
		}
		t.Fatalf("fast decoding accepted what encoding/json refuses (%v):\n%q", err, b)
	}
	checkServicesJSON(t, got, b)
	got.servicesJSON = nil // the bytes the services were read from, which encoding/json does not keep
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fast decoding of\n%q\n= %+v\nencoding/json: %+v", b, got, want)
	}
	return true
}

// checkServicesJSON fails unless r, decoded from b, kept as its services'
// encoding bytes of b that decode to the same services (a save that
// copies them writes what it would have rendered).
func checkServicesJSON(t testing.TB, r record, b []byte) {
	if r.servicesJSON == nil {
		return
	}
	var again []recordService
	if err := json.Unmarshal(r.servicesJSON, &again); err != nil {
		t.Fatalf("services' bytes %q of %q: %v", r.servicesJSON, b, err)
	}
	if !reflect.DeepEqual(again, r.Services) && !(len(again) == 0 && len(r.Services) == 0) {
		t.Fatalf("services' bytes %q of %q decode to %+v, not %+v", r.servicesJSON, b, again, r.Services)
	}
}

// mutate changes b at random: a byte flipped, removed, duplicated or
// replaced by a JSON-significant one.
func mutate(r *rand.Rand, b []byte) []byte {
	b = bytes.Clone(b)
	for range 1 + r.IntN(3) {
		if len(b) == 0 {
			return b
		}
		i := r.IntN(len(b))
		switch r.IntN(4) {
		case 0:
			b[i] ^= byte(1 << r.IntN(8))
		case 1:
			b = append(b[:i], b[i+1:]...)
		case 2:
			b = append(b[:i+1], b[i:]...)
		default:
			b[i] = `{}[],:" \0-9e.n\`[r.IntN(16)]
		}
	}
	return b
}

// TestFastDecodeMatchesJSON: what the fast path reads it reads as
// encoding/json does, values written by json.Marshal and random
// corruptions of them alike; and it does read what lvs-rs writes.
func TestFastDecodeMatchesJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	fast := 0
	for range 2000 {
		d := randDesired(r, true)
		b, _ := json.Marshal(&d)
		if !checkDesiredDecode(t, b) && !bytes.ContainsAny(b, `\`) && !bytes.Contains(b, []byte("family(")) &&
			!bytes.Contains(b, []byte("fwd(")) && !bytes.Contains(b, []byte("é")) {
			t.Fatalf("fast decoding refused a plain desired state:\n%s", b)
		}
		rec := randRecord(r, false)
		rb, _ := json.Marshal(&rec)
		if !checkRecordDecode(t, rb) && !bytes.ContainsAny(rb, `\`) && !bytes.Contains(rb, []byte("é")) && !bytes.Contains(rb, []byte("family(")) {
			t.Fatalf("fast decoding refused a plain record:\n%s", rb)
		}
		for range 20 {
			if checkDesiredDecode(t, mutate(r, b)) {
				fast++
			}
			checkRecordDecode(t, mutate(r, rb))
		}
	}
	if fast == 0 {
		t.Fatal("no mutated desired state took the fast path: the test proves nothing")
	}
	var big Desired
	big = DesiredFrom(bigConfig(20, 10))
	b, _ := encodeDesired(&big)
	if !checkDesiredDecode(t, b.bytes()) {
		t.Fatal("the fast path refused the desired state lvs-rs writes")
	}
}

// FuzzRecordDecode: the fast path never accepts what encoding/json
// refuses, nor reads anything differently
// (go test -fuzz FuzzRecordDecode ./pkg/director/).
func FuzzRecordDecode(f *testing.F) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 20 {
		d := randDesired(r, false)
		b, _ := json.Marshal(&d)
		f.Add(b)
		rec := randRecord(r, false)
		rb, _ := json.Marshal(&rec)
		f.Add(rb)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDesiredDecode(t, b)
		checkRecordDecode(t, b)
	})
}

// TestParseIPv4: the fast dotted-quad parser reads what netip.ParseAddr
// reads, and refuses the rest.
func TestParseIPv4(t *testing.T) {
	for _, s := range []string{"1.2.3.4", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "1..3.4",
		".1.2.3", "1.2.3.", "1.2.3.4a", "::1", "", "1.2.3.00", "10.0.0.1%eth0", "1.2.3.-4"} {
		got, ok := parseIPv4([]byte(s))
		want, err := netip.ParseAddr(s)
		if ok && (err != nil || got != want || !want.Is4()) {
			t.Errorf("parseIPv4(%q) = %v, ParseAddr: %v, %v", s, got, want, err)
		}
		if !ok && err == nil && want.Is4() {
			t.Errorf("parseIPv4(%q) refused an address ParseAddr reads", s)
		}
	}
}

// TestDamagedRecordMessages: a damaged record is refused with the message
// encoding/json's reading gives, whatever the fast path would have read.
func TestDamagedRecordMessages(t *testing.T) {
	good := `{"version":2,"desired":{"interface":"eth0"},"services":[{"family":"inet","protocol":"tcp","address":"10.0.0.1","port":80,` +
		`"destinations":[{"address":"10.0.0.11","port":80}]}]}`
	for _, bad := range []string{
		good[:len(good)-1],
		strings.Replace(good, `"port":80,`, `"port":70000,`, 1),
		strings.Replace(good, `"port":80,`, `"port":"80",`, 1),
		strings.Replace(good, `"port":80}`, `"port":-1}`, 1),
		strings.Replace(good, `10.0.0.11`, `10.0.0.311`, 1),
		strings.Replace(good, `"inet"`, `"inet7"`, 1),
		strings.Replace(good, `"version":2`, `"version":2.5`, 1),
		good + "x",
	} {
		s := state.Store{Dir: t.TempDir()}
		if err := s.Write(Role, []byte(bad)); err != nil {
			t.Fatal(err)
		}
		_, err := decodeRecordSlow([]byte(bad))
		if err == nil {
			t.Fatalf("encoding/json reads %s", bad)
		}
		want := s.Corrupt(Role, err)
		if _, _, err := loadRecord(s); err == nil || err.Error() != want.Error() || !errors.Is(err, state.ErrCorrupt) {
			t.Errorf("loadRecord(%s) = %v, want %v", bad, err, want)
		}
	}
}

// TestSameRecord: records are the same only when every field is, the
// services (compared without reflection) included.
func TestSameRecord(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for range 200 {
		a := randRecord(r, false)
		if len(a.Services) == 0 || len(a.Services[0].Destinations) == 0 {
			continue
		}
		b := cloneRecord(a)
		if !sameRecord(a, b) {
			t.Fatalf("a record differs from itself read back:\n%+v\n%+v", a, b)
		}
		for _, change := range []func(*record){
			func(x *record) { x.Services[0].Port++ },
			func(x *record) { x.Services[0].Destinations[0].Port++ },
			func(x *record) { x.Services = x.Services[1:] },
			func(x *record) { x.NFTable += "x" },
		} {
			c := cloneRecord(a)
			change(&c)
			if sameRecord(a, c) {
				t.Fatalf("a changed record is the same:\n%+v\n%+v", a, c)
			}
		}
	}
}

// cloneRecord copies r's services deeply.
func cloneRecord(r record) record {
	r.Services = slices.Clone(r.Services)
	for i := range r.Services {
		r.Services[i].Destinations = slices.Clone(r.Services[i].Destinations)
	}
	return r
}

// TestDestinationKeyNearMisses: the record's destination keys in the
// layout lvs-rs writes, and near misses of it, decode as encoding/json
// decodes them or take the slow path.
func TestDestinationKeyNearMisses(t *testing.T) {
	checkNearMisses(t, "records", []string{
		`{"address":"10.0.0.2","port":80}`, `{"address":"10.0.0.2","port":0}`, `{"address":"255.255.255.255","port":65535}`,
		`{"address":"10.0.0.2","port":08}`, `{"address":"10.0.0.2","port":00}`, `{"address":"10.0.0.2","port":65536}`,
		`{"address":"10.0.0.2","port":123456}`, `{"address":"10.0.0.2","port":80.5}`, `{"address":"10.0.0.2","port":8e1}`,
		`{"address":"10.0.0.2","port":-1}`, `{"address":"10.0.0.2","port":}`, `{"address":"10.0.0.2","port":80 }`,
		`{"address":"10.0.0.2","port":80,"port":81}`, `{"address":"10.0.0.2","port":80,"x":1}`,
		`{"address":"10.0.0.256","port":80}`, `{"address":"10.0.0.02","port":80}`, `{"address":"1.2.3.4.5","port":80}`,
		`{"address":"2001:db8::1","port":80}`, `{"address":"::ffff:10.0.0.2","port":80}`, `{"address":"","port":80}`,
		`{"address":"10.0.0.2"}`, `{"address":"10.0.0.2","port":80`,
	}, func(dest string) bool {
		return checkRecordDecode(t, []byte(`{"version":2,"desired":{},"services":[{"family":"inet","protocol":"tcp","address":"10.0.0.1","port":80,"destinations":[`+
			dest+`,`+dest+`]}]}`))
	})
}

// TestDesiredDestinationNearMisses: desired destinations in the layout
// lvs-rs writes for IPv4, and near misses of it, decode as encoding/json
// decodes them or take the slow path.
func TestDesiredDestinationNearMisses(t *testing.T) {
	const head = `{"family":"inet","address":"10.0.0.2","port":`
	checkNearMisses(t, "desired states", []string{
		head + `80,"forward":"route","weight":1}`,
		head + `0,"forward":"masq","weight":0}`,
		head + `65535,"forward":"tunnel","weight":4294967295}`,
		head + `80,"forward":"route","weight":4294967296}`,
		head + `80,"forward":"route","weight":12345678901}`,
		head + `80,"forward":"route","weight":01}`,
		head + `80,"forward":"route","weight":1.5}`,
		head + `80,"forward":"route","weight":1,"upper_threshold":5}`,
		head + `80,"forward":"route","weight":1,"weight":2}`,
		head + `80,"forward":"ROUTE","weight":1}`,
		head + `80,"forward":"routed","weight":1}`,
		head + `80,"forward":"dr","weight":1}`,
		head + `65536,"forward":"route","weight":1}`,
		head + `080,"forward":"route","weight":1}`,
		`{"family":"inet","address":"10.0.0.256","port":80,"forward":"route","weight":1}`,
		`{"family":"inet","address":"2001:db8::2","port":80,"forward":"route","weight":1}`,
		`{"family":"inet6","address":"10.0.0.2","port":80,"forward":"route","weight":1}`,
		head + `80,"forward":"route","weight":1 }`,
		head + `80,"forward":"route"}`,
	}, func(dest string) bool {
		return checkDesiredDecode(t, []byte(`{"interface":"eth0","vips":["10.0.0.1"],"services":[{"service":{"family":"inet","protocol":"tcp",`+
			`"address":"10.0.0.1","port":80,"scheduler":"wrr","netmask":32},"destinations":[`+dest+`,`+dest+`]}]}`))
	})
}

// checkNearMisses runs check (a decode compared with encoding/json's,
// reporting whether it took the fast path) on each destination, and fails
// unless at least 3 took the fast path.
func checkNearMisses(t *testing.T, what string, dests []string, check func(dest string) bool) {
	t.Helper()
	fast := 0
	for _, d := range dests {
		if check(d) {
			fast++
		}
	}
	if fast < 3 {
		t.Fatalf("only %d of the %s took the fast path", fast, what)
	}
}

// TestCountOpen: countOpen counts the '{' and '[' bytes of any input, at
// every length and alignment, as a byte loop does (the alphabet holds
// bytes that differ from '{' or '[' in the high bit only).
func TestCountOpen(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	alphabet := []byte(`{[]}"a,:\` + "\xfb\xdb\x3b\x00\xff\x01")
	for n := range 200 {
		b := make([]byte, n)
		for i := range b {
			if r.IntN(4) == 0 {
				b[i] = byte(r.Uint32())
			} else {
				b[i] = alphabet[r.IntN(len(alphabet))]
			}
		}
		for off := range min(n, 8) + 1 {
			wantObj, wantArr := 0, 0
			for _, c := range b[off:] {
				wantObj += boolInt(c == '{')
				wantArr += boolInt(c == '[')
			}
			if o, a := countOpen(b[off:]); o != wantObj || a != wantArr {
				t.Fatalf("countOpen(%q) = %d, %d; want %d, %d", b[off:], o, a, wantObj, wantArr)
			}
		}
	}
}

// boolInt is 1 for true, 0 for false.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
