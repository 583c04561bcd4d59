package realserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/lvs-rs/lvs-rs/internal/phase"
	"github.com/lvs-rs/lvs-rs/internal/rtnl"
	"github.com/lvs-rs/lvs-rs/pkg/state"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Options are the environment of Start, Stop and Status.
type Options struct {
	StateDir string          // state.Store directory
	DryRun   bool            // plan only: return the changes, write nothing (no kernel write, no state write)
	Handle   *netlink.Handle // nil = the current network namespace
	// Sysctl is the /proc/sys tree; the zero value is sysctl.Proc(). Its
	// net/ parameters resolve in the calling thread's network namespace,
	// so a caller with a Handle into another namespace must also run on a
	// thread switched into it.
	Sysctl sysctl.Tree
	// afterWrite, when set, is called after every kernel write (tests
	// simulate a crash there).
	afterWrite func(what string)
}

// Result is what Start or Stop did (or, with DryRun, would do).
type Result struct {
	// Changes are the changes applied, in order; with DryRun, the plan.
	// After a failure, the changes applied before it.
	Changes []Change
	// Warnings name what was left as is: sysctls or routes someone
	// changed since lvs-rs wrote them, VIPs on other devices, ...
	Warnings []string
}

func (o Options) tree() sysctl.Tree {
	if o.Sysctl.Root == "" {
		return sysctl.Proc()
	}
	return o.Sysctl
}

// kernel returns the real kernel; close it when done.
func (o Options) kernel(h *netlink.Handle) netKernel {
	return netKernel{h: h, t: o.tree(), after: o.afterWrite, fou: &fouConn{}}
}

func (o Options) store() state.Store { return state.Store{Dir: o.StateDir} }

// write saves the record, given as its JSON.
func (o Options) write(_ Record, b []byte) error { return o.store().Write(Role, b) }

// handle returns o.Handle, or a new handle in the current namespace and
// the function that closes it.
func (o Options) handle() (*netlink.Handle, func(), error) {
	if o.Handle != nil {
		return o.Handle, func() {}, nil
	}
	h, err := rtnl.Open(netns.None())
	if err != nil {
		return nil, nil, fmt.Errorf("realserver: %w", err)
	}
	return h, h.Close, nil
}

// load returns the state record and whether one exists. A record of an
// unknown version, or one naming what the real-server role never
// creates, is refused with one line naming the file and what to do.
func (o Options) load() (Record, bool, error) {
	var rec Record
	ok, err := o.store().Load(Role, &rec)
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	if errors.As(err, &syntax) || errors.As(err, &typ) || errors.Is(err, io.ErrUnexpectedEOF) {
		return Record{}, false, fmt.Errorf("realserver: %w: the record is damaged: undo by hand what it lists and delete the file", err)
	}
	if err != nil {
		return Record{}, false, fmt.Errorf("realserver: %w", err)
	}
	if !ok {
		return Record{}, false, nil
	}
	if err := rec.check(); err != nil {
		return Record{}, false, fmt.Errorf("realserver: state record %s: %w", filepath.Join(o.StateDir, Role+".json"), err)
	}
	return rec, true, nil
}

// Start converges the host to d: it binds missing VIPs, sets the sysctls
// of their modes, loads ipip and brings tunl0 up for tun (ipip and gue),
// adds the GUE receive ports of gue (loading fou), loads ip_gre and brings
// gre0 up for gre, routes through the gateway for nat, and removes or
// restores what an earlier start created that d no longer wants. A host
// already in d gets no kernel write and no state write. See Plan for the
// order of changes.
//
// Every write is recorded before it is made (see executor), so after a
// failure or a crash at any point stop still removes everything created
// and a new start converges. Errors name the object and keep the errno
// (errors.Is(err, unix.EPERM)); an invalid d wraps ErrInvalid and changes
// nothing; a kernel without ipip yields an error wrapping
// tunnel.ErrNoIPIP before anything is changed, one without ip_gre or fou
// (tried after tunl0) one wrapping tunnel.ErrNoGRE or tunnel.ErrNoFOU.
func Start(ctx context.Context, d Desired, o Options) (Result, error) {
	d, err := d.Normalize()
	if err != nil {
		return Result{}, err
	}
	h, done, err := o.handle()
	if err != nil {
		return Result{}, err
	}
	defer done()
	rec, existed, err := o.load()
	if err != nil {
		return Result{}, err
	}
	phase.Mark("record-load")
	if err := checkGatewayDevice(h, d); err != nil {
		return Result{}, err
	}
	obs, err := Observe(h, o.tree(), d, rec)
	if err != nil {
		return Result{}, err
	}
	phase.Mark("observe")
	changes, warns := Plan(d, obs)
	phase.Mark("plan")
	res := Result{Changes: changes, Warnings: warns}
	if o.DryRun {
		return res, nil
	}
	next := rec.clone()
	next.Version, next.Desired = recordVersion, specOf(d)
	k := o.kernel(h)
	defer k.close()
	e := &executor{k: k, rec: next, save: o.write}
	if existed {
		e.saved = encoded(rec)
	}
	// The record (with the new desired spec) is saved with the first
	// intention, before the first write; a start whose first write fails
	// leaves no record behind.
	err = e.run(ctx, changes)
	phase.Mark("kernel-writes")
	switch {
	case err == nil:
		err = e.flush() // a new or changed spec with nothing to change
		phase.Mark("record-save")
	case !existed && e.rec.empty():
		if rerr := o.store().Remove(Role); rerr != nil {
			err = errors.Join(err, fmt.Errorf("realserver: %w", rerr))
		}
	}
	res.Changes, res.Warnings = e.applied, append(res.Warnings, e.warnings...)
	return res, err
}

// Stop undoes what start recorded, from the state record alone: it unbinds
// the VIPs lvs-rs bound, deletes its default route and restores the one it
// replaced, restores every sysctl to its prior value unless someone changed
// it since (then it warns and leaves it), deletes the GUE receive ports it
// added, and sets tunl0 and gre0 down unless they were up before. It continues past failures and returns them joined, keeping
// the record of what is left so that stop can be run again; on success it
// removes the record. Nothing applied is success with no changes.
func Stop(ctx context.Context, o Options) (Result, error) {
	rec, existed, err := o.load()
	if err != nil || !existed {
		return Result{}, err
	}
	phase.Mark("record-load")
	h, done, err := o.handle()
	if err != nil {
		return Result{}, err
	}
	defer done()
	obs, err := Observe(h, o.tree(), Desired{}, rec)
	if err != nil {
		return Result{}, err
	}
	phase.Mark("observe")
	changes, warns := Plan(Desired{}, obs)
	phase.Mark("plan")
	res := Result{Changes: changes, Warnings: warns}
	if o.DryRun {
		return res, nil
	}
	k := o.kernel(h)
	defer k.close()
	e := &executor{k: k, rec: rec.clone(), saved: encoded(rec), teardown: true, save: o.write}
	err = e.run(ctx, changes)
	phase.Mark("kernel-writes")
	res.Changes, res.Warnings = e.applied, append(res.Warnings, e.warnings...)
	if err != nil {
		return res, err
	}
	if err := o.store().Remove(Role); err != nil {
		return res, fmt.Errorf("realserver: %w", err)
	}
	phase.Mark("record-remove")
	return res, nil
}
