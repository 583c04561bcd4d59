package director

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
)

// Kind is what a Change does.
type Kind string

// The kinds of change, in the order Plan emits them.
const (
	SetSysctl         Kind = "set-sysctl"         // write Sysctl.Wrote (Sysctl.Prior is the value found)
	SetTimeout        Kind = "set-timeout"        // write Timeout.Wrote (Timeout.Prior is the value found)
	StartSync         Kind = "start-sync"         // start sync daemon Daemon (FromDaemon: one not lvs-rs's in its way)
	RestartSync       Kind = "restart-sync"       // stop lvs-rs's sync daemon FromDaemon, start Daemon
	Bind              Kind = "bind"               // bind Addr
	AddService        Kind = "add-service"        // add Service
	AddDestination    Kind = "add-destination"    // add Destination to Service
	BuildMarks        Kind = "build-marks"        // (re)create the nftables table with Marks (Replace: delete the old one first)
	AddRoute          Kind = "add-route"          // add the announce route for Prefix in Route
	EditService       Kind = "edit-service"       // update Service in place (was From)
	EditDestination   Kind = "edit-destination"   // update Destination in place (was FromDestination)
	DeleteRoute       Kind = "delete-route"       // delete the announce route for Prefix in Route
	DeleteDestination Kind = "delete-destination" // delete Destination from Service
	DeleteService     Kind = "delete-service"     // delete Service and its destinations
	ReleaseService    Kind = "release-service"    // no write: Service holds Foreign destinations, so it stays and stops being lvs-rs's
	RemoveMarks       Kind = "remove-marks"       // delete the nftables table
	Unbind            Kind = "unbind"             // unbind Addr
	StopSync          Kind = "stop-sync"          // stop lvs-rs's sync daemon Daemon
	LeaveSync         Kind = "leave-sync"         // no write: lvs-rs's daemon Daemon was replaced by FromDaemon since; forget it
	RestoreTimeout    Kind = "restore-timeout"    // write Timeout.Prior back
	LeaveTimeout      Kind = "leave-timeout"      // no write: changed by someone else since (now TimeoutNow); forget it
	RestoreSysctl     Kind = "restore-sysctl"     // write Sysctl.Prior back
	LeaveSysctl       Kind = "leave-sysctl"       // no write: changed by someone else since (now Current); forget it
)

// Change is one step of a plan. The fields every IPVS change uses are
// inline; the rest (see the methods Addr through Foreign) sit behind one
// pointer that only the few other changes carry, so a start's 11,000
// additions take 176 bytes each instead of 712.
type Change struct {
	Kind        Kind
	Service     ipvs.Service     // service kinds; the service of destination kinds
	Destination ipvs.Destination // destination kinds
	x           *changeDetail    // nil: every detail is the zero value
}

// Writes reports whether the change writes to the kernel.
func (c Change) Writes() bool { return c.Kind.writes() }

// writes reports whether a change of kind k writes to the kernel (the
// loops over a plan ask the Kind: see the package doc on copies).
func (k Kind) writes() bool {
	switch k {
	case ReleaseService, LeaveSysctl, LeaveTimeout, LeaveSync:
		return false
	}
	return true
}

// ipvsOp returns the kind of IPVS operation of a change of kind k, false
// when it is not an IPVS change.
func (k Kind) ipvsOp() (ipvs.OpKind, bool) {
	switch k {
	case AddService:
		return ipvs.OpNewService, true
	case EditService:
		return ipvs.OpUpdateService, true
	case DeleteService:
		return ipvs.OpDeleteService, true
	case AddDestination:
		return ipvs.OpNewDestination, true
	case EditDestination:
		return ipvs.OpUpdateDestination, true
	case DeleteDestination:
		return ipvs.OpDeleteDestination, true
	}
	return 0, false
}

// String renders the change as one line, e.g.
// "bind 10.0.0.100/32 dev eth0 label eth0:0" or
// "edit destination 10.0.0.11:80 of tcp 10.0.0.100:80: weight 1 -> 3".
func (c Change) String() string {
	switch c.Kind {
	case SetSysctl:
		return fmt.Sprintf("set %s=%s (was %s)", c.Sysctl().Key, c.Sysctl().Wrote, c.Current())
	case SetTimeout, RestoreTimeout, LeaveTimeout, StartSync, RestartSync, StopSync, LeaveSync:
		return c.settingString()
	case AddRoute, DeleteRoute:
		return c.routeString()
	case BuildMarks, RemoveMarks:
		return c.marksString()
	case Bind:
		return "bind " + c.Addr().String()
	case AddService:
		return fmt.Sprintf("add service %v %s", c.Service, describeService(c.Service))
	case AddDestination:
		return fmt.Sprintf("add destination %v to %v: %s", c.Destination, c.Service, describeDestination(c.Destination))
	case EditService:
		return fmt.Sprintf("edit service %v: %s", c.Service, strings.Join(serviceDiff(c.From(), c.Service), ", "))
	case EditDestination:
		if c.Quiesces() {
			return fmt.Sprintf("edit destination %v of %v: weight %d -> %d (added at its weight for the mh table, quiesced)",
				c.Destination, c.Service, c.FromDestination().Weight, c.Destination.Weight)
		}
		return fmt.Sprintf("edit destination %v of %v: %s", c.Destination, c.Service,
			strings.Join(destinationDiff(c.FromDestination(), c.Destination), ", "))
	case DeleteDestination:
		return fmt.Sprintf("delete destination %v from %v", c.Destination, c.Service)
	case DeleteService:
		return fmt.Sprintf("delete service %v", c.Service)
	case ReleaseService:
		return fmt.Sprintf("keep service %v: it holds real servers lvs-rs did not add (%s); it is no longer lvs-rs's",
			c.Service, joinKeys(c.Foreign()))
	case Unbind:
		return "unbind " + c.Addr().String()
	case RestoreSysctl:
		return fmt.Sprintf("restore %s=%s", c.Sysctl().Key, c.Sysctl().Prior)
	case LeaveSysctl:
		return fmt.Sprintf("leave %s=%s: changed since lvs-rs set it to %s (it was %s); not restored",
			c.Sysctl().Key, c.Current(), c.Sysctl().Wrote, c.Sysctl().Prior)
	}
	return string(c.Kind)
}

// Drift renders the difference the change would repair, for status.
func (c Change) Drift() string {
	switch c.Kind {
	case SetSysctl:
		return fmt.Sprintf("sysctl %s is %s, want %s", c.Sysctl().Key, c.Current(), c.Sysctl().Wrote)
	case SetTimeout, RestoreTimeout, LeaveTimeout, StartSync, RestartSync, StopSync, LeaveSync:
		return c.settingDrift()
	case AddRoute, DeleteRoute:
		return c.routeDrift()
	case BuildMarks, RemoveMarks:
		return c.marksDrift()
	case Bind:
		return fmt.Sprintf("vip %s is not on %s", c.Addr().Prefix.Addr(), c.Addr().Dev)
	case AddService:
		return fmt.Sprintf("service %v is missing", c.Service)
	case AddDestination:
		return fmt.Sprintf("real server %v of %v is missing", c.Destination, c.Service)
	case EditService:
		return fmt.Sprintf("service %v: %s (kernel -> config)", c.Service, strings.Join(serviceDiff(c.From(), c.Service), ", "))
	case EditDestination:
		return fmt.Sprintf("real server %v of %v: %s (kernel -> config)", c.Destination, c.Service,
			strings.Join(destinationDiff(c.FromDestination(), c.Destination), ", "))
	case DeleteDestination:
		return fmt.Sprintf("real server %v of %v was added by lvs-rs and is no longer configured", c.Destination, c.Service)
	case DeleteService:
		return fmt.Sprintf("service %v was added by lvs-rs and is no longer configured", c.Service)
	case ReleaseService:
		return fmt.Sprintf("service %v was added by lvs-rs, is no longer configured, and holds real servers lvs-rs did not add (%s)",
			c.Service, joinKeys(c.Foreign()))
	case Unbind:
		return fmt.Sprintf("vip %s on %s was bound by lvs-rs and is no longer configured", c.Addr().Prefix.Addr(), c.Addr().Dev)
	case RestoreSysctl:
		return fmt.Sprintf("sysctl %s was set to %s by lvs-rs and is no longer wanted (prior %s)", c.Sysctl().Key, c.Sysctl().Wrote, c.Sysctl().Prior)
	case LeaveSysctl:
		return fmt.Sprintf("sysctl %s is %s: changed since lvs-rs set it to %s", c.Sysctl().Key, c.Current(), c.Sysctl().Wrote)
	}
	return string(c.Kind)
}

// describeService renders a service's configuration: "scheduler wrr,
// persistent 360s netmask /24".
func describeService(s ipvs.Service) string {
	out := "scheduler " + s.Scheduler
	if p := persistence(s); p != "off" {
		out += ", persistent " + p
	}
	if f := flagsString(s); f != "" {
		out += ", flags " + f
	}
	return out
}

// persistence renders "off" or "360s netmask /24" (netmask only when set).
func persistence(s ipvs.Service) string {
	if s.Flags&ipvs.FlagPersistent == 0 {
		return "off"
	}
	p := fmt.Sprintf("%ds", s.Timeout)
	if s.Netmask != fullBits(s) {
		p += fmt.Sprintf(" netmask /%d", s.Netmask)
	}
	return p
}

func fullBits(s ipvs.Service) int {
	if s.Key().Family == ipvs.Inet6 {
		return 128
	}
	return 32
}

// describeDestination renders "route, weight 1", plus the tunnel and
// thresholds when set: "tunnel, weight 1, gue port 6080, thresholds 1000/800".
func describeDestination(d ipvs.Destination) string {
	s := fmt.Sprintf("%s, weight %d", strings.ToLower(d.Forward.String()), d.Weight)
	if t := tunnelString(d); t != "" && t != "ipip" {
		s += ", " + t
	}
	if d.UpperThreshold != 0 || d.LowerThreshold != 0 {
		s += fmt.Sprintf(", thresholds %d/%d", d.UpperThreshold, d.LowerThreshold)
	}
	return s
}

// serviceDiff lists what differs between two configurations of a service.
func serviceDiff(from, to ipvs.Service) []string {
	var d []string
	if from.Scheduler != to.Scheduler {
		d = append(d, fmt.Sprintf("scheduler %s -> %s", from.Scheduler, to.Scheduler))
	}
	if pf, pt := persistence(from), persistence(to); pf != pt {
		d = append(d, fmt.Sprintf("persistence %s -> %s", pf, pt))
	} else if from.Netmask != to.Netmask || from.Timeout != to.Timeout {
		d = append(d, fmt.Sprintf("timeout %ds netmask /%d -> timeout %ds netmask /%d", from.Timeout, from.Netmask, to.Timeout, to.Netmask))
	}
	if ff, ft := flagsString(from), flagsString(to); ff != ft {
		d = append(d, fmt.Sprintf("flags %q -> %q", ff, ft))
	}
	if from.PEName != to.PEName {
		d = append(d, fmt.Sprintf("persistence engine %q -> %q", from.PEName, to.PEName))
	}
	return d
}

// destinationDiff lists what differs between two configurations of a
// destination.
func destinationDiff(from, to ipvs.Destination) []string {
	var d []string
	if from.Forward != to.Forward {
		d = append(d, fmt.Sprintf("forward %s -> %s", strings.ToLower(from.Forward.String()), strings.ToLower(to.Forward.String())))
	}
	if from.Weight != to.Weight {
		d = append(d, fmt.Sprintf("weight %d -> %d", from.Weight, to.Weight))
	}
	if from.UpperThreshold != to.UpperThreshold || from.LowerThreshold != to.LowerThreshold {
		d = append(d, fmt.Sprintf("thresholds %d/%d -> %d/%d", from.UpperThreshold, from.LowerThreshold, to.UpperThreshold, to.LowerThreshold))
	}
	if from.TunnelType != to.TunnelType || from.TunnelPort != to.TunnelPort || from.TunnelFlags != to.TunnelFlags {
		d = append(d, fmt.Sprintf("tunnel %s -> %s", tunnelDesc(from), tunnelDesc(to)))
	}
	if from.Family != to.Family {
		d = append(d, fmt.Sprintf("family %v -> %v", from.Family, to.Family))
	}
	return d
}

func joinKeys(keys []ipvs.DestinationKey) string {
	s := make([]string, len(keys))
	for i, k := range keys {
		s[i] = k.String()
	}
	return strings.Join(s, ", ")
}

// hostAddr returns the address part of a vip.Addr, unmapped.
func hostAddr(a vip.Addr) netip.Addr { return a.Prefix.Addr().Unmap() }
