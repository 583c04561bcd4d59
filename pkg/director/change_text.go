package director

import (
	"net/netip"
	"strconv"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// AppendText appends the change as String renders it. The kinds a large
// start or stop has thousands of (service and destination additions,
// edits and deletions) are appended without fmt; start prints 11,000
// lines for 1,000 services of ten real servers. Its receiver, and the
// helpers' service and destination, are pointers: under an emulated CPU
// (the VM test bed) copying a 176-byte Change and its parts for each line
// took a fifth of the report's time.
func (c *Change) AppendText(b []byte) ([]byte, error) {
	switch c.Kind {
	case AddService:
		b = appendService(append(b, "add service "...), &c.Service)
		return appendDescribeService(append(b, ' '), &c.Service), nil
	case AddDestination:
		b = appendDestination(append(b, "add destination "...), &c.Destination)
		b = appendService(append(b, " to "...), &c.Service)
		return appendDescribeDestination(append(b, ": "...), &c.Destination), nil
	case DeleteDestination:
		b = appendDestination(append(b, "delete destination "...), &c.Destination)
		return appendService(append(b, " from "...), &c.Service), nil
	case DeleteService:
		return appendService(append(b, "delete service "...), &c.Service), nil
	case EditDestination:
		b = appendDestination(append(b, "edit destination "...), &c.Destination)
		b = appendService(append(b, " of "...), &c.Service)
		b = append(b, ": "...)
		for i, d := range destinationDiff(c.FromDestination(), c.Destination) {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, d...)
		}
		return b, nil
	}
	return append(b, c.String()...), nil
}

// appendService appends s as its String method renders it.
func appendService(b []byte, s *ipvs.Service) []byte {
	if s.FWMark != 0 || !s.Address.IsValid() {
		return append(b, s.String()...)
	}
	b = append(append(b, s.Protocol.String()...), ' ')
	return netip.AddrPortFrom(s.Address, s.Port).AppendTo(b)
}

// appendDestination appends d as its String method renders it.
func appendDestination(b []byte, d *ipvs.Destination) []byte {
	if !d.Address.IsValid() {
		return append(b, d.String()...)
	}
	return netip.AddrPortFrom(d.Address, d.Port).AppendTo(b)
}

// appendDescribeService appends describeService(s).
func appendDescribeService(b []byte, s *ipvs.Service) []byte {
	if s.Flags != 0 {
		return append(b, describeService(*s)...)
	}
	return append(append(b, "scheduler "...), s.Scheduler...)
}

// appendDescribeDestination appends describeDestination(d).
func appendDescribeDestination(b []byte, d *ipvs.Destination) []byte {
	if d.Forward == ipvs.Tunnel || d.UpperThreshold != 0 || d.LowerThreshold != 0 {
		return append(b, describeDestination(*d)...)
	}
	n := len(b)
	b = append(b, d.Forward.String()...)
	for i := n; i < len(b); i++ {
		if 'A' <= b[i] && b[i] <= 'Z' {
			b[i] += 'a' - 'A'
		}
	}
	return strconv.AppendUint(append(b, ", weight "...), uint64(d.Weight), 10)
}
