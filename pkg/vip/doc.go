// Package vip owns virtual IP addresses on a device: listing them, binding
// one as a host route (/32 or /128) with an alias label, and unbinding it.
//
// All calls go through a netlink handle, so callers choose the network
// namespace by the handle they pass. Bind never takes over an address
// that is there already (EEXIST: it is someone else's, or adopted);
// Unbind removes the address by device and prefix, whatever its label,
// and treats "not there" as success.
package vip
