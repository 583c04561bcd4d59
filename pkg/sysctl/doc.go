// Package sysctl owns lvs-rs's only access to kernel parameters: reading
// and writing files under /proc/sys, and the record of a value lvs-rs
// changed so that stop can put the prior value back.
//
// Paths are built from segments, never from dotted names, so interface
// names that contain dots (eth0.100) address the right file. Reads and
// writes under /proc/sys/net resolve in the network namespace of the
// calling thread; callers that switch namespaces must lock their thread.
package sysctl
