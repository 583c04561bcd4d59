package doctor

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The director's IPv6 checks.
const (
	// NameIPv6Forwarding: an IPv6 nat service needs
	// net.ipv6.conf.all.forwarding=1, or the kernel drops the real
	// servers' replies (ip6_forward).
	NameIPv6Forwarding = "ipv6-forwarding"
	// NameVIPSource: an IPv6 VIP on the director's interface that is not
	// deprecated is the source the kernel picks for the director's own
	// traffic to the VIP's neighbours (RFC 6724's longest matching
	// prefix), its direct health checks to the real servers included.
	NameVIPSource = "vip-source"
	// NameKeepAddrOnDown: with keep_addr_on_down off (the default), the
	// IPv6 VIPs go with every address of the interface when it goes down.
	NameKeepAddrOnDown = "keep-addr-on-down"
)

// ipv6VIPs returns the IPv6 VIPs of t.
func (t Target) ipv6VIPs() []netip.Addr {
	var out []netip.Addr
	for _, v := range t.VIPs {
		if v.Unmap().Is6() {
			out = append(out, v.Unmap())
		}
	}
	return out
}

func checkIPv6Forwarding(_ context.Context, h Host, t Target) []Result {
	v, err := h.sysctl("net/ipv6/conf/all/forwarding")
	switch {
	case os.IsNotExist(err):
		return []Result{problem(NameIPv6Forwarding, "IPv6 is disabled on this host (no net.ipv6.conf.all.forwarding), and an IPv6 virtual server uses nat",
			"enable IPv6 (ipv6.disable=0 on the kernel command line)")}
	case err != nil:
		return []Result{problem(NameIPv6Forwarding, fmt.Sprintf("cannot read net.ipv6.conf.all.forwarding: %v", err), "run doctor on the host itself")}
	case v != 1:
		return []Result{problem(NameIPv6Forwarding,
			fmt.Sprintf("net.ipv6.conf.all.forwarding is %d and an IPv6 virtual server uses nat: the kernel drops the real servers' replies instead of forwarding them to the clients", v),
			"lvs-rs start --role director sets it to 1 (and accept_ra to 2 where it is 1, so router advertisements keep configuring the interfaces)")}
	}
	return []Result{ok(NameIPv6Forwarding)}
}

// inet6Addr is one line of /proc/net/if_inet6.
type inet6Addr struct {
	addr  netip.Addr
	dev   string
	flags uint64 // IFA_F_*
}

// ifaDeprecated is IFA_F_DEPRECATED.
const ifaDeprecated = 0x20

// inet6Addrs reads /proc/net/if_inet6: every IPv6 address of the host
// with its device and flags.
func (h Host) inet6Addrs() ([]inet6Addr, error) {
	f, err := os.Open(filepath.Join(h.ProcRoot, "net", "if_inet6"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []inet6Addr
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 6 {
			continue
		}
		b, err := hex.DecodeString(fs[0])
		if err != nil || len(b) != 16 {
			continue
		}
		flags, err := strconv.ParseUint(fs[4], 16, 32)
		if err != nil {
			continue
		}
		out = append(out, inet6Addr{addr: netip.AddrFrom16([16]byte(b)), dev: fs[5], flags: flags})
	}
	return out, sc.Err()
}

func checkVIPSource(_ context.Context, h Host, t Target) []Result {
	as, err := h.inet6Addrs()
	if os.IsNotExist(err) {
		r := ok(NameVIPSource)
		r.Note = "not checked: IPv6 is disabled on this host"
		return []Result{r}
	}
	if err != nil {
		return []Result{problem(NameVIPSource, fmt.Sprintf("cannot read the IPv6 addresses: %v", err), "run doctor on the host itself")}
	}
	var out []Result
	for _, v := range t.ipv6VIPs() {
		i := slices.IndexFunc(as, func(a inet6Addr) bool { return a.addr == v && a.dev == t.Interface })
		if i < 0 || as[i].flags&ifaDeprecated != 0 {
			continue
		}
		out = append(out, problem(NameVIPSource,
			fmt.Sprintf("IPv6 VIP %s on %s is not deprecated: the kernel picks it as the source of the director's own connections to its neighbours (the longest matching prefix), so a direct health check to a dr real server, which holds the VIP too and answers itself, fails", v, t.Interface),
			fmt.Sprintf("ip -6 addr change %s/128 dev %s preferred_lft 0 (lvs-rs binds the VIPs it adds so; this one was there before it)", v, t.Interface)))
	}
	if len(out) == 0 {
		out = append(out, ok(NameVIPSource))
	}
	return out
}

func checkKeepAddrOnDown(_ context.Context, h Host, t Target) []Result {
	r := ok(NameKeepAddrOnDown)
	all, err := h.sysctl("net/ipv6/conf/all/keep_addr_on_down")
	if err != nil {
		r.Note = "not checked: " + err.Error()
		return []Result{r}
	}
	eff := all
	if eff == 0 {
		own, err := h.sysctl("net/ipv6/conf/" + t.Interface + "/keep_addr_on_down")
		if err != nil && !os.IsNotExist(err) {
			r.Note = "not checked: " + err.Error()
			return []Result{r}
		}
		eff = own
	}
	if eff <= 0 {
		r.Note = fmt.Sprintf("keep_addr_on_down is off for %s: when it goes down, the kernel deletes its IPv6 VIPs with its other IPv6 addresses; lvs-rs run binds them again at its next pass, a one-shot lvs-rs start does not (run it again, or set net.ipv6.conf.%s.keep_addr_on_down=1)", t.Interface, t.Interface)
	}
	return []Result{r}
}
