package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

// keyID numbers a key among those of its kind of mapping: its index in
// the kind's list below (the lists are written indexed by their keyIDs).
// A mapping's fields find a known key by its keyID (fields.get).
type keyID uint8

// The keys each mapping of the file accepts, in documentation order. The
// functions return lists made once, so that reading a file does not build
// them again for every mapping; callers must not change them.

// keyList is the keys a kind of mapping accepts, with an index to find a
// name among them without a scan.
type keyList struct {
	names []string
	// slot holds, by keyHash, 1 + the index of the name with that hash
	// (0 for none); when two names share a hash, scan is set instead.
	slot [64]uint8
	scan bool
}

// newKeyList indexes names.
func newKeyList(names []string) keyList {
	l := keyList{names: names, scan: len(names) > 255}
	for i, name := range names {
		h := keyHash(name)
		if l.slot[h] != 0 {
			l.scan = true
		}
		l.slot[h] = uint8(i + 1)
	}
	return l
}

// keyHash is where name goes in keyList.slot; the key lists of the file
// have no two names with the same hash (TestKeyListsIndexed).
func keyHash(name string) int {
	if name == "" {
		return 0
	}
	return (len(name) + int(name[0]) + 3*int(name[len(name)-1])) & 63
}

// index returns the index of name in l, or -1.
func (l *keyList) index(name string) int {
	if l.scan {
		return slices.Index(l.names, name)
	}
	if i := int(l.slot[keyHash(name)]) - 1; i >= 0 && l.names[i] == name {
		return i
	}
	return -1
}

// topKeys are the keys of the document.
func topKeys() *keyList { return &topKeysIndex }

var topKeysIndex = newKeyList(topKeysList[:])

var topKeysList = [...]string{
	topDirector: "director", topRealserver: "realserver", topVirtualServers: "virtual_servers",
}

// The keyIDs of topKeysList.
const (
	topDirector keyID = iota
	topRealserver
	topVirtualServers
)

// directorKeys are the keys of the director section.
func directorKeys() *keyList { return &directorKeysIndex }

var directorKeysIndex = newKeyList(directorKeysList[:])

var directorKeysList = [...]string{
	dirInterface: "interface", dirIPForward: "ip_forward", dirReconcile: "reconcile_interval",
	dirMetrics: "metrics", dirSendRedirects: "send_redirects", dirIPVSSysctls: "ipvs_sysctls",
	dirTimeouts: "timeouts", dirSync: "sync", dirAnnounce: "announce",
}

// The keyIDs of directorKeysList.
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
func timeoutKeys() *keyList { return &timeoutKeysIndex }

var timeoutKeysIndex = newKeyList(timeoutKeysList[:])

var timeoutKeysList = [...]string{toTCP: "tcp", toTCPFin: "tcp_fin", toUDP: "udp"}

// The keyIDs of timeoutKeysList.
const (
	toTCP keyID = iota
	toTCPFin
	toUDP
)

// syncKeys are the keys of director.sync.
func syncKeys() *keyList { return &syncKeysIndex }

var syncKeysIndex = newKeyList(syncKeysList[:])

var syncKeysList = [...]string{
	syncInterface: "interface", syncState: "state", syncSyncID: "syncid", syncMaxLen: "maxlen",
	syncGroup: "group", syncPort: "port", syncTTL: "ttl",
}

// The keyIDs of syncKeysList.
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
func announceKeys() *keyList { return &announceKeysIndex }

var announceKeysIndex = newKeyList(announceKeysList[:])

var announceKeysList = [...]string{annTable: "table", annProtocol: "protocol"}

// The keyIDs of announceKeysList.
const (
	annTable keyID = iota
	annProtocol
)

// ipvsSysctlKeys are the keys of director.ipvs_sysctls.
func ipvsSysctlKeys() *keyList {
	var out []string
	for _, p := range sysctl.IPVSParams() {
		out = append(out, p.Name)
	}
	l := newKeyList(out)
	return &l
}

// checkKeys are the keys of a check block.
func checkKeys() *keyList { return &checkKeysIndex }

var checkKeysIndex = newKeyList(checkKeysList[:])

var checkKeysList = [...]string{
	chkType: "type", chkPort: "port", chkVia: "via", chkInterval: "interval", chkTimeout: "timeout",
	chkRise: "rise", chkFall: "fall", chkPath: "path", chkHost: "host",
	chkExpectStatus: "expect_status", chkExpectBody: "expect_body", chkQuery: "query",
	chkCommand: "command",
}

// The keyIDs of checkKeysList.
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
func markKeys() *keyList { return &markKeysIndex }

var markKeysIndex = newKeyList(markKeysList[:])

var markKeysList = [...]string{markProtocol: "protocol", markPort: "port"}

// The keyIDs of markKeysList.
const (
	markProtocol keyID = iota
	markPort
)

// tunnelKeys are the keys of a real server's tunnel.
func tunnelKeys() *keyList { return &tunnelKeysIndex }

var tunnelKeysIndex = newKeyList(tunnelKeysList[:])

var tunnelKeysList = [...]string{tunType: "type", tunPort: "port", tunFlags: "flags"}

// The keyIDs of tunnelKeysList.
const (
	tunType keyID = iota
	tunPort
	tunFlags
)

// realserverKeys are the keys of the realserver section.
func realserverKeys() *keyList { return &realserverKeysIndex }

var realserverKeysIndex = newKeyList(realserverKeysList[:])

var realserverKeysList = [...]string{gwGateway: "gateway"}

// The keyIDs of realserverKeysList.
const (
	gwGateway keyID = iota
)

// serviceKeys are the keys of a virtual server.
func serviceKeys() *keyList { return &serviceKeysIndex }

var serviceKeysIndex = newKeyList(serviceKeysList[:])

var serviceKeysList = [...]string{
	svcVIP: "vip", svcPort: "port", svcProtocol: "protocol", svcFWMark: "fwmark",
	svcScheduler: "scheduler", svcSchedFlags: "scheduler_flags", svcPersistence: "persistence",
	svcNetmask: "persistence_netmask", svcMode: "mode", svcCheck: "check", svcOnFailure: "on_failure",
	svcDrainTimeout: "drain_timeout", svcSlowStart: "slow_start", svcSorry: "sorry_server",
	svcMark: "mark", svcRealServers: "real_servers",
}

// The keyIDs of serviceKeysList.
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
func realServerKeys() *keyList { return &realServerKeysIndex }

var realServerKeysIndex = newKeyList(realServerKeysList[:])

var realServerKeysList = [...]string{
	rsAddress: "address", rsPort: "port", rsWeight: "weight", rsMode: "mode", rsCheck: "check",
	rsUpper: "upper_threshold", rsLower: "lower_threshold", rsTunnel: "tunnel",
}

// The keyIDs of realServerKeysList.
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
