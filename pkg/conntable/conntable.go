package conntable

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
)

// Conn is one entry of the IPVS connection table.
type Conn struct {
	Protocol string         `json:"protocol"` // as the kernel names it: TCP, UDP, SCTP, IP (a persistence template of a fwmark service)
	State    string         `json:"state"`    // ESTABLISHED, FIN_WAIT, NONE (a persistence template), ...
	Expires  int            `json:"expires"`  // seconds until the entry expires
	Client   netip.AddrPort `json:"client"`
	Virtual  netip.AddrPort `json:"virtual"`
	Real     netip.AddrPort `json:"real_server"`
	// PE is the persistence engine and its data (e.g. "sip CALLID"), when any.
	PE string `json:"pe,omitempty"`
}

// Files are the connection-table files below a proc root, in read order.
var Files = []string{"net/ip_vs_conn", "net/ip_vs_conn6"}

// Read returns every entry of the files below procRoot ("/proc" on a
// host), held in memory: Each reads a table of any size. A missing
// ip_vs_conn means IPVS is not loaded: the error wraps fs.ErrNotExist.
// ip_vs_conn6 is optional.
func Read(procRoot string) ([]Conn, error) {
	var out []Conn
	err := Each(procRoot, nil, func(c Conn) error {
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Each calls fn with each entry of the files below procRoot ("/proc" on a
// host) that sel selects (every entry when sel is nil), in table order,
// reading one line at a time: memory does not grow with the table, and
// an entry sel leaves out is parsed no further than its protocol and
// virtual address. An error of fn stops the reading and is returned. A
// missing ip_vs_conn means IPVS is not loaded: the error wraps
// fs.ErrNotExist, and fn was not called. ip_vs_conn6 is optional.
func Each(procRoot string, sel *Selector, fn func(Conn) error) error {
	for i, name := range Files {
		f, err := os.Open(filepath.Join(procRoot, name))
		if i > 0 && errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("conntable: %w", err)
		}
		err = scan(f, sel, fn)
		f.Close()
		if s, ok := err.(errStop); ok {
			return s.err
		}
		if err != nil {
			return fmt.Errorf("conntable: %s: %w", name, err)
		}
	}
	return nil
}

// Parse reads one table: a header line, then
// "PRO CADDR CPORT VADDR VPORT DADDR DPORT STATE EXPIRES [PENAME PEDATA]",
// IPv4 addresses and all ports in hex, IPv6 addresses in colon form.
func Parse(r io.Reader) ([]Conn, error) {
	var out []Conn
	if err := scan(r, nil, func(c Conn) error {
		out = append(out, c)
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// errStop carries fn's error out of scan, to be returned as it is.
type errStop struct{ err error }

func (e errStop) Error() string { return e.err.Error() }

// scan calls fn for each entry of one table that sel selects (all when
// sel is nil).
func scan(r io.Reader, sel *Selector, fn func(Conn) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	names := interned{}
	for n := 1; sc.Scan(); n++ {
		c, keep, err := parseLine(sc.Bytes(), sel, names)
		if err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		if !keep {
			continue
		}
		if err := fn(c); err != nil {
			return errStop{err}
		}
	}
	return sc.Err()
}

// interned holds one copy of each protocol and state name, so that an
// entry does not keep its whole line alive through them.
type interned map[string]string

func (m interned) of(b []byte) string {
	if s, ok := m[string(b)]; ok {
		return s
	}
	s := string(b)
	m[s] = s
	return s
}

// nFields is the number of fields every line has.
const nFields = 9

// parseLine parses one line: keep is false for an empty line, the
// header ("Pro FromIP ..."), and an entry sel does not select (parsed no
// further than needed to tell).
func parseLine(line []byte, sel *Selector, names interned) (Conn, bool, error) {
	var f [nFields][]byte
	rest := line
	n := 0
	for ; n < nFields; n++ {
		rest = bytes.TrimLeft(rest, " \t")
		if len(rest) == 0 {
			break
		}
		end := bytes.IndexAny(rest, " \t")
		if end < 0 {
			end = len(rest)
		}
		f[n], rest = rest[:end], rest[end:]
	}
	switch {
	case n == 0:
		return Conn{}, false, nil
	case string(f[0]) == "Pro":
		return Conn{}, false, nil
	case n < nFields:
		return Conn{}, false, fmt.Errorf("%d fields, want at least %d", n, nFields)
	}
	var c Conn
	var err error
	c.Protocol = names.of(f[0])
	if c.Virtual, err = addrPort(f[3], f[4]); err != nil {
		return Conn{}, false, err
	}
	vipMatch := sel == nil || sel.matchVirtual(c.Protocol, c.Virtual)
	if !vipMatch && !sel.maybeFWMark(c.Protocol, c.Virtual) {
		return Conn{}, false, nil
	}
	if c.Real, err = addrPort(f[5], f[6]); err != nil {
		return Conn{}, false, err
	}
	if !vipMatch && !sel.matchFWMark(c) {
		return Conn{}, false, nil
	}
	if c.Client, err = addrPort(f[1], f[2]); err != nil {
		return Conn{}, false, err
	}
	if c.Expires, err = decimal(f[8]); err != nil {
		return Conn{}, false, err
	}
	c.State = names.of(f[7])
	if pe := bytes.Fields(rest); len(pe) > 0 {
		c.PE = string(bytes.Join(pe, []byte{' '}))
	}
	return c, true, nil
}

// decimal parses the expiry, a non-negative decimal number.
func decimal(b []byte) (int, error) {
	if len(b) == 0 || len(b) > 9 {
		return 0, fmt.Errorf("expiry %q: not a number of seconds", b)
	}
	v := 0
	for _, ch := range b {
		if ch < '0' || ch > '9' {
			return 0, fmt.Errorf("expiry %q: not a number of seconds", b)
		}
		v = v*10 + int(ch-'0')
	}
	return v, nil
}

// hexValue parses up to max hex digits.
func hexValue(b []byte, max int) (uint32, bool) {
	if len(b) == 0 || len(b) > max {
		return 0, false
	}
	var v uint32
	for _, ch := range b {
		switch {
		case ch >= '0' && ch <= '9':
			ch -= '0'
		case ch >= 'a' && ch <= 'f':
			ch -= 'a' - 10
		case ch >= 'A' && ch <= 'F':
			ch -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint32(ch)
	}
	return v, true
}

// addrPort parses an address (8 hex digits, or IPv6 colon form) and a
// port (4 hex digits).
func addrPort(a, p []byte) (netip.AddrPort, error) {
	port, ok := hexValue(p, 4)
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("port %q: not 4 hex digits", p)
	}
	var addr netip.Addr
	if bytes.IndexByte(a, ':') >= 0 {
		var err error
		if addr, err = netip.ParseAddr(string(a)); err != nil {
			return netip.AddrPort{}, fmt.Errorf("address %q: %w", a, err)
		}
	} else {
		v, ok := hexValue(a, 8)
		if !ok || len(a) != 8 {
			return netip.AddrPort{}, fmt.Errorf("address %q: not 8 hex digits", a)
		}
		addr = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}
