// Package vip owns virtual IP addresses on a device: listing them, binding
// one as a host route (/32 or /128) with an alias label, and unbinding it.
//
// All calls go through a netlink handle, so callers choose the network
// namespace by the handle they pass. Bind replaces and Unbind treats "not
// there" as success: both are idempotent.
package vip
