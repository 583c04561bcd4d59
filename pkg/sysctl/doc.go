// Package sysctl owns lvs-rs's only access to kernel parameters: reading
// and writing files under /proc/sys, and the record of a value lvs-rs
// changed so that stop can put the prior value back.
//
// Paths are built from segments, never from dotted names, so interface
// names that contain dots (eth0.100) address the right file. Reads and
// writes under /proc/sys/net resolve in the network namespace of the
// calling thread; callers that switch namespaces must lock their thread.
//
// Only a closed set of parameters can be read or written (Key.Validate):
// ip_forward, five per-device ipv4 conf parameters, the per-device ipv6
// forwarding and accept_ra, and the IPVS parameters of IPVSParams. A key from a state record is therefore never
// a path: one with "..", '/' or NUL in a segment, or naming any other
// file, is refused before a file is opened.
package sysctl
