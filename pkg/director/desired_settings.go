package director

import (
	"cmp"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

// Want asks for the kernel parameter key to hold value, replacing an
// earlier wish for the same key; Sysctls stays sorted by key. It never
// writes into the array d.Sysctls had: a Desired copied from d before
// (the long-running director's base desired state, which each pass
// copies and adds accept_local to) keeps its wishes.
func (d *Desired) Want(key sysctl.Key, value string) {
	k := key.String()
	i, found := slices.BinarySearchFunc(d.Sysctls, k, func(w SysctlWant, k string) int { return cmp.Compare(w.Key, k) })
	if found {
		if d.Sysctls[i].Value != value {
			d.Sysctls = slices.Clone(d.Sysctls)
			d.Sysctls[i].Value = value
		}
		return
	}
	d.Sysctls = slices.Insert(slices.Clip(d.Sysctls), i, SysctlWant{Key: k, Value: value})
}

// AcceptLocal asks for net/ipv4/conf/INTERFACE/accept_local=1: the
// director then accepts packets with one of its own addresses as source
// on its interface, what a health check sent through an IPv4 VIP (via:
// vip) needs: the real server answers from the VIP, one of the director's
// addresses, to the director's address on INTERFACE, and the answer
// comes in there (IPv6 delivers such packets as they are). The kernel
// accepts such a packet when conf/all or the receiving device's
// accept_local is set, so conf/all (every interface, those facing the
// internet too) is left as it is; an answer that comes in on another
// device needs that device's accept_local set by the operator. The
// long-running director calls it when a check goes via an IPv4 VIP;
// without an interface it asks for nothing.
func (d *Desired) AcceptLocal() {
	if d.Interface != "" {
		d.Want(sysctl.IPv4Conf(d.Interface, "accept_local"), "1")
	}
}

// NATWants returns what d asks for of the settings forwarding to a nat
// real server needs on the director (for an IPv4 service, v6 false,
// ip_forward=1 and send_redirects=0 on conf/all and the interface, for
// an IPv6 one conf/all/forwarding=1), in key order: DesiredFrom asks for
// them for a nat service of the file unless the file says otherwise
// (director.ip_forward: false, send_redirects: true). The long-running
// director takes them when a nat real server leaves the file, and keeps
// them while it drains (KeepNAT).
func (d Desired) NATWants(v6 bool) []SysctlWant {
	var out []SysctlWant
	for _, w := range d.Sysctls {
		if natWant(w, v6) {
			out = append(out, w)
		}
	}
	return out
}

// KeepNAT asks for ws, the forwarding settings a nat real server that
// left the file had (NATWants of the desired state it left), while it
// drains: its replies to the clients of its established connections are
// forwarded by the director until it is deleted. A file that left them
// alone gives none, and none is asked for then. Anything in ws that is
// not such a setting (a damaged record) is ignored.
func (d *Desired) KeepNAT(ws []SysctlWant) {
	for _, w := range ws {
		if natWant(w, false) || natWant(w, true) {
			d.Want(sysctl.ParseKey(w.Key), w.Value)
		}
	}
}

// natWant reports whether w is one of NATWants' settings for the family.
func natWant(w SysctlWant, v6 bool) bool {
	if v6 {
		return w.Key == sysctl.IPv6Conf("all", "forwarding").String() && w.Value == "1"
	}
	if w.Key == sysctl.IPForward().String() {
		return w.Value == "1"
	}
	k := sysctl.ParseKey(w.Key)
	return len(k) == 5 && k[0] == "net" && k[1] == "ipv4" && k[2] == "conf" && k[3] != "" && k[4] == "send_redirects" && w.Value == "0"
}

// wanted returns the value d wants for key.
func (d Desired) wanted(key string) (string, bool) {
	i, found := slices.BinarySearchFunc(d.Sysctls, key, func(w SysctlWant, k string) int { return cmp.Compare(w.Key, k) })
	if !found {
		return "", false
	}
	return d.Sysctls[i].Value, true
}

// UnmarshalJSON reads a Desired, also in the form of records written
// before Sysctls existed (a boolean "ip_forward").
func (d *Desired) UnmarshalJSON(b []byte) error {
	type plain Desired
	var v struct {
		plain
		IPForward bool `json:"ip_forward"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*d = Desired(v.plain)
	if v.IPForward {
		d.Want(sysctl.IPForward(), "1")
	}
	return nil
}

// settingsFrom resolves the director section's host-wide settings:
// sysctls, IPVS timeouts and the sync daemons.
func (d *Desired) settingsFrom(dir config.Director) {
	if dir.IPForward {
		d.Want(sysctl.IPForward(), "1")
	}
	if dir.DisableRedirects {
		d.Want(sysctl.IPv4Conf("all", "send_redirects"), "0")
		if dir.Interface != "" {
			d.Want(sysctl.IPv4Conf(dir.Interface, "send_redirects"), "0")
		}
	}
	for _, p := range dir.IPVSSysctls {
		d.Want(sysctl.IPVS(p.Name), strconv.FormatInt(p.Value, 10))
	}
	d.Timeouts = ipvs.Timeouts{TCP: whole(dir.Timeouts.TCP), TCPFin: whole(dir.Timeouts.TCPFin), UDP: whole(dir.Timeouts.UDP)}
	if s := dir.Sync; s != nil {
		dm := ipvs.Daemon{Interface: s.Interface, SyncID: s.SyncID, MaxLen: s.MaxLen, Group: s.Group, Port: s.Port, TTL: s.TTL}
		if s.State == config.SyncMaster || s.State == config.SyncBoth {
			dm.State = ipvs.DaemonMaster
			d.Sync = append(d.Sync, dm)
		}
		if s.State == config.SyncBackup || s.State == config.SyncBoth {
			dm.State = ipvs.DaemonBackup
			d.Sync = append(d.Sync, dm)
		}
	}
}

// whole truncates t to whole seconds (the config refuses fractions).
func whole(t time.Duration) time.Duration { return t.Truncate(time.Second) }

// schedulerFlagsOf maps scheduler flags onto IP_VS_SVC_F_*: mh and sh
// share the bits (SCHED1 fallback, SCHED2 port).
func schedulerFlagsOf(fs []config.SchedulerFlag) ipvs.ServiceFlags {
	var f ipvs.ServiceFlags
	for _, x := range fs {
		switch x {
		case config.FlagMHFallback, config.FlagSHFallback:
			f |= ipvs.FlagSchedSHFallback
		case config.FlagMHPort, config.FlagSHPort:
			f |= ipvs.FlagSchedSHPort
		case config.FlagOPS:
			f |= ipvs.FlagOnePacket
		}
	}
	return f
}

// tunnelOf maps a tun real server's encapsulation onto the destination's
// tunnel fields.
func tunnelOf(t config.Tunnel) (ipvs.TunnelType, uint16, ipvs.TunnelFlags) {
	var typ ipvs.TunnelType
	switch t.Type {
	case config.TunnelGUE:
		typ = ipvs.TunnelGUE
	case config.TunnelGRE:
		typ = ipvs.TunnelGRE
	}
	var f ipvs.TunnelFlags
	for _, x := range t.Flags {
		switch x {
		case config.TunnelCsum:
			f |= ipvs.TunnelCsum
		case config.TunnelRemCsum:
			f |= ipvs.TunnelRemCsum
		}
	}
	port := t.Port
	if typ != ipvs.TunnelGUE {
		port = 0
	}
	return typ, port, f
}
