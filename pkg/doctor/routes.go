package doctor

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	mbits "math/bits"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// route is one route of the main table as /proc/net/route (IPv4) or
// /proc/net/ipv6_route shows it.
type route struct {
	Dev     string
	Dst     netip.Prefix
	Gateway netip.Addr // zero when directly connected
	Metric  uint32
}

// Route flags of /proc/net/route and /proc/net/ipv6_route.
const (
	rtfUp     = 0x1
	rtfReject = 0x200
)

// routes reads the IPv4 and IPv6 routes that are up.
func (h Host) routes() ([]route, error) {
	v4, err := parseRoute4(filepath.Join(h.ProcRoot, "net", "route"))
	if err != nil {
		return nil, err
	}
	v6, err := parseRoute6(filepath.Join(h.ProcRoot, "net", "ipv6_route"))
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	return append(v4, v6...), nil
}

// parseRoute4 parses /proc/net/route: a header, then tab-separated
// Iface Destination Gateway Flags RefCnt Use Metric Mask ..., addresses as
// the kernel's __be32 printed in host order.
func parseRoute4(path string) ([]route, error) {
	return scanLines(path, true, func(f []string) (route, bool, error) {
		if len(f) < 8 {
			return route{}, false, fmt.Errorf("short line")
		}
		flags, err1 := strconv.ParseUint(f[3], 16, 32)
		metric, err2 := strconv.ParseUint(f[6], 10, 32)
		dst, err3 := hexAddr4(f[1])
		gw, err4 := hexAddr4(f[2])
		mask, err5 := hexAddr4(f[7])
		if err := firstErr(err1, err2, err3, err4, err5); err != nil {
			return route{}, false, err
		}
		if flags&rtfUp == 0 || flags&rtfReject != 0 {
			return route{}, false, nil
		}
		bits := 0
		for _, b := range mask.As4() {
			bits += mbits.OnesCount8(b)
		}
		r := route{Dev: f[0], Dst: netip.PrefixFrom(dst, bits), Metric: uint32(metric)}
		if !gw.IsUnspecified() {
			r.Gateway = gw
		}
		return r, true, nil
	})
}

// parseRoute6 parses /proc/net/ipv6_route: DST DSTLEN SRC SRCLEN NEXTHOP
// METRIC REFCNT USE FLAGS DEV, numbers in hex.
func parseRoute6(path string) ([]route, error) {
	return scanLines(path, false, func(f []string) (route, bool, error) {
		if len(f) < 10 {
			return route{}, false, fmt.Errorf("short line")
		}
		dst, err1 := hexAddr6(f[0])
		plen, err2 := strconv.ParseUint(f[1], 16, 8)
		gw, err3 := hexAddr6(f[4])
		metric, err4 := strconv.ParseUint(f[5], 16, 32)
		flags, err5 := strconv.ParseUint(f[8], 16, 32)
		if err := firstErr(err1, err2, err3, err4, err5); err != nil {
			return route{}, false, err
		}
		if flags&rtfUp == 0 || flags&rtfReject != 0 {
			return route{}, false, nil
		}
		r := route{Dev: f[9], Dst: netip.PrefixFrom(dst, int(plen)), Metric: uint32(metric)}
		if !gw.IsUnspecified() {
			r.Gateway = gw
		}
		return r, true, nil
	})
}

// scanLines calls parse for the fields of each line of path (after the
// header when header is set) and collects the routes it keeps.
func scanLines(path string, header bool, parse func([]string) (route, bool, error)) ([]route, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []route
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if header && n == 1 {
			continue
		}
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		r, keep, err := parse(fields)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		if keep {
			out = append(out, r)
		}
	}
	return out, sc.Err()
}

// defaultRoute returns the default route that wins (lowest metric, the
// first on a tie) of the family, or nil.
func defaultRoute(rs []route, v6 bool) *route {
	var best *route
	for i := range rs {
		r := &rs[i]
		if r.Dst.Bits() != 0 || r.Dst.Addr().Is6() != v6 {
			continue
		}
		if best == nil || r.Metric < best.Metric {
			best = r
		}
	}
	return best
}

func hexAddr4(s string) (netip.Addr, error) {
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("address %q: %w", s, err)
	}
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], uint32(v))
	return netip.AddrFrom4(b), nil
}

func hexAddr6(s string) (netip.Addr, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 16 {
		return netip.Addr{}, fmt.Errorf("address %q: not 32 hex digits", s)
	}
	return netip.AddrFrom16([16]byte(b)), nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
