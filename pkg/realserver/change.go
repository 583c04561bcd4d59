package realserver

import (
	"fmt"

	"github.com/lvs-rs/lvs-rs/pkg/arp"
	"github.com/lvs-rs/lvs-rs/pkg/tunnel"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
)

// Kind is what a Change does.
type Kind int

// The kinds of change. See Plan for the order in which they come.
const (
	LoadIPIP     Kind = iota // load ipip so that tunl0 exists
	TunnelUp                 // set tunl0 up
	NoteTunnelUp             // record that tunl0 was already up (state only)
	Sysctl                   // an arp.Op: set (before binds) or restore/forget (after unbinds)
	Bind                     // bind a VIP
	ReplaceRoute             // make the gateway the default route
	Unbind                   // unbind a VIP lvs-rs bound
	ForgetAddr               // drop a VIP lvs-rs bound that someone removed (state only)
	DeleteRoute              // delete lvs-rs's default route
	RestoreRoute             // put back the default route lvs-rs replaced
	ForgetRoute              // drop the route record (state only)
	TunnelDown               // set tunl0 down again
	DeleteTunnel             // delete a tunl0 lvs-rs created
	ForgetTunnel             // drop the tunnel record (state only)
	LoadGRE                  // load ip_gre so that gre0 exists
	GREUp                    // set gre0 up
	NoteGREUp                // record that gre0 was already up (state only)
	GREDown                  // set gre0 down again
	DeleteGRE                // delete a gre0 lvs-rs created
	ForgetGRE                // drop the gre0 record (state only)
	LoadFOU                  // load fou so that GUE receive ports can be added
	AddFOU                   // add a GUE receive port (Port)
	DeleteFOU                // delete a GUE receive port lvs-rs added (Port)
	ForgetFOU                // drop a GUE receive port lvs-rs added that is gone (state only)
)

// Change is one planned step.
type Change struct {
	Kind Kind
	Addr vip.Addr // Bind, Unbind, ForgetAddr
	Op   arp.Op   // Sysctl
	// Route is the route to set (ReplaceRoute), delete (DeleteRoute),
	// restore (RestoreRoute) or forget (ForgetRoute).
	Route Route
	// Old is the default route ReplaceRoute overwrites, recorded to be
	// restored; nil when the slot was free or held lvs-rs's own route.
	Old *Route
	// Own is lvs-rs's own route that ReplaceRoute overwrites (the gateway
	// changed), as recorded: it stays recorded as lvs-rs's (Was) until
	// the replace is done. nil when the slot was free or held another
	// route.
	Own *Route
	// Port is the UDP port of AddFOU, DeleteFOU and ForgetFOU.
	Port uint16
	// Foreign (AddFOU) is the FOU receive port another tool holds on
	// Port, which does not decapsulate GUE: start refuses to go on
	// (replacing it would break that tool, keeping it drops every packet
	// of the director). "" when the port is free.
	Foreign string
}

// String renders the change as one line, e.g.
// "bind 10.0.0.100/32 dev lo label lo:0 scope host".
func (c Change) String() string {
	switch c.Kind {
	case LoadIPIP, LoadGRE:
		dev := tunnelOf(c.Kind)
		return fmt.Sprintf("load %s (creates %s)", fallback(dev).Module, dev)
	case TunnelUp, GREUp:
		dev := tunnelOf(c.Kind)
		return fmt.Sprintf("set %s up", dev)
	case NoteTunnelUp, NoteGREUp:
		dev := tunnelOf(c.Kind)
		return fmt.Sprintf("note %s was already up (stop leaves it up)", dev)
	case Sysctl:
		return c.Op.String()
	case Bind:
		return "bind " + c.Addr.String()
	case ReplaceRoute:
		if c.Old != nil {
			return fmt.Sprintf("replace route %s with %s", c.Old, c.Route)
		}
		if c.Own != nil {
			return fmt.Sprintf("replace route %s (set by lvs-rs) with %s", c.Own, c.Route)
		}
		return fmt.Sprintf("add route %s", c.Route)
	case Unbind:
		return "unbind " + c.Addr.String()
	case ForgetAddr:
		return fmt.Sprintf("forget %s (already removed)", c.Addr)
	case DeleteRoute:
		return fmt.Sprintf("delete route %s", c.Route)
	case RestoreRoute:
		return fmt.Sprintf("restore route %s", c.Route)
	case ForgetRoute:
		return fmt.Sprintf("forget route %s (not restored)", c.Route)
	case TunnelDown, GREDown:
		dev := tunnelOf(c.Kind)
		return fmt.Sprintf("set %s down (it was down before lvs-rs)", dev)
	case DeleteTunnel, DeleteGRE:
		dev := tunnelOf(c.Kind)
		return fmt.Sprintf("delete %s (created by lvs-rs)", dev)
	case ForgetTunnel, ForgetGRE:
		dev := tunnelOf(c.Kind)
		return fmt.Sprintf("forget %s (left as is)", dev)
	case LoadFOU:
		return fmt.Sprintf("load %s (for gue receive ports)", tunnel.FOUModule)
	case AddFOU:
		if c.Foreign != "" {
			return fmt.Sprintf("add gue receive port %d (refused: the port is a fou %s)", c.Port, c.Foreign)
		}
		return fmt.Sprintf("add gue receive port %d", c.Port)
	case DeleteFOU:
		return fmt.Sprintf("delete gue receive port %d (added by lvs-rs)", c.Port)
	case ForgetFOU:
		return fmt.Sprintf("forget gue receive port %d (already removed)", c.Port)
	}
	return fmt.Sprintf("change kind %d", int(c.Kind))
}

// Drift describes, for status, the difference between the kernel and the
// desired state that the change would remove.
func (c Change) Drift() string {
	switch c.Kind {
	case LoadIPIP, LoadGRE:
		dev := tunnelOf(c.Kind)
		return fmt.Sprintf("%s does not exist (module %s not loaded)", dev, fallback(dev).Module)
	case TunnelUp, GREUp:
		dev := tunnelOf(c.Kind)
		return fmt.Sprintf("%s is down", dev)
	case Sysctl:
		return c.Op.Drift()
	case Bind:
		return fmt.Sprintf("VIP %s is missing from %s", c.Addr.Prefix.Addr(), c.Addr.Dev)
	case ReplaceRoute:
		return fmt.Sprintf("default route via %s is missing", c.Route.Gateway)
	case Unbind:
		return fmt.Sprintf("VIP %s on %s was bound by lvs-rs but is no longer wanted", c.Addr.Prefix.Addr(), c.Addr.Dev)
	case DeleteRoute:
		return fmt.Sprintf("route %s was set by lvs-rs but is no longer wanted", c.Route)
	case RestoreRoute:
		return fmt.Sprintf("route %s, replaced by lvs-rs, is not restored yet", c.Route)
	case TunnelDown, GREDown:
		dev := tunnelOf(c.Kind)
		return fmt.Sprintf("%s is up but no longer needed (lvs-rs brought it up)", dev)
	case DeleteTunnel, DeleteGRE:
		dev := tunnelOf(c.Kind)
		return fmt.Sprintf("%s was created by lvs-rs but is no longer needed", dev)
	case LoadFOU:
		return fmt.Sprintf("module %s is not loaded (no gue receive port)", tunnel.FOUModule)
	case AddFOU:
		if c.Foreign != "" {
			return fmt.Sprintf("UDP port %d is a fou %s, not a gue receive port", c.Port, c.Foreign)
		}
		return fmt.Sprintf("gue receive port %d is missing", c.Port)
	case DeleteFOU:
		return fmt.Sprintf("gue receive port %d was added by lvs-rs but is no longer needed", c.Port)
	}
	return c.String()
}

// Writes reports whether the change writes the kernel; the others only
// update the state record.
func (c Change) Writes() bool {
	switch c.Kind {
	case NoteTunnelUp, ForgetAddr, ForgetRoute, ForgetTunnel, NoteGREUp, ForgetGRE, ForgetFOU:
		return false
	case Sysctl:
		return c.Op.Writes()
	}
	return true
}
