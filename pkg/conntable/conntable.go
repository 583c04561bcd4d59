package conntable

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
// host). A missing ip_vs_conn means IPVS is not loaded: the error wraps
// fs.ErrNotExist. ip_vs_conn6 is optional.
func Read(procRoot string) ([]Conn, error) {
	var out []Conn
	for i, name := range Files {
		f, err := os.Open(filepath.Join(procRoot, name))
		if i > 0 && errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("conntable: %w", err)
		}
		cs, err := Parse(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("conntable: %s: %w", name, err)
		}
		out = append(out, cs...)
	}
	return out, nil
}

// Parse reads one table: a header line, then
// "PRO CADDR CPORT VADDR VPORT DADDR DPORT STATE EXPIRES [PENAME PEDATA]",
// IPv4 addresses and all ports in hex, IPv6 addresses in colon form.
func Parse(r io.Reader) ([]Conn, error) {
	var out []Conn
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || (n == 1 && f[0] == "Pro") {
			continue
		}
		c, err := parseLine(f)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, c)
	}
	return out, sc.Err()
}

func parseLine(f []string) (Conn, error) {
	if len(f) < 9 {
		return Conn{}, fmt.Errorf("%d fields, want at least 9", len(f))
	}
	var c Conn
	var err error
	if c.Client, err = addrPort(f[1], f[2]); err != nil {
		return Conn{}, err
	}
	if c.Virtual, err = addrPort(f[3], f[4]); err != nil {
		return Conn{}, err
	}
	if c.Real, err = addrPort(f[5], f[6]); err != nil {
		return Conn{}, err
	}
	if c.Expires, err = strconv.Atoi(f[8]); err != nil {
		return Conn{}, fmt.Errorf("expiry %q: %w", f[8], err)
	}
	c.Protocol, c.State = f[0], f[7]
	c.PE = strings.Join(f[9:], " ")
	return c, nil
}

// addrPort parses an address (8 hex digits, or IPv6 colon form) and a
// port (4 hex digits).
func addrPort(a, p string) (netip.AddrPort, error) {
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("port %q: %w", p, err)
	}
	var addr netip.Addr
	if strings.Contains(a, ":") {
		addr, err = netip.ParseAddr(a)
	} else {
		var b []byte
		b, err = hex.DecodeString(a)
		if err == nil && len(b) != 4 {
			err = errors.New("not 8 hex digits")
		}
		if err == nil {
			addr = netip.AddrFrom4([4]byte(b))
		}
	}
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %q: %w", a, err)
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}
