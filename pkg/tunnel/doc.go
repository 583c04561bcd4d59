// Package tunnel owns the IP-in-IP receive side of an LVS-TUN real server:
// the ipip kernel module and its fallback device tunl0, which decapsulates
// every IPIP packet that no configured tunnel claims.
//
// Ensure makes tunl0 exist without running ip or ifconfig: it asks the
// kernel over netlink for an ipip link named tunl0, which makes the kernel
// autoload the module (request_module "rtnl-link-ipip"); loading ipip
// creates tunl0 in every network namespace, so the request then fails with
// EEXIST, which counts as success. Only when autoload is unavailable does
// it run the fixed command "modprobe ipip" (never a config-derived string),
// killed after 30 s.
// If neither yields tunl0, the error wraps ErrNoIPIP.
//
// lvs-rs never unloads ipip: other tunnels may use it, and a loaded module
// with tunl0 down changes nothing on the host. Undoing Ensure means setting
// tunl0 down (SetDown), or deleting it (Delete) in the rare namespace
// where lvs-rs had to create it itself (net.core.fb_tunnels_only_for_init_net).
//
// Every write (link create, up, down, delete, and modprobe) goes through
// faultinject.Write, so crash tests can stop lvs-rs after any of them.
package tunnel
