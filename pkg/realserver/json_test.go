package realserver

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
)

// paths lists every key path of a decoded JSON document ("vips[].vip").
func paths(prefix string, v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			*out = append(*out, p)
			paths(p, e, out)
		}
	case []any:
		for _, e := range x {
			paths(prefix+"[]", e, out)
		}
	}
}

func keyPaths(t *testing.T, v any) []string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	paths("", doc, &out)
	slices.Sort(out)
	return slices.Compact(out)
}

func fullReport() *Report {
	r := &Report{
		Applied: true, Source: "state",
		VIPs: []VIPRow{{VIP: vip1, Mode: config.ModeDR, Device: "lo", Present: true, Owner: "lvs-rs"},
			{VIP: vip2, Mode: config.ModeTUN, Device: "tunl0", Tunnel: "gue port 6080", Present: true, Owner: "lvs-rs"}},
		Sysctls: []SysctlRow{{Key: loI, Wanted: "1", Actual: "0"}},
		Tunnel:  &TunnelRow{Device: "tunl0", Exists: true, Up: true},
		GRE:     &TunnelRow{Device: "gre0", Exists: true},
		FOU:     []FOURow{{Port: 6080, Present: true, Owner: "adopted"}},
		Routes: []RouteStatus{{Gateway: gw, Present: true, Owner: "lvs-rs", Replaced: "default via 10.1.0.254 dev eth0 metric 0"},
			{Gateway: gw6, Present: false}},
		Drift:    []string{"sysctl net/ipv4/conf/lo/arp_ignore: want 1, have 0"},
		Warnings: []string{"w"},
	}
	r.Route = &r.Routes[0]
	return r
}

// TestReportJSONShape pins the documented field names of status -o json.
func TestReportJSONShape(t *testing.T) {
	want := []string{
		"applied", "drift",
		"fou", "fou[].owner", "fou[].port", "fou[].present",
		"gre", "gre.device", "gre.exists", "gre.up", "gre.was_up",
		"route", "route.gateway", "route.owner", "route.present", "route.replaced",
		"routes", "routes[].gateway", "routes[].owner", "routes[].present", "routes[].replaced",
		"source",
		"sysctls", "sysctls[].actual", "sysctls[].key", "sysctls[].ok", "sysctls[].wanted",
		"tunnel", "tunnel.device", "tunnel.exists", "tunnel.up", "tunnel.was_up",
		"vips", "vips[].device", "vips[].mode", "vips[].owner", "vips[].present", "vips[].tunnel", "vips[].vip",
		"warnings",
	}
	if d := cmp.Diff(want, keyPaths(t, fullReport())); d != "" {
		t.Errorf("status JSON field names changed (-want +got):\n%s", d)
	}
	// An empty report still has arrays, never null, for the lists.
	b, _ := json.Marshal(&Report{Source: "none", VIPs: []VIPRow{}, Sysctls: []SysctlRow{}, Drift: []string{}})
	if got := string(b); got != `{"applied":false,"source":"none","vips":[],"sysctls":[],"drift":[]}` {
		t.Errorf("empty report = %s", got)
	}
	b, _ = json.Marshal(fullReport().VIPs[0])
	if got := string(b); got != `{"vip":"10.0.0.100","mode":"dr","device":"lo","present":true,"owner":"lvs-rs"}` {
		t.Errorf("vip row = %s", got)
	}
}

// TestRecordJSONShape pins the state record's field names, so that a
// record written by one version is read by the next.
func TestRecordJSONShape(t *testing.T) {
	r := Record{
		Version:   1,
		Desired:   specOf(Desired{Bindings: append(dr(vip1), gue(6080, vip2)...), Gateways: gws(gw, gw6)}),
		Sysctls:   []sysctl.Record{rec(loI, "0", "1")},
		Addresses: []AddrRecord{addrRecord(onLo(vip1, "lo:0"))},
		Tunnel:    &TunnelRecord{Dev: "tunl0", Created: true},
		GRE:       &TunnelRecord{Dev: "gre0", WasUp: true, Created: true},
		FOU:       []FOURecord{{Port: 6080}},
		Route: &RouteRecord{Created: &Route{Dst: defaultDst(gw), Gateway: gw, Metric: 0, Protocol: 4}, Was: &Route{Dst: defaultDst(gw), Gateway: gw2, Metric: 0, Protocol: 4}, Replaced: &Route{Dst: defaultDst(gw), Table: 254, Type: 1, Scope: 0, Gateway: gw2, Dev: "eth0", Src: vip1, OnLink: true,
			NextHops: []NextHop{{Gateway: gw2, Dev: "eth1", Weight: 2, OnLink: true}}, Metrics: RouteMetrics{MTU: 1400, Hoplimit: 64}}},
		Route6: &RouteRecord{Created: ptr(gatewayRoute(gw6))},
	}
	want := []string{
		"addresses", "addresses[].dev", "addresses[].host_scope", "addresses[].label", "addresses[].prefix",
		"desired", "desired.bindings", "desired.bindings[].mode", "desired.bindings[].port", "desired.bindings[].tunnel", "desired.bindings[].vip", "desired.gateway", "desired.gateway6",
		"fou", "fou[].port",
		"gre", "gre.created", "gre.dev", "gre.was_up",
		"route", "route.created", "route.created.dst", "route.created.gateway", "route.created.metric", "route.created.protocol",
		"route.replaced", "route.replaced.dev", "route.replaced.dst", "route.replaced.gateway",
		"route.replaced.metric", "route.replaced.metrics", "route.replaced.metrics.hoplimit", "route.replaced.metrics.mtu",
		"route.replaced.nexthops", "route.replaced.nexthops[].dev", "route.replaced.nexthops[].gateway", "route.replaced.nexthops[].onlink", "route.replaced.nexthops[].weight",
		"route.replaced.onlink", "route.replaced.src", "route.replaced.table", "route.replaced.type",
		"route.was", "route.was.dst", "route.was.gateway", "route.was.metric", "route.was.protocol",
		"route6", "route6.created", "route6.created.dst", "route6.created.gateway", "route6.created.metric", "route6.created.protocol",
		"route6.created.table", "route6.created.type",
		"sysctls", "sysctls[].key", "sysctls[].prior", "sysctls[].wrote",
		"tunnel", "tunnel.created", "tunnel.dev", "tunnel.was_up",
		"version",
	}
	if d := cmp.Diff(want, keyPaths(t, r)); d != "" {
		t.Errorf("record JSON field names changed (-want +got):\n%s", d)
	}
	b, _ := json.Marshal(r)
	var back Record
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !same(r, back) {
		t.Errorf("record does not survive a JSON round trip:\n%s", b)
	}
}

func TestWriteTable(t *testing.T) {
	var buf bytes.Buffer
	if err := fullReport().WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"VIP", "10.0.0.100", "lo", "yes",
		"SYSCTL", "WANTED", "ACTUAL", "net/ipv4/conf/lo/arp_ignore",
		"tunl0", "default via 10.1.0.1", "default via 2001:db8::1  no",
		"tun (gue port 6080)", "gre0", "GUE PORT", "udp/6080",
		"drift:\n  sysctl net/ipv4/conf/lo/arp_ignore: want 1, have 0",
		"warning: w",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	buf.Reset()
	(&Report{Source: "none"}).WriteTable(&buf)
	if !strings.Contains(buf.String(), "nothing applied") {
		t.Errorf("empty table: %q", buf.String())
	}
}

// same reports whether a and b encode to the same JSON.
func same(a, b Record) bool {
	x, y := encoded(a), encoded(b)
	return x != nil && y != nil && bytes.Equal(x, y)
}
