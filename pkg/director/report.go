package director

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
	"text/tabwriter"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// Report is the director's status. Its JSON form is documented in doc.go.
type Report struct {
	Applied       bool         `json:"applied"`
	Interface     string       `json:"interface"`
	IPVSVersion   string       `json:"ipvs_version,omitempty"`
	ConnTableSize uint32       `json:"conn_table_size,omitempty"`
	VIPs          []VIPRow     `json:"vips"`
	Sysctls       []SysctlRow  `json:"sysctls"`
	Timeouts      []TimeoutRow `json:"timeouts"`
	Sync          []SyncRow    `json:"sync"`
	Announce      []RouteRow   `json:"announce"`
	Marks         []MarkRow    `json:"marks"`
	Services      []ServiceRow `json:"services"`
	Drift         []string     `json:"drift"`
}

// VIPRow is one VIP the config wants or lvs-rs bound.
type VIPRow struct {
	Address netip.Addr `json:"address"`
	Dev     string     `json:"dev"`
	Label   string     `json:"label,omitempty"`
	Present bool       `json:"present"`
	Owned   bool       `json:"owned"` // bound by lvs-rs (false: found there and left alone)
}

// SysctlRow is one kernel parameter the director wants or changed.
type SysctlRow struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	Want  string `json:"want,omitempty"`
	Prior string `json:"prior,omitempty"` // before lvs-rs set it ("" = not set by lvs-rs)
	Wrote string `json:"wrote,omitempty"`
}

// ServiceRow is one of lvs-rs's virtual services.
type ServiceRow struct {
	ipvs.ServiceKey
	Scheduler          string           `json:"scheduler"`
	Flags              string           `json:"flags,omitempty"`
	Persistence        uint32           `json:"persistence"`                   // seconds; 0 = off
	PersistenceNetmask int              `json:"persistence_netmask,omitempty"` // prefix length, when persistent
	Present            bool             `json:"present"`
	Stats              ipvs.Stats       `json:"stats"`
	Destinations       []DestinationRow `json:"real_servers"`
}

// DestinationRow is one real server of a service.
type DestinationRow struct {
	Address         netip.Addr         `json:"address"`
	Port            uint16             `json:"port"`
	Forward         ipvs.ForwardMethod `json:"forward"` // route, tunnel or masq
	Weight          uint32             `json:"weight"`
	UpperThreshold  uint32             `json:"upper_threshold,omitempty"`
	LowerThreshold  uint32             `json:"lower_threshold,omitempty"`
	Tunnel          string             `json:"tunnel,omitempty"` // tunnel forwarding: "ipip", "gue port 6080 csum", ...
	Present         bool               `json:"present"`
	ActiveConns     uint32             `json:"active_conns"`
	InactiveConns   uint32             `json:"inactive_conns"`
	PersistentConns uint32             `json:"persistent_conns"`
	Stats           ipvs.Stats         `json:"stats"`
}

// IsApplied reports whether a state record exists.
func (r *Report) IsApplied() bool { return r.Applied }

// Drifted reports whether the kernel differs from the config.
func (r *Report) Drifted() bool { return len(r.Drift) > 0 }

// WriteTable renders the report in the spirit of ipvsadm -Ln --stats
// --rate, followed by the VIPs, the sysctls, the IPVS timeouts, the sync
// daemons and the drift.
func (r *Report) WriteTable(w io.Writer) error {
	if !r.Applied {
		_, err := fmt.Fprintln(w, "director: nothing applied")
		return err
	}
	if err := r.writeServices(w); err != nil {
		return err
	}
	for _, v := range r.VIPs {
		state := "present"
		if !v.Present {
			state = "missing"
		}
		owner := "bound by lvs-rs"
		if !v.Owned {
			owner = "not bound by lvs-rs"
		}
		label := ""
		if v.Label != "" {
			label = " label " + v.Label
		}
		fmt.Fprintf(w, "vip %s dev %s%s: %s, %s\n", v.Address, v.Dev, label, state, owner)
	}
	for _, s := range r.Sysctls {
		line := fmt.Sprintf("sysctl %s = %s", s.Key, s.Value)
		if s.Want != "" {
			line += ", want " + s.Want
		}
		if s.Wrote != "" {
			line += fmt.Sprintf(" (lvs-rs set it to %s; it was %s)", s.Wrote, s.Prior)
		}
		fmt.Fprintln(w, line)
	}
	r.writeSettings(w)
	r.writeNetwork(w)
	if len(r.Drift) == 0 {
		_, err := fmt.Fprintln(w, "no drift: the kernel matches the config")
		return err
	}
	fmt.Fprintf(w, "drift (%d):\n", len(r.Drift))
	for _, d := range r.Drift {
		fmt.Fprintf(w, "  %s\n", d)
	}
	return nil
}

// The header of the services table, tab-separated.
const (
	serviceHeader     = "Prot LocalAddress:Port\tScheduler\tFlags"
	destinationHeader = "  -> RemoteAddress:Port\tForward\tWeight\tActiveConn\tInActConn\tConns\tInPkts\tOutPkts\tInBytes\tOutBytes\tCPS\tInPPS\tOutPPS\tInBPS\tOutBPS"
)

// writeServicesTabwriter renders the services table through
// text/tabwriter: the reference writeServices matches byte for byte, and
// its fallback for cells it does not lay out itself.
func (r *Report) writeServicesTabwriter(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "IP Virtual Server version %s (size=%d): lvs-rs services on %s\n", r.IPVSVersion, r.ConnTableSize, r.Interface)
	fmt.Fprintln(tw, serviceHeader)
	fmt.Fprintln(tw, destinationHeader)
	for _, s := range r.Services {
		name, flags := serviceLine(s)
		fmt.Fprintf(tw, "%s\t%s\t%s\t\t\t%s\n", name, s.Scheduler, flags, statsCells(s.Stats))
		for _, d := range s.Destinations {
			miss := destinationExtras(d)
			if !d.Present {
				miss += " (missing)"
			}
			fmt.Fprintf(tw, "  -> %s%s\t%s\t%d\t%d\t%d\t%s\n", netip.AddrPortFrom(d.Address, d.Port), miss,
				d.Forward, d.Weight, d.ActiveConns, d.InactiveConns, statsCells(d.Stats))
		}
	}
	return tw.Flush()
}

// serviceLine renders the service's name and flags the way ipvsadm -Ln
// does: "TCP  10.0.0.100:80" or "FWM  10 IPv6", and "persistent 360 mask
// 255.255.255.0".
func serviceLine(s ServiceRow) (name, flags string) {
	if s.FWMark != 0 {
		name = fmt.Sprintf("FWM  %d", s.FWMark)
		if s.Family == ipvs.Inet6 {
			name += " IPv6"
		}
	} else {
		name = fmt.Sprintf("%-4s %s", strings.ToUpper(s.Protocol.String()), netip.AddrPortFrom(s.Address, s.Port))
	}
	if !s.Present {
		name += " (missing)"
	}
	return name, serviceFlags(&s)
}

// serviceFlags renders a service's flags cell: "persistent 360 mask
// 255.255.255.0 sh-port"; without persistence, its flags as they are.
func serviceFlags(s *ServiceRow) string {
	if s.Persistence == 0 {
		return s.Flags
	}
	var f []string
	if s.Persistence > 0 {
		f = append(f, fmt.Sprintf("persistent %d", s.Persistence))
		switch {
		case s.Family == ipvs.Inet && s.PersistenceNetmask != 32:
			f = append(f, "mask "+maskString(s.PersistenceNetmask))
		case s.Family == ipvs.Inet6 && s.PersistenceNetmask != 128:
			f = append(f, fmt.Sprintf("mask %d", s.PersistenceNetmask))
		}
	}
	if s.Flags != "" {
		f = append(f, s.Flags)
	}
	return strings.Join(f, " ")
}

// maskString renders an IPv4 prefix length as a dotted mask.
func maskString(bits int) string {
	var m [4]byte
	for i := range bits {
		m[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom4(m).String()
}

// statsCells renders the counters as tab-separated cells.
func statsCells(s ipvs.Stats) string {
	cells := []uint64{s.Connections, s.PacketsIn, s.PacketsOut, s.BytesIn, s.BytesOut, s.CPS, s.PPSIn, s.PPSOut, s.BPSIn, s.BPSOut}
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = human(c)
	}
	return strings.Join(out, "\t")
}

// human renders a counter the way ipvsadm does without --exact: K, M, G
// above 100000.
func human(v uint64) string {
	switch {
	case v >= 100_000_000_000:
		return fmt.Sprintf("%dG", v/1_000_000_000)
	case v >= 100_000_000:
		return fmt.Sprintf("%dM", v/1_000_000)
	case v >= 100_000:
		return fmt.Sprintf("%dK", v/1_000)
	}
	return fmt.Sprint(v)
}
