package reconcile

import (
	"strings"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/control"
	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/metrics"
)

// TestSorryServerIsNotUp: while every real server is down the sorry
// server is in service; status shows it as sorry and the metrics give it
// lvsrs_real_server_up 0 (state="sorry" 1), so an alert on
// sum by (local_address) (lvsrs_real_server_up) == 0 fires.
func TestSorryServerIsNotUp(t *testing.T) {
	sorry := dest(sry, 80, 0)
	out := Overlay(base(director.DesiredService{Service: web, Destinations: []ipvs.Destination{dest(rs1, 80, 5), dest(rs2, 80, 3)}}),
		Inputs{Now: t0, Policies: map[ipvs.ServiceKey]Policy{webK: {Sorry: &sorry, VIP: vip}},
			Health: map[Member]Health{mem(web, rs1): {State: Down}, mem(web, rs2): {State: Down}}})
	var ms []metrics.RealServerMetric
	sorryRows := 0
	for _, r := range out.Rows {
		rs := realServerOf(r, nil)
		if r.Destination.Address == sry {
			sorryRows++
			if rs.State != control.StateSorry || r.Effective != 1 { // planned: the kernel's weight comes from the read-back
				t.Errorf("status row of the sorry server: %+v, want state sorry, weight 1", rs)
			}
		} else if rs.State == control.StateUp {
			t.Errorf("status row %+v: up", rs)
		}
		ms = append(ms, metricOf(r))
	}
	if sorryRows != 1 {
		t.Fatalf("rows %+v: want the sorry server's", out.Rows)
	}
	reg := metrics.New()
	reg.SetRealServers(ms)
	text := reg.WriteText()
	ups, sorryState := 0, false
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "lvsrs_real_server_up{") && strings.Contains(l, `local_address="10.0.0.100"`) {
			ups++
			if !strings.HasSuffix(l, " 0") {
				t.Errorf("%s: want 0 (no real server is up)", l)
			}
		}
		if strings.HasPrefix(l, "lvsrs_real_server_state{") && strings.Contains(l, `remote_address="10.0.0.99"`) && strings.Contains(l, `state="sorry"`) {
			sorryState = strings.HasSuffix(l, " 1")
		}
	}
	if ups != 3 || !sorryState {
		t.Errorf("metrics: %d up series for the VIP (want 3), sorry state 1: %v\n%s", ups, sorryState, grep(text, "real_server"))
	}
}
