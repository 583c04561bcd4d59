package director

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"net/netip"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// The fast path of the record's decoding: the large arrays (services,
// destinations, VIPs) are read without reflection; the small sections go
// through encoding/json. Each function reports false for anything outside
// the subset scan accepts or a key it does not know, and the caller then
// decodes with encoding/json: when these succeed, the result is the one
// json.Unmarshal gives (see TestFastDecodeMatchesJSON and
// FuzzRecordDecode), and every error is encoding/json's.

// decodeRecordFast decodes a whole record; its desired state is kept
// encoded, matched but not validated (see record.desired).
func decodeRecordFast(b []byte) (record, bool) {
	var r record
	s := scan{b: b}
	var seen uint32
	ok := s.object(func(key []byte) bool {
		switch string(key) {
		case "version":
			n, ok := s.int()
			r.Version = n
			return once(&seen, 0) && ok
		case "desired":
			raw, ok := s.skip()
			r.Desired = raw
			return once(&seen, 1) && ok && len(raw) > 0 && raw[0] == '{'
		case "services":
			// One array for every recorded destination, sized by counting
			// (an estimate: growing it is still correct): a service is an
			// object holding one array of destination objects.
			objects, arrays := countOpen(s.b[s.i:])
			services := max(arrays-1, 0) // the services' array is one
			s.keys = make([]ipvs.DestinationKey, 0, max(objects-services, 0))
			r.Services = make([]recordService, 0, services)
			s.ws()
			start := s.i
			ok := once(&seen, 2) && s.array(func() bool {
				r.Services = append(r.Services, recordService{})
				return decodeRecordService(&s, &r.Services[len(r.Services)-1])
			}) && nonNil(&r.Services)
			r.servicesJSON = s.b[start:s.i:s.i] // what a save of the same services copies
			return ok
		case "nftables_table":
			v, ok := s.str()
			r.NFTable = string(v)
			return once(&seen, 3) && ok
		case "addresses":
			return once(&seen, 4) && s.section(&r.Addresses)
		case "sysctls":
			return once(&seen, 5) && s.section(&r.Sysctls)
		case "timeouts":
			return once(&seen, 6) && s.section(&r.Timeouts)
		case "sync_daemons":
			return once(&seen, 7) && s.section(&r.Daemons)
		case "announce_routes":
			return once(&seen, 8) && s.section(&r.Routes)
		case "past_announce_routes":
			return once(&seen, 9) && s.section(&r.PastRoutes)
		}
		return false
	})
	return r, ok && s.end()
}

// countOpen counts the objects and arrays that start in b: its '{' and
// '[' bytes, strings included. It reads eight bytes at a time and counts
// the matching ones with integer arithmetic (countByte): under an
// emulated CPU (the VM test bed), where every load is costly and vector
// instructions more so, two bytes.Count took 10 ms over the 485 KB of a
// record's 11,000 objects, a byte loop 5.8 ms, this 2 ms.
func countOpen(b []byte) (objects, arrays int) {
	const curly, square = 0x7b7b7b7b7b7b7b7b, 0x5b5b5b5b5b5b5b5b // '{' and '[' in each byte
	i := 0
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		objects += countByte(w ^ curly)
		arrays += countByte(w ^ square)
	}
	for _, c := range b[i:] {
		switch c {
		case '{':
			objects++
		case '[':
			arrays++
		}
	}
	return objects, arrays
}

// countByte counts the zero bytes of x, exactly: a byte's high bit ends
// up set in t when neither it nor its low seven bits were; the multiply
// sums those bits into the top byte (bits.OnesCount64 would call a
// software fallback on CPUs without POPCNT, the VM's among them).
func countByte(x uint64) int {
	const low7, ones = 0x7f7f7f7f7f7f7f7f, 0x0101010101010101
	t := ^((x&low7 + low7) | x | low7)
	return int((t >> 7) * ones >> 56)
}

// nonNil makes a decoded empty array an empty slice, as encoding/json
// does, and reports true.
func nonNil[T any](v *[]T) bool {
	if *v == nil {
		*v = []T{}
	}
	return true
}

// section decodes the next value into v with encoding/json: the record's
// small sections, whose decoding is not worth a fast path.
func (s *scan) section(v any) bool {
	raw, ok := s.skip()
	return ok && raw[0] != 'n' && json.Unmarshal(raw, v) == nil
}

// decodeRecordService reads one of the record's services.
func decodeRecordService(s *scan, rs *recordService) bool {
	var seen uint32
	return s.object(func(key []byte) bool {
		if string(key) != "destinations" {
			return decodeServiceKey(s, key, &rs.ServiceKey, &seen)
		}
		start := len(s.keys)
		ok := once(&seen, keyFields) && s.array(func() bool {
			s.keys = append(s.keys, ipvs.DestinationKey{})
			return decodeDestinationKey(s, &s.keys[len(s.keys)-1])
		})
		rs.Destinations = s.keys[start:len(s.keys):len(s.keys)]
		return ok && nonNil(&rs.Destinations)
	})
}

// keyFields is how many of seen's bits decodeServiceKey uses: the first.
const keyFields = 5

// decodeServiceKey reads the value of key when it names one of the fields
// a service key shares with ipvs.Service (family, protocol, address,
// port, fwmark) into k, marking it in seen; false for any other key.
func decodeServiceKey(s *scan, key []byte, k *ipvs.ServiceKey, seen *uint32) bool {
	switch string(key) {
	case "family":
		return once(seen, 0) && s.family(&k.Family)
	case "protocol":
		return once(seen, 1) && s.protocol(&k.Protocol)
	case "address":
		return once(seen, 2) && s.addr(&k.Address)
	case "port":
		n, ok := s.uint(math.MaxUint16)
		k.Port = uint16(n)
		return once(seen, 3) && ok
	case "fwmark":
		n, ok := s.uint(math.MaxUint32)
		k.FWMark = uint32(n)
		return once(seen, 4) && ok
	}
	return false
}

// decodeDestinationKey reads one of the record's destinations.
func decodeDestinationKey(s *scan, k *ipvs.DestinationKey) bool {
	var seen uint32
	return s.object(func(key []byte) bool {
		switch string(key) {
		case "address":
			return once(&seen, 0) && s.addr(&k.Address)
		case "port":
			n, ok := s.uint(math.MaxUint16)
			k.Port = uint16(n)
			return once(&seen, 1) && ok
		}
		return false
	})
}

// decodeDesiredFast decodes a desired state as Desired.UnmarshalJSON
// does; records older than Sysctls (with "ip_forward") take the slow path.
func decodeDesiredFast(b []byte) (Desired, bool) {
	var d Desired
	// One array for every destination, sized by counting objects and
	// arrays (an estimate: growing it is still correct), instead of each
	// service's slice growing on its own. A service takes two objects, its
	// entry and its service, and one array, its destinations; a
	// destination is one object; the whole takes one object and two
	// arrays (its VIPs and services). Objects less arrays is then at
	// least the destinations (more by about a service each).
	objects, arrays := countOpen(b)
	services := max(arrays-2, 0)
	s := scan{b: b, dests: make([]ipvs.Destination, 0, max(objects-arrays, 0))}
	var seen uint32
	ok := s.object(func(key []byte) bool {
		switch string(key) {
		case "interface":
			v, ok := s.str()
			d.Interface = string(v)
			return once(&seen, 0) && ok
		case "vips":
			return once(&seen, 1) && s.array(func() bool {
				var a netip.Addr
				ok := s.addr(&a)
				d.VIPs = append(d.VIPs, a)
				return ok
			}) && nonNil(&d.VIPs)
		case "services":
			d.Services = make([]DesiredService, 0, services)
			return once(&seen, 2) && s.array(func() bool {
				d.Services = append(d.Services, DesiredService{})
				return decodeDesiredService(&s, &d.Services[len(d.Services)-1])
			}) && nonNil(&d.Services)
		case "sysctls":
			return once(&seen, 3) && s.section(&d.Sysctls)
		case "timeouts":
			return once(&seen, 4) && s.section(&d.Timeouts)
		case "sync":
			return once(&seen, 5) && s.section(&d.Sync)
		case "announce":
			return once(&seen, 6) && s.section(&d.Announce)
		case "marks":
			return once(&seen, 7) && s.section(&d.Marks)
		}
		return false
	})
	return d, ok && s.end()
}

// decodeDesiredService reads one desired service.
func decodeDesiredService(s *scan, ds *DesiredService) bool {
	var seen uint32
	return s.object(func(key []byte) bool {
		switch string(key) {
		case "service":
			return once(&seen, 0) && decodeService(s, &ds.Service)
		case "destinations":
			start := len(s.dests)
			ok := once(&seen, 1) && s.array(func() bool {
				s.dests = append(s.dests, ipvs.Destination{})
				return decodeDestination(s, &s.dests[len(s.dests)-1])
			})
			ds.Destinations = s.dests[start:len(s.dests):len(s.dests)]
			return ok
		case "last_weights":
			return once(&seen, 2) && s.array(func() bool {
				ds.LastWeights = append(ds.LastWeights, LastWeight{})
				return decodeLastWeight(s, &ds.LastWeights[len(ds.LastWeights)-1])
			}) && nonNil(&ds.LastWeights)
		}
		return false
	})
}

// decodeLastWeight reads a LastWeight.
func decodeLastWeight(s *scan, v *LastWeight) bool {
	var seen uint32
	return s.object(func(key []byte) bool {
		switch string(key) {
		case "address":
			return once(&seen, 0) && s.addr(&v.Address)
		case "port":
			n, ok := s.uint(math.MaxUint16)
			v.Port = uint16(n)
			return once(&seen, 1) && ok
		case "weight":
			n, ok := s.uint(math.MaxUint32)
			v.Weight = uint32(n)
			return once(&seen, 2) && ok
		}
		return false
	})
}

// decodeService reads an ipvs.Service.
func decodeService(s *scan, v *ipvs.Service) bool {
	var (
		seen uint32
		k    ipvs.ServiceKey
	)
	ok := s.object(func(key []byte) bool {
		switch string(key) {
		case "scheduler":
			b, ok := s.str()
			if string(b) != s.sched { // most services share a scheduler: one string
				s.sched = string(b)
			}
			v.Scheduler = s.sched
			return once(&seen, keyFields) && ok
		case "flags":
			n, ok := s.uint(math.MaxUint32)
			v.Flags = ipvs.ServiceFlags(n)
			return once(&seen, keyFields+1) && ok
		case "timeout":
			n, ok := s.uint(math.MaxUint32)
			v.Timeout = uint32(n)
			return once(&seen, keyFields+2) && ok
		case "netmask":
			n, ok := s.int()
			v.Netmask = n
			return once(&seen, keyFields+3) && ok
		case "pe_name":
			b, ok := s.str()
			v.PEName = string(b)
			return once(&seen, keyFields+4) && ok
		}
		return decodeServiceKey(s, key, &k, &seen)
	})
	v.Family, v.Protocol, v.Address, v.Port, v.FWMark = k.Family, k.Protocol, k.Address, k.Port, k.FWMark
	return ok
}

// decodeDestination reads an ipvs.Destination.
func decodeDestination(s *scan, v *ipvs.Destination) bool {
	var seen uint32
	return s.object(func(key []byte) bool {
		var (
			bit int
			max uint64
		)
		switch string(key) {
		case "family":
			return once(&seen, 0) && s.family(&v.Family)
		case "address":
			return once(&seen, 1) && s.addr(&v.Address)
		case "forward":
			return once(&seen, 3) && s.forward(&v.Forward)
		case "port":
			bit, max = 2, math.MaxUint16
		case "weight":
			bit, max = 4, math.MaxUint32
		case "upper_threshold":
			bit, max = 5, math.MaxUint32
		case "lower_threshold":
			bit, max = 6, math.MaxUint32
		case "tunnel_type":
			bit, max = 7, math.MaxUint8
		case "tunnel_port":
			bit, max = 8, math.MaxUint16
		case "tunnel_flags":
			bit, max = 9, math.MaxUint16
		default:
			return false
		}
		n, ok := s.uint(max)
		switch bit {
		case 2:
			v.Port = uint16(n)
		case 4:
			v.Weight = uint32(n)
		case 5:
			v.UpperThreshold = uint32(n)
		case 6:
			v.LowerThreshold = uint32(n)
		case 7:
			v.TunnelType = ipvs.TunnelType(n)
		case 8:
			v.TunnelPort = uint16(n)
		case 9:
			v.TunnelFlags = ipvs.TunnelFlags(n)
		}
		return once(&seen, bit) && ok
	})
}
