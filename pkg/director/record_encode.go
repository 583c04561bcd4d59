package director

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strconv"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// The record's encoding, appended by hand for the large arrays (services,
// destinations, VIPs) and through encoding/json for the small sections:
// byte for byte what json.Marshal writes for the same values (see
// TestFastEncodeMatchesJSON), without its reflection.

// appendDesired appends d as json.Marshal renders it. A non-nil flush is
// given the buffer after each service and returns the one to go on with
// (encodeDesiredAgainst compares and empties it), or false to stop: appendDesired
// then returns what it has, and errStopped.
func appendDesired(b []byte, d *Desired, flush func([]byte) ([]byte, bool)) ([]byte, error) {
	b, err := appendDesiredHead(b, d)
	for i := range d.Services {
		b = appendDesiredService(comma(b, i), &d.Services[i])
		if flush != nil {
			var more bool
			if b, more = flush(b); !more {
				return b, errStopped
			}
		}
	}
	return appendDesiredTail(b, d, err)
}

// appendDesiredHead appends what precedes d's first service in its
// encoding: up to `"services":[` when it has services.
func appendDesiredHead(b []byte, d *Desired) ([]byte, error) {
	b = appendString(append(b, `{"interface":`...), d.Interface)
	var err error
	if len(d.Sysctls) > 0 {
		b, err = appendSection(b, `,"sysctls":`, &d.Sysctls, err)
	}
	if d.Timeouts != (ipvs.Timeouts{}) {
		b, err = appendSection(b, `,"timeouts":`, &d.Timeouts, err)
	}
	if len(d.Sync) > 0 {
		b, err = appendSection(b, `,"sync":`, &d.Sync, err)
	}
	if len(d.VIPs) > 0 {
		b = append(b, `,"vips":[`...)
		for i, a := range d.VIPs {
			b = appendAddr(comma(b, i), a)
		}
		b = append(b, ']')
	}
	if len(d.Services) > 0 {
		b = append(b, `,"services":[`...)
	}
	return b, err
}

// appendDesiredTail appends what follows d's last service in its
// encoding; err is appendDesiredHead's, returned unless a section here
// fails first.
func appendDesiredTail(b []byte, d *Desired, err error) ([]byte, error) {
	if len(d.Services) > 0 {
		b = append(b, ']')
	}
	if d.Announce != nil {
		b, err = appendSection(b, `,"announce":`, &d.Announce, err)
	}
	if len(d.Marks) > 0 {
		b, err = appendSection(b, `,"marks":`, &d.Marks, err)
	}
	return append(b, '}'), err
}

// errStopped is appendDesired's error when its flush stopped it.
var errStopped = errors.New("stopped")

// recordParts renders r as json.Marshal would, in pieces to be written
// one after the other: its desired state (already encoded) and its
// services' encoding, when it has one (servicesJSON), are pieces of their
// own, not copied (the desired state two: Desired and desiredRest). It
// sets servicesJSON to the services' piece.
func recordParts(r *record) ([][]byte, error) {
	head := strconv.AppendInt(append(make([]byte, 0, 32), `{"version":`...), int64(r.Version), 10)
	if len(r.Desired)+len(r.desiredRest) == 0 {
		return recordRest(head, r)
	}
	parts, err := recordRest(make([]byte, 0, 64), r)
	return append([][]byte{append(head, `,"desired":`...), r.Desired, r.desiredRest}, parts...), err
}

// recordRest renders what follows the desired state in r's encoding,
// after b: b with the small sections, then the services' piece and the
// closing brace.
func recordRest(b []byte, r *record) ([][]byte, error) {
	var err error
	if len(r.Addresses) > 0 {
		b, err = appendSection(b, `,"addresses":`, &r.Addresses, err)
	}
	if len(r.Sysctls) > 0 {
		b, err = appendSection(b, `,"sysctls":`, &r.Sysctls, err)
	}
	if len(r.Timeouts) > 0 {
		b, err = appendSection(b, `,"timeouts":`, &r.Timeouts, err)
	}
	if len(r.Daemons) > 0 {
		b, err = appendSection(b, `,"sync_daemons":`, &r.Daemons, err)
	}
	if r.Routes != nil {
		b, err = appendSection(b, `,"announce_routes":`, &r.Routes, err)
	}
	if len(r.PastRoutes) > 0 {
		b, err = appendSection(b, `,"past_announce_routes":`, &r.PastRoutes, err)
	}
	if r.NFTable != "" {
		b = appendString(append(b, `,"nftables_table":`...), r.NFTable)
	}
	if len(r.Services) == 0 {
		return [][]byte{append(b, '}')}, err
	}
	if r.servicesJSON == nil {
		r.servicesJSON = appendRecordServices(make([]byte, 0, servicesSize(r.Services)), r.Services)
	}
	return [][]byte{append(b, `,"services":`...), r.servicesJSON, []byte("}")}, err
}

// servicesSize is room for the encoding of svcs, sized for IPv4 (a
// service takes about 90 bytes, a destination 40).
func servicesSize(svcs []recordService) int {
	n := 2
	for _, s := range svcs {
		n += 96 + 44*len(s.Destinations)
	}
	return n
}

// appendRecordServices appends the record's services as a JSON array.
func appendRecordServices(b []byte, svcs []recordService) []byte {
	b = append(b, '[')
	for i := range svcs {
		b = appendRecordService(comma(b, i), &svcs[i])
	}
	return append(b, ']')
}

// appendRecordService appends one of the record's services.
func appendRecordService(b []byte, s *recordService) []byte {
	b = appendServiceKey(append(b, '{'), s.ServiceKey, false)
	if len(s.Destinations) > 0 {
		b = append(b, `,"destinations":[`...)
		for i, d := range s.Destinations {
			b = appendAddr(append(comma(b, i), `{"address":`...), d.Address)
			b = append(strconv.AppendUint(append(b, `,"port":`...), uint64(d.Port), 10), '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendServiceKey appends the fields ipvs.ServiceKey and ipvs.Service
// share, as json.Marshal renders either: the family (left out when zero
// for a Service, omitFamily), protocol, address, port and fwmark, each
// but the first after a comma.
func appendServiceKey(b []byte, k ipvs.ServiceKey, omitFamily bool) []byte {
	start := len(b)
	if k.Family != 0 || !omitFamily {
		b = appendFamily(append(b, `"family":`...), k.Family)
	}
	if k.Protocol != 0 {
		b = appendProtocol(field(b, start, `"protocol":`), k.Protocol)
	}
	if k.Address != (netip.Addr{}) {
		b = appendAddr(field(b, start, `"address":`), k.Address)
	}
	if k.Port != 0 {
		b = strconv.AppendUint(field(b, start, `"port":`), uint64(k.Port), 10)
	}
	if k.FWMark != 0 {
		b = strconv.AppendUint(field(b, start, `"fwmark":`), uint64(k.FWMark), 10)
	}
	return b
}

// field appends name, after a comma unless it is the first field of the
// object written from b[start].
func field(b []byte, start int, name string) []byte {
	if len(b) > start {
		b = append(b, ',')
	}
	return append(b, name...)
}

// appendDesiredService appends one desired service.
func appendDesiredService(b []byte, ds *DesiredService) []byte {
	s := &ds.Service
	b = append(b, `{"service":{`...)
	k := len(b)
	b = appendServiceKey(b, ipvs.ServiceKey{Family: s.Family, Protocol: s.Protocol, Address: s.Address, Port: s.Port, FWMark: s.FWMark}, true)
	if len(b) > k {
		b = append(b, ',')
	}
	b = appendString(append(b, `"scheduler":`...), s.Scheduler)
	b = appendUint(b, `,"flags":`, uint64(s.Flags), true)
	b = appendUint(b, `,"timeout":`, uint64(s.Timeout), true)
	b = strconv.AppendInt(append(b, `,"netmask":`...), int64(s.Netmask), 10)
	if s.PEName != "" {
		b = appendString(append(b, `,"pe_name":`...), s.PEName)
	}
	b = append(b, '}')
	if len(ds.Destinations) > 0 {
		b = append(b, `,"destinations":[`...)
		for i := range ds.Destinations {
			b = appendDestinationJSON(comma(b, i), &ds.Destinations[i])
		}
		b = append(b, ']')
	}
	if len(ds.LastWeights) > 0 {
		b = append(b, `,"last_weights":[`...)
		for i := range ds.LastWeights {
			w := &ds.LastWeights[i]
			b = appendAddr(append(comma(b, i), `{"address":`...), w.Address)
			b = appendUint(b, `,"port":`, uint64(w.Port), false)
			b = append(appendUint(b, `,"weight":`, uint64(w.Weight), false), '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendDestinationJSON appends an ipvs.Destination as JSON.
func appendDestinationJSON(b []byte, d *ipvs.Destination) []byte {
	b = append(b, '{')
	if d.Family != 0 {
		b = append(appendFamily(append(b, `"family":`...), d.Family), ',')
	}
	b = appendAddr(append(b, `"address":`...), d.Address)
	b = appendUint(b, `,"port":`, uint64(d.Port), false)
	b = append(b, `,"forward":`...)
	if int(d.Forward) < len(forwardJSON) {
		b = append(b, forwardJSON[d.Forward]...)
	} else {
		b = appendText(b, d.Forward)
	}
	b = appendUint(b, `,"weight":`, uint64(d.Weight), false)
	b = appendUint(b, `,"upper_threshold":`, uint64(d.UpperThreshold), true)
	b = appendUint(b, `,"lower_threshold":`, uint64(d.LowerThreshold), true)
	b = appendUint(b, `,"tunnel_type":`, uint64(d.TunnelType), true)
	b = appendUint(b, `,"tunnel_port":`, uint64(d.TunnelPort), true)
	b = appendUint(b, `,"tunnel_flags":`, uint64(d.TunnelFlags), true)
	return append(b, '}')
}

// forwardJSON are the forwarding methods as ForwardMethod.MarshalText
// renders them, quoted.
var forwardJSON = [...]string{`"masq"`, `"local"`, `"tunnel"`, `"route"`, `"bypass"`}

// comma appends the separator before element i of an array.
func comma(b []byte, i int) []byte {
	if i > 0 {
		return append(b, ',')
	}
	return b
}

// appendUint appends key and n, unless omitEmpty and n is 0.
func appendUint(b []byte, key string, n uint64, omitEmpty bool) []byte {
	if omitEmpty && n == 0 {
		return b
	}
	return strconv.AppendUint(append(b, key...), n, 10)
}

// appendAddr appends an address as its MarshalText renders it, quoted.
func appendAddr(b []byte, a netip.Addr) []byte {
	start := len(b)
	b, _ = a.AppendText(append(b, '"')) // never fails
	if a.Zone() == "" {
		return append(b, '"') // digits, dots and colons: nothing to escape
	}
	if !plain(b[start+1:]) { // a zone with characters to escape
		return appendString(b[:start], string(b[start+1:]))
	}
	return append(b, '"')
}

// appendFamily appends f as appendText would.
func appendFamily(b []byte, f ipvs.Family) []byte {
	switch f {
	case ipvs.Inet:
		return append(b, `"inet"`...)
	case ipvs.Inet6:
		return append(b, `"inet6"`...)
	}
	return appendText(b, f)
}

// appendProtocol appends p as appendText would.
func appendProtocol(b []byte, p ipvs.Protocol) []byte {
	switch p {
	case ipvs.TCP:
		return append(b, `"tcp"`...)
	case ipvs.UDP:
		return append(b, `"udp"`...)
	}
	return appendText(b, p)
}

// appendText appends v as encoding/json renders a TextMarshaler.
func appendText(b []byte, v interface{ MarshalText() ([]byte, error) }) []byte {
	t, _ := v.MarshalText() // the ipvs types' never fail
	return appendString(b, string(t))
}

// appendString appends s as a JSON string, as json.Marshal renders it.
func appendString(b []byte, s string) []byte {
	if plain(s) {
		return append(append(append(b, '"'), s...), '"')
	}
	q, _ := json.Marshal(s) // a string always encodes
	return append(b, q...)
}

// plain reports whether s needs no escaping in JSON: printable ASCII
// other than the quote, the backslash and what json.Marshal escapes for
// HTML.
func plain[S string | []byte](s S) bool {
	for i := range len(s) {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// appendSection appends key and v encoded by json.Marshal; the first
// error is kept.
func appendSection(b []byte, key string, v any, err error) ([]byte, error) {
	m, merr := json.Marshal(v)
	if merr != nil {
		return b, cmpOr(err, merr)
	}
	return append(append(b, key...), m...), err
}

// cmpOr returns the first non-nil error.
func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
