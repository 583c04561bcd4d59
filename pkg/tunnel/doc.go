// Package tunnel owns the receive side of an LVS-TUN real server: the
// fallback devices that decapsulate what the director sends, tunl0 (module
// ipip: IPIP, and the IPIP packets GUE carries) and gre0 (module ip_gre:
// GRE), and the GUE receive ports of module fou.
//
// Device.Ensure makes a fallback device exist without running ip or
// ifconfig: it asks the kernel over netlink for a link of the module's
// kind (ipip, gre) with the device's name, which makes the kernel
// autoload the module (request_module "rtnl-link-ipip", "rtnl-link-gre");
// loading the module creates the device in every network namespace, so
// the request then fails with EEXIST, which counts as success. Only when
// autoload is unavailable does it run the fixed command "modprobe ipip"
// or "modprobe ip_gre" (never a config-derived string), killed after
// 30 s. If neither yields the device, the error wraps ErrNoIPIP or
// ErrNoGRE. Ensure, SetUp, SetDown, Delete and Observe without a Device
// are tunl0's.
//
// A GUE receive port (ip fou add port PORT gue) is added over generic
// netlink (FOU, family "fou"), on an IPv4 UDP socket bound to every
// address: the GUE header of each packet names its inner protocol, IPIP
// for IPVS, which tunl0 then decapsulates. FOU.Load makes the family
// available: asking for it by name autoloads a module that declares the
// family's alias, which fou does not, so it then runs the fixed command
// "modprobe fou" (30 s); if the family is still unknown the error wraps
// ErrNoFOU. Listing ports (FOU.Ports) or the families never loads a
// module.
//
// lvs-rs never unloads a module: other tunnels may use it, and a loaded
// module with its device down changes nothing on the host. Undoing Ensure
// means setting the device down (SetDown), or deleting it (Delete) in the
// rare namespace where lvs-rs had to create it itself
// (net.core.fb_tunnels_only_for_init_net). A GUE port lvs-rs added is
// deleted (FOU.Delete).
//
// Overhead tells what each tunnel type adds to a packet at the director
// (20 bytes for ipip, 32 for gue, 40 with remcsum, 24 for gre, 28 with
// csum), For which device decapsulates it.
//
// Every write (link create, up, down, delete, port add and delete, and
// modprobe) goes through faultinject.Write, so crash tests can stop lvs-rs
// after any of them.
package tunnel
