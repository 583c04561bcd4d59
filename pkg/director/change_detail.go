package director

import (
	"net/netip"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/nftmark"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
)

// changeDetail holds what only the rarer kinds of Change use: kept out
// of line, it costs nothing to the service and destination changes a
// large plan is made of.
type changeDetail struct {
	Addr            vip.Addr         // Bind, Unbind
	Sysctl          sysctl.Record    // SetSysctl, RestoreSysctl, LeaveSysctl
	Current         string           // SetSysctl, LeaveSysctl: the value found
	From            ipvs.Service     // EditService: the kernel's before
	FromDestination ipvs.Destination // EditDestination: the kernel's before
	Timeout         TimeoutRecord    // timeout kinds
	TimeoutNow      uint32           // timeout kinds: the value found, in seconds
	Daemon          ipvs.Daemon      // sync kinds
	FromDaemon      ipvs.Daemon      // RestartSync, StartSync, LeaveSync: the daemon running in its state
	Route           RouteTable       // route kinds: the table and protocol
	Prefix          netip.Prefix     // route kinds: VIP/32 or /128
	Marks           []nftmark.Rule   // BuildMarks
	Replace         bool             // BuildMarks: the table exists and is rebuilt
	Foreign         []ipvs.DestinationKey
	// Quiesce marks the EditDestination to 0 that follows the addition of
	// a real server of an mh service at its last weight (see appendAdd):
	// FromDestination is that addition's, not anything the kernel had.
	Quiesce bool
}

// noDetail is the details of a change that has none; never written.
var noDetail changeDetail

// detail returns c's details, the zero value when it has none.
func (c Change) detail() *changeDetail {
	if c.x == nil {
		return &noDetail
	}
	return c.x
}

// Addr is the address of Bind and Unbind.
func (c Change) Addr() vip.Addr { return c.detail().Addr }

// Sysctl is the record of SetSysctl, RestoreSysctl and LeaveSysctl.
func (c Change) Sysctl() sysctl.Record { return c.detail().Sysctl }

// Current is the value SetSysctl and LeaveSysctl found.
func (c Change) Current() string { return c.detail().Current }

// From is the kernel's service before EditService.
func (c Change) From() ipvs.Service { return c.detail().From }

// FromDestination is the kernel's destination before EditDestination.
func (c Change) FromDestination() ipvs.Destination { return c.detail().FromDestination }

// Quiesces reports whether an EditDestination sets to 0 the real server
// of an mh service that the change before it added at its last weight
// (see DesiredService.LastWeights): FromDestination is then that
// addition's, not a weight the kernel had.
func (c Change) Quiesces() bool { return c.detail().Quiesce }

// Timeout is the record of the timeout kinds.
func (c Change) Timeout() TimeoutRecord { return c.detail().Timeout }

// TimeoutNow is the value, in seconds, the timeout kinds found.
func (c Change) TimeoutNow() uint32 { return c.detail().TimeoutNow }

// Daemon is the sync daemon of the sync kinds.
func (c Change) Daemon() ipvs.Daemon { return c.detail().Daemon }

// FromDaemon is the daemon running in Daemon's state, for RestartSync,
// StartSync (one not lvs-rs's) and LeaveSync.
func (c Change) FromDaemon() ipvs.Daemon { return c.detail().FromDaemon }

// Route is the table and protocol of the route kinds.
func (c Change) Route() RouteTable { return c.detail().Route }

// Prefix is the VIP/32 or /128 of the route kinds.
func (c Change) Prefix() netip.Prefix { return c.detail().Prefix }

// Marks are the rules BuildMarks writes.
func (c Change) Marks() []nftmark.Rule { return c.detail().Marks }

// Replace reports whether BuildMarks rebuilds an existing table.
func (c Change) Replace() bool { return c.detail().Replace }

// Foreign lists the destinations lvs-rs did not add that make a
// ReleaseService keep its service.
func (c Change) Foreign() []ipvs.DestinationKey { return c.detail().Foreign }
