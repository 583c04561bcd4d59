// Package topo builds small networks of named network namespaces for
// tests: the "hosts" of an LVS cluster (client, director, real servers,
// router) joined by bridges. Everything is done through netlink and
// setns(2) from Go; nothing shells out. It works inside the test VM
// (internal/vmtest) and on any Linux host as root (namespaces, veth and
// bridges only: IPVS and ipip need the VM).
//
// # Building
//
//	tp := topo.New(t)               // removed again by t.Cleanup
//	cl := tp.AddNS("client")        // /run/netns/lt<pid>-<n>-client, lo up
//	tp.AddSegment("lan")            // a bridge in a hidden "switch" namespace
//	tp.Connect("client", "lan", "eth0", "10.0.0.2/24")  // veth: eth0 in client, peer on the bridge
//	err := cl.SetDefaultRoute("10.0.0.1")
//
// New, AddNS, AddSegment, Connect and the presets fail the test on error and
// must be called from the test's goroutine. Every (*NS) method returns an
// error instead, and may be called from any goroutine.
//
// Namespaces get unique names (the process id and a counter), so parallel
// tests and parallel test binaries never collide. A non-root run skips
// (fails when CI=true).
//
// # Presets
//
// DR, TUN and NAT return a *Preset with the namespaces and the addresses a
// test needs (VIP, real server addresses, the director's interface). Only
// RFC 1918 and RFC 5737 addresses are used; no traffic leaves the
// namespaces. The presets do not bind the VIP, program IPVS, or touch the
// real servers' ARP or rp_filter settings: that is the product's job (or
// the test's). See the preset functions for the exact layouts.
//
// # Running code in a namespace
//
// (*NS).Do runs a function on a locked OS thread switched into the
// namespace (restored afterwards; a thread that cannot be restored is
// never unlocked, so Go discards it). Sockets opened in Do stay in the
// namespace. Listen, ListenPacket, DialContext, ServeEcho, Get, ServeUDPEcho,
// GetUDP, ReadSysctl and WriteSysctl are built on it (/proc/sys/net resolves to the namespace of the opening
// thread).
//
// (*NS).Command returns an *exec.Cmd that runs a program in the namespace,
// whichever goroutine starts it: the command re-executes the current
// binary (os.Executable) with a marker argv[0]; this package's init sees
// the marker, setns(2)s its main thread (locked during init) into the
// namespace and execve(2)s the program, so the program keeps the PID and
// the *exec.Cmd works as usual (Run, Output, Start/Wait, ctx kill).
// (*NS).Start starts any *exec.Cmd by forking it from a locked thread
// inside the namespace instead.
//
// Running lvs-rs as one host of a topology, in the VM:
//
//	cmd := p.Director.Command(ctx, vmtest.RequireLvsRs(t), "start", "--role", "director", ...)
//	cmd.Env = append(os.Environ(), "LVS_RS_STATE_DIR="+t.TempDir()) // one state dir per host
//	out, err := cmd.CombinedOutput()
//
// # Snapshots
//
// A test comparing the kernel before and after a command reads it
// through (*NS).Routes (every table, not only main) after
// (*NS).WaitNoTentative (IPv6 duplicate address detection over, so the
// local routes it adds are in place); both retry a netlink dump the
// kernel interrupted.
package topo
