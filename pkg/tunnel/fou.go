package tunnel

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/lvs-rs/lvs-rs/internal/faultinject"
	"github.com/lvs-rs/lvs-rs/internal/rtnl"
	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// FOUModule is the kernel module of FOU and GUE receive ports.
const FOUModule = "fou"

// ErrNoFOU reports that the kernel cannot provide GUE receive ports: the
// fou module is neither built in nor loadable.
var ErrNoFOU = errors.New("kernel module fou is not available (no gue receive port; the generic netlink family fou is unknown and modprobe fou failed)")

// The kernel's fou generic netlink interface (include/uapi/linux/fou.h).
const (
	fouFamily = "fou"

	fouCmdAdd = 1
	fouCmdDel = 2
	fouCmdGet = 3

	fouAttrPort     = 1 // be16
	fouAttrAF       = 2 // u8
	fouAttrIPProto  = 3 // u8
	fouAttrType     = 4 // u8
	fouAttrLocalV4  = 6 // be32
	fouAttrLocalV6  = 7
	fouAttrPeerV4   = 8
	fouAttrPeerV6   = 9
	fouAttrPeerPort = 10 // be16
	fouAttrIfindex  = 11 // s32

	fouEncapDirect = 1
	fouEncapGUE    = 2
)

// FOUPort is an IPv4 FOU or GUE receive port as the kernel lists it.
type FOUPort struct {
	Port uint16
	// GUE: the port decapsulates GUE, whose header names the inner
	// protocol; otherwise it is direct FOU of Protocol.
	GUE      bool
	Protocol uint8
	// Bound: the port takes only packets to one local address, from one
	// peer, or on one device.
	Bound bool
}

// String renders the port as ip fou would add it: "port 6080 gue",
// "port 6080 ipproto 4 local ...".
func (p FOUPort) String() string {
	s := fmt.Sprintf("port %d gue", p.Port)
	if !p.GUE {
		s = fmt.Sprintf("port %d ipproto %d", p.Port, p.Protocol)
	}
	if p.Bound {
		s += " (bound to an address or device)"
	}
	return s
}

// FOU talks to the kernel's fou generic netlink family over one socket,
// opened in the network namespace of the thread that called DialFOU (as
// /proc/sys/net resolves in the caller's). Every request is bounded by
// rtnl.Timeout. It is not safe for concurrent use.
type FOU struct {
	c *genetlink.Conn
	// family and version are the fou family's, once known.
	family  uint16
	version uint8
}

// DialFOU opens a generic netlink socket. It neither resolves nor loads
// the fou family.
func DialFOU() (*FOU, error) {
	c, err := genetlink.Dial(nil)
	if err != nil {
		return nil, fmt.Errorf("tunnel: open generic netlink socket: %w", err)
	}
	return &FOU{c: c}, nil
}

// Close closes the socket.
func (f *FOU) Close() error { return f.c.Close() }

// do runs one request under the deadline.
func (f *FOU) do(fn func() error) error {
	if err := f.c.SetDeadline(time.Now().Add(rtnl.Timeout)); err != nil {
		return err
	}
	defer f.c.SetDeadline(time.Time{})
	return fn()
}

// Loaded reports whether the fou family is registered (the module is
// loaded or built in). It lists the families, which never loads a module.
func (f *FOU) Loaded() (bool, error) {
	if f.family != 0 {
		return true, nil
	}
	var fams []genetlink.Family
	err := f.do(func() (err error) { fams, err = f.c.ListFamilies(); return err })
	if err != nil {
		return false, fmt.Errorf("tunnel: list generic netlink families: %w", err)
	}
	for _, fam := range fams {
		if fam.Name == fouFamily {
			f.family, f.version = fam.ID, fam.Version
			return true, nil
		}
	}
	return false, nil
}

// Load makes the fou family available. Asking the kernel for the family
// by name makes it load a module that declares the family's alias
// (net-pf-16-proto-16-family-fou), which fou itself does not declare on
// the kernels lvs-rs knows; so, when the family stays unknown, it runs
// the fixed command "modprobe fou", killed after 30 s, and asks again.
// If the family is still unknown, the error wraps ErrNoFOU.
func (f *FOU) Load(ctx context.Context) error {
	if ok, err := f.Loaded(); err != nil || ok {
		return err
	}
	gerr := f.resolve()
	if gerr == nil || !errors.Is(gerr, os.ErrNotExist) {
		return gerr
	}
	merr := faultinject.Write("modprobe "+FOUModule, func() error { return modprobe(ctx, FOUModule) })
	if err := f.resolve(); err == nil || !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return fmt.Errorf("tunnel: %w (%v)", ErrNoFOU, merr)
}

// resolve asks the kernel for the fou family by name.
func (f *FOU) resolve() error {
	var fam genetlink.Family
	err := f.do(func() (err error) { fam, err = f.c.GetFamily(fouFamily); return err })
	if err != nil {
		return fmt.Errorf("tunnel: resolve generic netlink family %s: %w", fouFamily, err)
	}
	f.family, f.version = fam.ID, fam.Version
	return nil
}

// Ports lists the IPv4 FOU and GUE receive ports of the namespace, in the
// kernel's order; none when fou is not loaded (it is never loaded to list).
func (f *FOU) Ports() ([]FOUPort, error) {
	if ok, err := f.Loaded(); err != nil || !ok {
		return nil, err
	}
	var msgs []genetlink.Message
	err := f.do(func() (err error) {
		msgs, err = f.c.Execute(genetlink.Message{Header: genetlink.Header{Command: fouCmdGet, Version: f.version}}, f.family, netlink.Request|netlink.Dump)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("tunnel: list fou ports: %w", err)
	}
	var out []FOUPort
	for _, m := range msgs {
		p, v4, err := decodeFOUPort(m.Data)
		if err != nil {
			return nil, fmt.Errorf("tunnel: list fou ports: %w", err)
		}
		if v4 {
			out = append(out, p)
		}
	}
	return out, nil
}

// decodeFOUPort reads one port of a dump; v4 tells whether it is IPv4.
// Kernels before 5.2 send only the family, port, protocol and type.
func decodeFOUPort(b []byte) (p FOUPort, v4 bool, err error) {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return FOUPort{}, false, err
	}
	v4 = true // the kernel's default family
	for ad.Next() {
		switch ad.Type() {
		case fouAttrAF:
			v4 = ad.Uint8() == unix.AF_INET
		case fouAttrPort:
			p.Port = be16(ad.Bytes())
		case fouAttrIPProto:
			p.Protocol = ad.Uint8()
		case fouAttrType:
			p.GUE = ad.Uint8() == fouEncapGUE
		case fouAttrLocalV4, fouAttrLocalV6, fouAttrPeerV4, fouAttrPeerV6:
			p.Bound = p.Bound || !zero(ad.Bytes())
		case fouAttrPeerPort:
			p.Bound = p.Bound || be16(ad.Bytes()) != 0
		case fouAttrIfindex:
			p.Bound = p.Bound || ad.Int32() != 0
		}
	}
	return p, v4, ad.Err()
}

func be16(b []byte) uint16 {
	if len(b) < 2 {
		return 0
	}
	return binary.BigEndian.Uint16(b)
}

func zero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// portRequest is an add or delete of an IPv4 port bound to nothing.
func (f *FOU) portRequest(cmd uint8, port uint16, gue bool) (genetlink.Message, error) {
	ae := netlink.NewAttributeEncoder()
	ae.Bytes(fouAttrPort, binary.BigEndian.AppendUint16(nil, port))
	ae.Uint8(fouAttrAF, unix.AF_INET)
	if gue {
		ae.Uint8(fouAttrType, fouEncapGUE)
	}
	b, err := ae.Encode()
	return genetlink.Message{Header: genetlink.Header{Command: cmd, Version: f.version}, Data: b}, err
}

// write sends m, a request that changes the kernel, through the fault
// point what.
func (f *FOU) write(what string, m genetlink.Message) error {
	return faultinject.Write(what, func() error {
		return f.do(func() error { _, err := f.c.Execute(m, f.family, netlink.Request|netlink.Acknowledge); return err })
	})
}

// AddGUE adds an IPv4 GUE receive port on every address (ip fou add port
// PORT gue). It loads nothing: without fou (see Load) the error wraps
// ErrNoFOU. The kernel refuses a port a socket already holds, another
// receive port's included, with EADDRINUSE (its own check for the same
// receive port, EALREADY, comes after binding the socket).
func (f *FOU) AddGUE(port uint16) error {
	ok, err := f.Loaded()
	if err == nil && !ok {
		err = ErrNoFOU
	}
	if err == nil {
		var m genetlink.Message
		if m, err = f.portRequest(fouCmdAdd, port, true); err == nil {
			err = f.write(fmt.Sprintf("add gue port %d", port), m)
		}
	}
	if err != nil {
		return fmt.Errorf("tunnel: add gue receive port %d: %w", port, err)
	}
	return nil
}

// Delete removes the IPv4 receive port on every address (ip fou del port
// PORT). A port that is not there (the kernel says EINVAL), or no fou at
// all, counts as success.
func (f *FOU) Delete(port uint16) error {
	ok, err := f.Loaded()
	if err != nil || !ok {
		return err
	}
	m, err := f.portRequest(fouCmdDel, port, false)
	if err == nil {
		err = f.write(fmt.Sprintf("delete gue port %d", port), m)
	}
	if errors.Is(err, unix.EINVAL) {
		// EINVAL is also what a malformed request gets: gone only if the
		// kernel no longer lists the port.
		ps, lerr := f.Ports()
		if lerr == nil && !hasUnbound(ps, port) {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("tunnel: delete gue receive port %d: %w", port, err)
	}
	return nil
}

// hasUnbound reports whether ps holds port bound to nothing.
func hasUnbound(ps []FOUPort, port uint16) bool {
	for _, p := range ps {
		if p.Port == port && !p.Bound {
			return true
		}
	}
	return false
}
