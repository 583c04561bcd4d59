package sysctl

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrUnknownKey is wrapped by every error about a key outside the closed
// set of parameters lvs-rs writes (see Key.Validate).
var ErrUnknownKey = errors.New("not a kernel parameter lvs-rs manages")

// ipv4ConfParams are the per-device parameters under net/ipv4/conf/DEV
// that lvs-rs may read and write.
var ipv4ConfParams = []string{"arp_ignore", "arp_announce", "rp_filter", "send_redirects", "accept_local"}

// ipv6ConfParams are the per-device parameters under net/ipv6/conf/DEV
// that lvs-rs may read and write: forwarding (an IPv6 nat director sets
// conf/all's) and accept_ra (set to 2 where it is 1 before that, so
// router advertisements keep configuring the interface).
var ipv6ConfParams = []string{"forwarding", "accept_ra"}

// IPVSParam is an IPVS parameter under net/ipv4/vs that lvs-rs may set,
// with the values the kernel accepts for it.
type IPVSParam struct {
	Name     string
	Min, Max int64
}

// ipvsParams is the closed set of IPVS parameters, sorted by name. The
// ranges are those the kernel documents (ip-sysctl's IPVS section);
// parameters holding jiffies, vectors or CPU lists are left out.
var ipvsParams = []IPVSParam{
	{"backup_only", 0, 1},
	{"cache_bypass", 0, 1},
	{"conn_reuse_mode", 0, 2},
	{"conntrack", 0, 1},
	{"drop_entry", 0, 3},
	{"drop_packet", 0, 3},
	{"expire_nodest_conn", 0, 1},
	{"expire_quiescent_template", 0, 1},
	{"ignore_tunneled", 0, 1},
	{"nat_icmp_send", 0, 1},
	{"pmtu_disc", 0, 1},
	{"run_estimation", 0, 1},
	{"schedule_icmp", 0, 1},
	{"secure_tcp", 0, 3},
	{"sloppy_sctp", 0, 1},
	{"sloppy_tcp", 0, 1},
	{"snat_reroute", 0, 1},
	{"sync_persist_mode", 0, 1},
	{"sync_retries", 0, 3},
	{"sync_version", 0, 1},
}

// IPVSParams returns the IPVS parameters lvs-rs may set, sorted by name.
func IPVSParams() []IPVSParam { return slices.Clone(ipvsParams) }

// LookupIPVS returns the IPVS parameter called name.
func LookupIPVS(name string) (IPVSParam, bool) {
	i, ok := slices.BinarySearchFunc(ipvsParams, name, func(p IPVSParam, n string) int { return strings.Compare(p.Name, n) })
	if !ok {
		return IPVSParam{}, false
	}
	return ipvsParams[i], true
}

// IPVS returns the key net/ipv4/vs/NAME.
func IPVS(name string) Key { return Key{"net", "ipv4", "vs", name} }

// Validate reports whether k is one of the parameters lvs-rs manages:
// net/ipv4/ip_forward, net/ipv4/conf/DEV/{arp_ignore, arp_announce,
// rp_filter, send_redirects, accept_local} and net/ipv6/conf/DEV/
// {forwarding, accept_ra} with DEV a valid interface name (or all,
// default), and net/ipv4/vs/NAME for a NAME of IPVSParams.
// Any other key, and in particular one with an empty, "." or ".." segment,
// a '/' or a NUL byte, is refused with an error wrapping ErrUnknownKey.
// Read and Write call it, so no key can address a file outside the set.
func (k Key) Validate() error {
	if k.valid() {
		return nil
	}
	return fmt.Errorf("sysctl: key %q: %w", clipKey(strings.Join(k, "/")), ErrUnknownKey)
}

func (k Key) valid() bool {
	if len(k) == 5 && k[0] == "net" && k[1] == "ipv6" && k[2] == "conf" {
		return validDevice(k[3]) && slices.Contains(ipv6ConfParams, k[4])
	}
	if len(k) < 3 || k[0] != "net" || k[1] != "ipv4" {
		return false
	}
	switch {
	case len(k) == 3:
		return k[2] == "ip_forward"
	case len(k) == 4 && k[2] == "vs":
		_, ok := LookupIPVS(k[3])
		return ok
	case len(k) == 5 && k[2] == "conf":
		return validDevice(k[3]) && slices.Contains(ipv4ConfParams, k[4])
	}
	return false
}

// ValidateKey parses s (a Key.String()) and validates it; role packages
// call it on every key of a record they load.
func ValidateKey(s string) error { return ParseKey(s).Validate() }

// ValidateRecords validates the key of every record, for a role loading
// its state record: the first bad key is returned.
func ValidateRecords(rs []Record) error {
	for _, r := range rs {
		if err := ValidateKey(r.Key); err != nil {
			return err
		}
	}
	return nil
}

// validDevice applies the kernel's rules for a device name
// (dev_valid_name): 1 to 15 bytes, not "." or "..", no '/', ':', NUL or
// whitespace. "all" and "default" pass as they are valid names.
func validDevice(name string) bool {
	if name == "" || len(name) > 15 || name == "." || name == ".." {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c == '/' || c == ':' || c == 0x7f || c == 0xa0 {
			return false
		}
	}
	return true
}

// clipKey shortens a key for an error message.
func clipKey(s string) string {
	if len(s) > 96 {
		return s[:96] + "..."
	}
	return s
}
