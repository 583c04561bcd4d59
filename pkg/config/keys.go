package config

import (
	"fmt"
	"strings"

	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

// keyID numbers a key among those of its kind of mapping: its index in
// the kind's list below (the lists are written indexed by their keyIDs).
// A mapping's fields find a known key by its keyID (fields.get).
type keyID uint8

// The keys each mapping of the file accepts, in documentation order. The
// functions return slices of fixed arrays, so that reading a file does not
// build them again for every mapping; callers must not change them.

// topKeys are the keys of the document.
func topKeys() []string { return topKeysList[:] }

var topKeysList = [...]string{topDirector: "director", topRealserver: "realserver", topVirtualServers: "virtual_servers"}

const (
	topDirector keyID = iota
	topRealserver
	topVirtualServers
)

// directorKeys are the keys of the director section.
func directorKeys() []string { return directorKeysList[:] }

var directorKeysList = [...]string{dirInterface: "interface", dirIPForward: "ip_forward", dirReconcile: "reconcile_interval", dirMetrics: "metrics", dirSendRedirects: "send_redirects", dirIPVSSysctls: "ipvs_sysctls", dirTimeouts: "timeouts", dirSync: "sync", dirAnnounce: "announce"}

const (
	dirInterface keyID = iota
	dirIPForward
	dirReconcile
	dirMetrics
	dirSendRedirects
	dirIPVSSysctls
	dirTimeouts
	dirSync
	dirAnnounce
)

// timeoutKeys are the keys of director.timeouts.
func timeoutKeys() []string { return timeoutKeysList[:] }

var timeoutKeysList = [...]string{toTCP: "tcp", toTCPFin: "tcp_fin", toUDP: "udp"}

const (
	toTCP keyID = iota
	toTCPFin
	toUDP
)

// syncKeys are the keys of director.sync.
func syncKeys() []string { return syncKeysList[:] }

var syncKeysList = [...]string{syncInterface: "interface", syncState: "state", syncSyncID: "syncid", syncMaxLen: "maxlen", syncGroup: "group", syncPort: "port", syncTTL: "ttl"}

const (
	syncInterface keyID = iota
	syncState
	syncSyncID
	syncMaxLen
	syncGroup
	syncPort
	syncTTL
)

// announceKeys are the keys of director.announce.
func announceKeys() []string { return announceKeysList[:] }

var announceKeysList = [...]string{annTable: "table", annProtocol: "protocol"}

const (
	annTable keyID = iota
	annProtocol
)

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

var checkKeysList = [...]string{chkType: "type", chkPort: "port", chkVia: "via", chkInterval: "interval", chkTimeout: "timeout", chkRise: "rise", chkFall: "fall", chkPath: "path", chkHost: "host", chkExpectStatus: "expect_status", chkExpectBody: "expect_body", chkQuery: "query", chkCommand: "command"}

const (
	chkType keyID = iota
	chkPort
	chkVia
	chkInterval
	chkTimeout
	chkRise
	chkFall
	chkPath
	chkHost
	chkExpectStatus
	chkExpectBody
	chkQuery
	chkCommand
)

// markKeys are the keys of an item of mark.
func markKeys() []string { return markKeysList[:] }

var markKeysList = [...]string{markProtocol: "protocol", markPort: "port"}

const (
	markProtocol keyID = iota
	markPort
)

// tunnelKeys are the keys of a real server's tunnel.
func tunnelKeys() []string { return tunnelKeysList[:] }

var tunnelKeysList = [...]string{tunType: "type", tunPort: "port", tunFlags: "flags"}

const (
	tunType keyID = iota
	tunPort
	tunFlags
)

// realserverKeys are the keys of the realserver section.
func realserverKeys() []string { return realserverKeysList[:] }

var realserverKeysList = [...]string{gwGateway: "gateway"}

const (
	gwGateway keyID = iota
)

// serviceKeys are the keys of a virtual server.
func serviceKeys() []string { return serviceKeysList[:] }

var serviceKeysList = [...]string{svcVIP: "vip", svcPort: "port", svcProtocol: "protocol", svcFWMark: "fwmark", svcScheduler: "scheduler", svcSchedFlags: "scheduler_flags", svcPersistence: "persistence", svcNetmask: "persistence_netmask", svcMode: "mode", svcCheck: "check", svcOnFailure: "on_failure", svcDrainTimeout: "drain_timeout", svcSlowStart: "slow_start", svcSorry: "sorry_server", svcMark: "mark", svcRealServers: "real_servers"}

const (
	svcVIP keyID = iota
	svcPort
	svcProtocol
	svcFWMark
	svcScheduler
	svcSchedFlags
	svcPersistence
	svcNetmask
	svcMode
	svcCheck
	svcOnFailure
	svcDrainTimeout
	svcSlowStart
	svcSorry
	svcMark
	svcRealServers
)

// realServerKeys are the keys of a real server.
func realServerKeys() []string { return realServerKeysList[:] }

var realServerKeysList = [...]string{rsAddress: "address", rsPort: "port", rsWeight: "weight", rsMode: "mode", rsCheck: "check", rsUpper: "upper_threshold", rsLower: "lower_threshold", rsTunnel: "tunnel"}

const (
	rsAddress keyID = iota
	rsPort
	rsWeight
	rsMode
	rsCheck
	rsUpper
	rsLower
	rsTunnel
)

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
