package reconcile

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/lvs-rs/lvs-rs/pkg/config"
	"github.com/lvs-rs/lvs-rs/pkg/control"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
)

// TestTransitionConvergesItsServiceOnly: a health transition makes a pass
// of the one service whose real server changed (its real servers are
// listed, the other service's are not, though a real server of it drained
// by hand makes every full pass read them), and the next full pass still
// comes reconcile_interval after the last one, not pushed back by it.
func TestTransitionConvergesItsServiceOnly(t *testing.T) {
	l2 := listen(t, "127.0.0.2:0")
	const interval = 3 * time.Second
	cfg := fmt.Sprintf(`director:
  interface: eth0
  reconcile_interval: %s
virtual_servers:
  - vip: 10.0.0.100
    port: 80
    check: {type: tcp, interval: 100ms, timeout: 50ms, rise: 1, fall: 1}
    real_servers:
      - {address: 127.0.0.2, weight: 2, check: {port: %d}}
  - vip: 10.0.0.100
    port: 81
    real_servers:
      - {address: 127.0.0.5, weight: 5}
`, interval, portOfListener(l2))
	lp, k, _ := runLoop(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := lp.Drain(ctx, control.DrainRequest{Address: netip.MustParseAddr("127.0.0.5")}); err != nil {
		t.Fatal(err)
	}
	// Right after a full pass, so that none is due while the transition's
	// pass runs.
	full := counts(lp).nextFull
	waitUntil(t, "the next full pass", func() (bool, string) {
		next := counts(lp).nextFull
		return next.After(full), fmt.Sprint(next)
	})
	full = counts(lp).nextFull
	d80, d81 := k.dumpsOf(80), k.dumpsOf(81)

	l2.Close()
	waitWeights(t, k, map[string]int{"127.0.0.2": 0})
	if got := k.dumpsOf(81); got != d81 {
		t.Errorf("the transition's pass listed the real servers of the other service (%d dumps, %d before)", got, d81)
	}
	if got := k.dumpsOf(80); got == d80 {
		t.Errorf("the transition's pass did not list its own service's real servers")
	}
	next := counts(lp).nextFull
	if !next.Equal(full) {
		t.Errorf("the next full pass moved from %v to %v", full, next)
	}
	// The full pass still comes, and lists both.
	waitUntil(t, "a full pass", func() (bool, string) {
		return k.dumpsOf(81) > d81, fmt.Sprint(k.dumpsOf(81), " dumps of 81")
	})
}

// TestReadKernel: the weights and connections of a few services are read
// by asking for each (no dump of every service; one not in the kernel is
// skipped), those of many from one dump.
func TestReadKernel(t *testing.T) {
	k := newMemKernel()
	var ops []ipvs.Op
	want := map[ipvs.ServiceKey]bool{}
	for i := range 20 {
		s := web
		s.Port = uint16(1000 + i)
		ops = append(ops, ipvs.Op{Kind: ipvs.OpNewService, Service: s},
			ipvs.Op{Kind: ipvs.OpNewDestination, Service: s, Destination: dest(rs1, s.Port, uint32(i))})
		want[s.Key()] = true
	}
	for i, err := range k.Apply(context.Background(), ops) {
		if err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
	}
	few := map[ipvs.ServiceKey]bool{}
	for i := range fewGets {
		few[ops[2*i].Service.Key()] = true
	}
	missing := web
	missing.Port = 9
	for _, tc := range []struct {
		name         string
		want         map[ipvs.ServiceKey]bool
		listed, asks int
	}{
		{"one service and one missing", map[ipvs.ServiceKey]bool{ops[0].Service.Key(): true, missing.Key(): true}, 0, 2},
		{fmt.Sprint(fewGets, " services"), few, 0, fewGets},
		{"20 services", want, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			listed, asked := k.listed, k.asked
			got, err := readKernel(context.Background(), k, tc.want)
			if err != nil {
				t.Fatal(err)
			}
			if k.listed-listed != tc.listed || k.asked-asked != tc.asks {
				t.Errorf("%d dumps of every service and %d services asked for, want %d and %d", k.listed-listed, k.asked-asked, tc.listed, tc.asks)
			}
			existing := 0
			for sk := range tc.want {
				if sk == missing.Key() {
					continue
				}
				existing++
				m := Member{sk, ipvs.DestinationKey{Address: rs1, Port: sk.Port}}
				if o, ok := got[m]; !ok || o.Weight != uint32(sk.Port-1000) {
					t.Errorf("%v: %+v, %v; want weight %d", m, o, ok, sk.Port-1000)
				}
			}
			if len(got) != existing {
				t.Errorf("%d real servers read, want %d (one per service in the kernel)", len(got), existing)
			}
		})
	}
}

// TestInputsOfScope: a pass overlaying some services on the last outcome
// gathers the health and drains of their real servers alone; any other
// pass, of every real server.
func TestInputsOfScope(t *testing.T) {
	lp := newLoop(t, `director: {interface: eth0}
virtual_servers:
  - vip: 10.0.0.100
    port: 80
    check: {type: tcp}
    real_servers: [{address: 127.0.0.2}, {address: 127.0.0.3}]
  - vip: 10.0.0.100
    port: 81
    check: {type: tcp}
    real_servers: [{address: 127.0.0.2}]
`)
	s80, s81 := lp.setup.Base.Services[0].Service.Key(), lp.setup.Base.Services[1].Service.Key()
	a := netip.MustParseAddr("127.0.0.2")
	lp.mu.Lock()
	defer lp.mu.Unlock()
	for _, k := range []ipvs.ServiceKey{s80, s81} {
		d := control.Drain{Service: selectorOf(k), Address: a}
		lp.drains, lp.drainedAt[d] = append(lp.drains, d), t0
	}
	for _, tc := range []struct {
		name           string
		only           map[ipvs.ServiceKey]bool
		health, drains int
	}{
		{"every service", nil, 3, 2},
		{"port 80 alone", map[ipvs.ServiceKey]bool{s80: true}, 2, 1},
		{"port 81 alone", map[ipvs.ServiceKey]bool{s81: true}, 1, 1},
	} {
		in := lp.inputs(t0, tc.only)
		if len(in.Health) != tc.health || len(in.Drained) != tc.drains {
			t.Errorf("%s: health of %d and drains of %d real servers, want %d and %d", tc.name, len(in.Health), len(in.Drained), tc.health, tc.drains)
		}
		for m := range in.Health {
			if tc.only != nil && !tc.only[m.Service] {
				t.Errorf("%s: health of %v gathered", tc.name, m)
			}
		}
	}
}

// newLoop is a loop on the configuration text, not running (no kernel).
func newLoop(tb testing.TB, text string) *Loop {
	tb.Helper()
	dir := tb.TempDir()
	file := filepath.Join(dir, "lvs-rs.yaml")
	writeConfig(tb, file, text)
	cfg, err := config.Load(file)
	if err != nil {
		tb.Fatal(err)
	}
	lp, err := New(Options{Config: cfg, File: file, StateDir: filepath.Join(dir, "state"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		tb.Fatal(err)
	}
	return lp
}
