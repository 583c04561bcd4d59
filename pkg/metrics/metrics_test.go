package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/lvs-rs/lvs-rs/pkg/control"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// serve starts ServeListener on 127.0.0.1:0 and returns its base URL.
func serve(t *testing.T, reg *Registry) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeListener(ctx, ln, reg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeListener: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// scrape fetches and parses /metrics.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := get(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// series maps each series of family name to its value (counter, gauge)
// or its sample count (histogram), keyed by its sorted labels.
func series(fams map[string]*dto.MetricFamily, name string) map[string]float64 {
	out := map[string]float64{}
	mf, ok := fams[name]
	if !ok {
		return out
	}
	for _, m := range mf.GetMetric() {
		var kv []string
		for _, l := range m.GetLabel() {
			kv = append(kv, l.GetName()+"="+l.GetValue())
		}
		sort.Strings(kv)
		key := strings.Join(kv, ",")
		switch {
		case m.Gauge != nil:
			out[key] = m.GetGauge().GetValue()
		case m.Counter != nil:
			out[key] = m.GetCounter().GetValue()
		case m.Histogram != nil:
			out[key] = float64(m.GetHistogram().GetSampleCount())
		}
	}
	return out
}

const (
	web  = "local_address=10.0.0.100,local_mark=,local_port=80,proto=TCP,remote_address=10.0.0.11,remote_port=80"
	web2 = "local_address=10.0.0.100,local_mark=,local_port=80,proto=TCP,remote_address=10.0.0.12,remote_port=80"
	mark = "local_address=,local_mark=0000000A,local_port=0,proto=FWM,remote_address=2001:db8::11,remote_port=0"
)

func snapshot() []RealServerMetric {
	vip := netip.MustParseAddr("10.0.0.100")
	return []RealServerMetric{
		{Proto: "tcp", VIP: vip, Port: 80, Address: netip.MustParseAddr("10.0.0.11"), RealPort: 80,
			State: "up", ConfiguredWeight: 3, EffectiveWeight: 2},
		{Proto: "tcp", VIP: vip, Port: 80, Address: netip.MustParseAddr("10.0.0.12"), RealPort: 80,
			State: "drained", ConfiguredWeight: 1, EffectiveWeight: 0},
		{FWMark: 10, Address: netip.MustParseAddr("2001:db8::11"), State: "down", ConfiguredWeight: 5},
	}
}

func TestRealServerSeries(t *testing.T) {
	reg := New()
	base := serve(t, reg)
	reg.SetRealServers(snapshot())
	fams := scrape(t, base)
	want := map[string]float64{web: 1, web2: 0, mark: 0}
	if diff := cmp.Diff(want, series(fams, "lvsrs_real_server_up")); diff != "" {
		t.Errorf("lvsrs_real_server_up (-want +got):\n%s", diff)
	}
	wantW := map[string]float64{
		"kind=configured," + web: 3, "kind=effective," + web: 2,
		"kind=configured," + web2: 1, "kind=effective," + web2: 0,
		"kind=configured," + mark: 5, "kind=effective," + mark: 0,
	}
	if diff := cmp.Diff(wantW, series(fams, "lvsrs_real_server_weight")); diff != "" {
		t.Errorf("lvsrs_real_server_weight (-want +got):\n%s", diff)
	}
	st := series(fams, "lvsrs_real_server_state")
	current := map[string]string{web: "up", web2: "drained", mark: "down"}
	for rs, cur := range current {
		for _, s := range States {
			key := rs + ",state=" + s
			v, ok := st[key]
			if want := boolValue(s == cur); !ok || v != want {
				t.Errorf("lvsrs_real_server_state{%s} = %v (present %v), want %v", key, v, ok, want)
			}
		}
	}
	if len(st) != 3*len(States) {
		t.Errorf("%d state series, want %d", len(st), 3*len(States))
	}

	// The next snapshot drops 10.0.0.12 and the fwmark service.
	reg.SetRealServers(snapshot()[:1])
	fams = scrape(t, base)
	if diff := cmp.Diff(map[string]float64{web: 1}, series(fams, "lvsrs_real_server_up")); diff != "" {
		t.Errorf("after removal, lvsrs_real_server_up (-want +got):\n%s", diff)
	}
	if n := len(series(fams, "lvsrs_real_server_state")); n != len(States) {
		t.Errorf("after removal, %d state series, want %d", n, len(States))
	}
	if n := len(series(fams, "lvsrs_real_server_weight")); n != 2 {
		t.Errorf("after removal, %d weight series, want 2", n)
	}
	reg.SetRealServers(nil)
	if fams := scrape(t, base); len(series(fams, "lvsrs_real_server_up")) != 0 {
		t.Error("an empty snapshot left lvsrs_real_server_up series")
	}
}

func TestDuplicateRealServersLastWins(t *testing.T) {
	reg := New()
	s := snapshot()[:1]
	dup := s[0]
	dup.State, dup.EffectiveWeight = "down", 0
	reg.SetRealServers(append(s, dup))
	fams := scrape(t, serve(t, reg))
	if diff := cmp.Diff(map[string]float64{web: 0}, series(fams, "lvsrs_real_server_up")); diff != "" {
		t.Errorf("lvsrs_real_server_up (-want +got):\n%s", diff)
	}
}

func TestEvents(t *testing.T) {
	reg := New()
	base := serve(t, reg)
	fams := scrape(t, base)
	// Counters with a fixed set of results exist before the first event.
	zero := map[string]float64{"result=success": 0, "result=error": 0}
	if diff := cmp.Diff(zero, series(fams, "lvsrs_reconcile_total")); diff != "" {
		t.Errorf("lvsrs_reconcile_total at start (-want +got):\n%s", diff)
	}

	reg.ObserveCheck("tcp", "pass", 2*time.Millisecond)
	reg.ObserveCheck("tcp", "pass", 3*time.Millisecond)
	reg.ObserveCheck("http", "fail", time.Second)
	reg.CheckSkipped("exec", "late")
	reg.CheckSkipped("exec", "late")
	reg.CheckSkipped("tcp", "overlap")
	reg.Transition("up", "down")
	reg.Transition("up", "down")
	reg.Transition("down", "up")
	reg.Reconciled(5*time.Millisecond, nil)
	reg.Reconciled(7*time.Millisecond, errors.New("boom"))
	reg.Reconciled(time.Millisecond, nil)
	reg.DriftRepaired("vip")
	reg.DriftRepaired("weight")
	reg.DriftRepaired("weight")
	reg.NetlinkError("add_destination", fmt.Errorf("ipvs: add 10.0.0.11: %w", syscall.EEXIST))
	reg.NetlinkError("add_destination", &os.SyscallError{Syscall: "sendmsg", Err: syscall.ENOBUFS})
	reg.NetlinkError("get_services", errors.New("truncated message"))
	reg.Reloaded(true)
	reg.Reloaded(false)

	fams = scrape(t, base)
	for _, c := range []struct {
		name string
		want map[string]float64
	}{
		{"lvsrs_health_check_duration_seconds", map[string]float64{"result=pass,type=tcp": 2, "result=fail,type=http": 1}},
		{"lvsrs_health_check_skipped_total", map[string]float64{"reason=late,type=exec": 2, "reason=overlap,type=tcp": 1}},
		{"lvsrs_health_check_transitions_total", map[string]float64{"from=up,to=down": 2, "from=down,to=up": 1}},
		{"lvsrs_reconcile_duration_seconds", map[string]float64{"": 3}},
		{"lvsrs_reconcile_total", map[string]float64{"result=success": 2, "result=error": 1}},
		{"lvsrs_drift_repairs_total", map[string]float64{"object=vip": 1, "object=weight": 2}},
		{"lvsrs_netlink_errors_total", map[string]float64{
			"errno=EEXIST,op=add_destination": 1, "errno=ENOBUFS,op=add_destination": 1, "errno=other,op=get_services": 1}},
		{"lvsrs_config_reload_total", map[string]float64{"result=success": 1, "result=failure": 1}},
		{"lvsrs_config_last_reload_success", map[string]float64{"": 0}},
	} {
		if diff := cmp.Diff(c.want, series(fams, c.name)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
	h := fams["lvsrs_health_check_duration_seconds"].GetMetric()
	for _, m := range h {
		if m.GetLabel()[0].GetValue() == "fail" && m.GetHistogram().GetSampleSum() != 1 {
			t.Errorf("http fail check sum %v s, want 1", m.GetHistogram().GetSampleSum())
		}
	}
	if ts := series(fams, "lvsrs_config_last_reload_success_timestamp_seconds")[""]; time.Since(time.Unix(int64(ts), 0)) > time.Minute {
		t.Errorf("last reload success timestamp %v, want about now", ts)
	}
	if _, ok := fams["process_cpu_seconds_total"]; !ok {
		t.Error("no process_cpu_seconds_total")
	}
	// The process_* values from /proc/self/stat, each field where it
	// belongs: this test binary started within the hour, holds more than
	// a megabyte resident and maps more than it holds.
	start := series(fams, "process_start_time_seconds")[""]
	rss, vsize := series(fams, "process_resident_memory_bytes")[""], series(fams, "process_virtual_memory_bytes")[""]
	if age := time.Since(time.Unix(int64(start), 0)); age < -time.Second || age > time.Hour {
		t.Errorf("process_start_time_seconds %v: started %v ago", start, age)
	}
	if rss < 1<<20 || vsize <= rss {
		t.Errorf("process_resident_memory_bytes %v, process_virtual_memory_bytes %v", rss, vsize)
	}
	for name := range fams {
		if strings.HasPrefix(name, "node_ipvs") || strings.Contains(name, "_bytes_total") && strings.HasPrefix(name, "lvsrs") {
			t.Errorf("%s re-exports an IPVS counter node_exporter has", name)
		}
	}
}

func TestLint(t *testing.T) {
	reg := New()
	reg.SetRealServers(snapshot())
	reg.ObserveCheck("tcp", "pass", time.Millisecond)
	reg.Transition("up", "down")
	reg.DriftRepaired("vip")
	reg.NetlinkError("x", syscall.EINVAL)
	reg.SetAnnounced(map[netip.Addr]bool{netip.MustParseAddr("10.0.0.100"): true})
	gather := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(strings.NewReader(reg.WriteText()))
		out := make([]*dto.MetricFamily, 0, len(fams))
		for _, f := range fams {
			out = append(out, f)
		}
		return out, err
	})
	problems, err := testutil.GatherAndLint(gather)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "lvsrs_") {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	}
}

// TestPassNetlinkErrors: every IPVS request that failed in a pass's error
// (joined, wrapped) is counted under its operation and errno; other
// failures are not netlink requests of IPVS and are not counted.
func TestPassNetlinkErrors(t *testing.T) {
	reg := New()
	base := serve(t, reg)
	reg.NetlinkErrors(nil)
	reg.NetlinkErrors(errors.Join(
		&ipvs.Error{Op: "add service", Object: "tcp 10.0.0.100:80", Err: syscall.ENOENT},
		fmt.Errorf("director: %w", &ipvs.Error{Op: "edit destination", Object: "10.0.0.11:80 in tcp 10.0.0.100:80", Err: syscall.EINVAL}),
		&ipvs.Error{Op: "add destination", Object: "10.0.0.12:80 in tcp 10.0.0.100:80",
			Err: fmt.Errorf("no acknowledgement from the kernel (%w): %w", &os.SyscallError{Syscall: "read", Err: syscall.ENOBUFS}, ipvs.ErrOutcomeUnknown)},
		errors.New("sysctl: write net/ipv4/ip_forward: permission denied"),
	))
	reg.NetlinkErrors(fmt.Errorf("a pass: %w", &ipvs.Error{Op: "list destinations of", Object: "tcp 10.0.0.100:80", Err: syscall.EINTR}))
	reg.NetlinkErrors(&ipvs.Error{Op: "add service", Object: "tcp 10.0.0.100:80", Err: syscall.ENOENT})
	want := map[string]float64{
		"errno=ENOENT,op=add_service": 2, "errno=EINVAL,op=edit_destination": 1,
		"errno=ENOBUFS,op=add_destination": 1, "errno=EINTR,op=list_destinations": 1,
	}
	if diff := cmp.Diff(want, series(scrape(t, base), "lvsrs_netlink_errors_total")); diff != "" {
		t.Errorf("lvsrs_netlink_errors_total (-want +got):\n%s", diff)
	}
}

// TestAnnouncedVIPs: lvsrs_vip_announced holds exactly the last
// snapshot's VIPs.
func TestAnnouncedVIPs(t *testing.T) {
	reg := New()
	base := serve(t, reg)
	a, b := netip.MustParseAddr("10.0.0.100"), netip.MustParseAddr("2001:db8::100")
	reg.SetAnnounced(map[netip.Addr]bool{a: true, b: false})
	if diff := cmp.Diff(map[string]float64{"vip=10.0.0.100": 1, "vip=2001:db8::100": 0},
		series(scrape(t, base), "lvsrs_vip_announced")); diff != "" {
		t.Errorf("lvsrs_vip_announced (-want +got):\n%s", diff)
	}
	reg.SetAnnounced(map[netip.Addr]bool{b: true})
	if diff := cmp.Diff(map[string]float64{"vip=2001:db8::100": 1}, series(scrape(t, base), "lvsrs_vip_announced")); diff != "" {
		t.Errorf("after the second snapshot (-want +got):\n%s", diff)
	}
	reg.SetAnnounced(nil)
	if _, ok := scrape(t, base)["lvsrs_vip_announced"]; ok {
		t.Error("lvsrs_vip_announced without VIPs")
	}
}

func TestStatesMatchControl(t *testing.T) {
	var want []string
	for _, s := range control.States {
		want = append(want, string(s))
	}
	if diff := cmp.Diff(want, States); diff != "" {
		t.Errorf("metrics.States and control.States differ (-control +metrics):\n%s", diff)
	}
}

func TestIndexAndNotFound(t *testing.T) {
	base := serve(t, New())
	if code, body := get(t, base+"/"); code != http.StatusOK || !strings.Contains(body, `href="/metrics"`) {
		t.Errorf("/: %d %q", code, body)
	}
	if code, _ := get(t, base+"/nope"); code != http.StatusNotFound {
		t.Errorf("/nope: %d, want 404", code)
	}
}

func TestServeStopsOnCancel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, addr, New()) }()
	var up bool
	for range 500 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			up = true
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !up {
		t.Fatal("Serve never listened")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Error("still listening after Serve returned")
	}
}

func TestServeBadAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = Serve(context.Background(), ln.Addr().String(), New())
	if err == nil || !strings.Contains(err.Error(), "metrics: listen on "+ln.Addr().String()) {
		t.Errorf("Serve on a busy port: %v", err)
	}
}
