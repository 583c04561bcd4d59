package config

import (
	"fmt"
	"strings"

	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

// The keys each mapping of the file accepts, in documentation order. The
// functions return slices of fixed arrays, so that reading a file does not
// build them again for every mapping; callers must not change them.

// topKeys are the keys of the document.
func topKeys() []string { return topKeysList[:] }

var topKeysList = [...]string{"director", "realserver", "virtual_servers"}

// directorKeys are the keys of the director section.
func directorKeys() []string { return directorKeysList[:] }

var directorKeysList = [...]string{"interface", "ip_forward", "reconcile_interval", "metrics", "send_redirects", "ipvs_sysctls", "timeouts", "sync", "announce"}

// timeoutKeys are the keys of director.timeouts.
func timeoutKeys() []string { return timeoutKeysList[:] }

var timeoutKeysList = [...]string{"tcp", "tcp_fin", "udp"}

// syncKeys are the keys of director.sync.
func syncKeys() []string { return syncKeysList[:] }

var syncKeysList = [...]string{"interface", "state", "syncid", "maxlen", "group", "port", "ttl"}

// announceKeys are the keys of director.announce.
func announceKeys() []string { return announceKeysList[:] }

var announceKeysList = [...]string{"table", "protocol"}

// ipvsSysctlKeys are the keys of director.ipvs_sysctls.
func ipvsSysctlKeys() []string {
	var out []string
	for _, p := range sysctl.IPVSParams() {
		out = append(out, p.Name)
	}
	return out
}

// checkKeys are the keys of a check block.
func checkKeys() []string { return checkKeysList[:] }

var checkKeysList = [...]string{"type", "port", "via", "interval", "timeout", "rise", "fall", "path", "host", "expect_status", "expect_body", "query", "command"}

// markKeys are the keys of an item of mark.
func markKeys() []string { return markKeysList[:] }

var markKeysList = [...]string{"protocol", "port"}

// tunnelKeys are the keys of a real server's tunnel.
func tunnelKeys() []string { return tunnelKeysList[:] }

var tunnelKeysList = [...]string{"type", "port", "flags"}

// realserverKeys are the keys of the realserver section.
func realserverKeys() []string { return realserverKeysList[:] }

var realserverKeysList = [...]string{"gateway"}

// serviceKeys are the keys of a virtual server.
func serviceKeys() []string { return serviceKeysList[:] }

var serviceKeysList = [...]string{"vip", "port", "protocol", "fwmark", "scheduler", "scheduler_flags", "persistence", "persistence_netmask", "mode",
	"check", "on_failure", "drain_timeout", "slow_start", "sorry_server", "mark", "real_servers"}

// realServerKeys are the keys of a real server.
func realServerKeys() []string { return realServerKeysList[:] }

var realServerKeysList = [...]string{"address", "port", "weight", "mode", "check", "upper_threshold", "lower_threshold", "tunnel"}

// keyName renders a key inside a field path, quoted unless it is plain.
func keyName(name string) string {
	if name == "" {
		return `""`
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return quote(name)
		}
	}
	return name
}

// unknownKey explains an unknown key, suggesting the known one it most
// likely misspells.
func unknownKey(name string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if dist := editDistance(strings.ToLower(name), k); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown key; did you mean %q?", best)
	}
	return "unknown key; valid keys are " + strings.Join(known, ", ")
}

// contains reports whether list holds s.
func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
