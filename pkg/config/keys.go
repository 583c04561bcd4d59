package config

import (
	"fmt"
	"strings"

	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

// The keys each mapping of the file accepts, in documentation order. They
// are functions, not variables, so that no caller can change them.

// topKeys are the keys of the document.
func topKeys() []string { return []string{"director", "realserver", "virtual_servers"} }

// directorKeys are the keys of the director section.
func directorKeys() []string {
	return []string{"interface", "ip_forward", "reconcile_interval", "metrics", "send_redirects", "ipvs_sysctls", "timeouts", "sync", "announce"}
}

// timeoutKeys are the keys of director.timeouts.
func timeoutKeys() []string { return []string{"tcp", "tcp_fin", "udp"} }

// syncKeys are the keys of director.sync.
func syncKeys() []string {
	return []string{"interface", "state", "syncid", "maxlen", "group", "port", "ttl"}
}

// announceKeys are the keys of director.announce.
func announceKeys() []string { return []string{"table", "protocol"} }

// ipvsSysctlKeys are the keys of director.ipvs_sysctls.
func ipvsSysctlKeys() []string {
	var out []string
	for _, p := range sysctl.IPVSParams() {
		out = append(out, p.Name)
	}
	return out
}

// checkKeys are the keys of a check block.
func checkKeys() []string {
	return []string{"type", "port", "via", "interval", "timeout", "rise", "fall", "path", "host", "expect_status", "expect_body", "query", "command"}
}

// markKeys are the keys of an item of mark.
func markKeys() []string { return []string{"protocol", "port"} }

// tunnelKeys are the keys of a real server's tunnel.
func tunnelKeys() []string { return []string{"type", "port", "flags"} }

// realserverKeys are the keys of the realserver section.
func realserverKeys() []string { return []string{"gateway"} }

// serviceKeys are the keys of a virtual server.
func serviceKeys() []string {
	return []string{"vip", "port", "protocol", "fwmark", "scheduler", "scheduler_flags", "persistence", "persistence_netmask", "mode",
		"check", "on_failure", "drain_timeout", "slow_start", "sorry_server", "mark", "real_servers"}
}

// realServerKeys are the keys of a real server.
func realServerKeys() []string {
	return []string{"address", "port", "weight", "mode", "check", "upper_threshold", "lower_threshold", "tunnel"}
}

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
