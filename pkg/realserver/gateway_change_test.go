package realserver

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lvs-rs/lvs-rs/pkg/config"
	"golang.org/x/sys/unix"
)

// gatewayHost is a fake host with an IPv4 default route (the multipath
// one) and an IPv6 one, each in the slot lvs-rs's route takes, and an
// IPv4 one at another metric.
func gatewayHost() *fakeKernel {
	f := crashHost()
	f.routes = append(f.routes, Route{Dst: defaultDst(vip6), Gateway: netip.MustParseAddr("2001:db8::fe"), Dev: "eth0", Metric: 1, Protocol: unix.RTPROT_BOOT})
	return f
}

// TestGatewayChangeInterruptedAtEveryWrite changes the nat gateways of a
// started host (G1 to G2 in each family, IPv4 to IPv6 and back, one
// family to both and back, both at once, nat to dr) and interrupts the
// change at each of its writes in turn: killed right before it (its
// intention saved), killed right after it, or refused. Then stop (also
// killed after each of its writes, then run again), or start with the
// new or the old gateways followed by stop, must put the host back
// exactly as it was before the first start, without a warning: the
// route lvs-rs replaced first in each family is never lost, and lvs-rs's
// own route is never taken for it.
func TestGatewayChangeInterruptedAtEveryWrite(t *testing.T) {
	g1, g2 := netip.MustParseAddr("10.1.0.1"), netip.MustParseAddr("10.1.0.2")
	g6, g6b := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	// nat serves a nat VIP of each family gs has a gateway of.
	nat := func(gs ...netip.Addr) Desired {
		d := Desired{Gateways: gs}
		for _, g := range gs {
			d.Bindings = append(d.Bindings, bind(config.ModeNAT, map[bool]netip.Addr{false: vip1, true: vip6}[g.Is6()])...)
		}
		return d
	}
	version3, version5 := 0, 0 // interrupted changes recorded as version 3, records of two routes
	for _, c := range []struct {
		name   string
		d1, d2 Desired
	}{
		{"G1->G2", nat(g1), nat(g2)},
		{"v6 G1->G2", nat(g6), nat(g6b)},
		{"v4->v6", nat(g1), nat(g6)},
		{"v6->v4", nat(g6), nat(g1)},
		{"nat->dr", nat(g1), Desired{Bindings: dr(vip1)}},
		{"v4->both", nat(g1), nat(g1, g6)},
		{"v6->both", nat(g6), nat(g1, g6)},
		{"both->v6", nat(g1, g6), nat(g6)},
		{"both->v4", nat(g1, g6), nat(g1)},
		{"both, G1->G2 in each", nat(g1, g6), nat(g2, g6b)},
		{"both, v4 G1->G2", nat(g1, g6), nat(g2, g6)},
		{"both, v6 G1->G2", nat(g1, g6), nat(g1, g6b)},
		{"both->dr", nat(g1, g6), Desired{Bindings: dr(vip1)}},
	} {
		interruptEveryWrite(t, c.name, gatewayHost, c.d1, c.d2, func(name string, rec Record) {
			changing := rec.Route != nil && rec.Route.Was != nil || rec.Route6 != nil && rec.Route6.Was != nil
			want := 0 // plain: what runCrashing's record starts with, or recordVersion
			switch {
			case rec.Route6 != nil:
				want = dualVersion
				version5++
			case changing:
				want = changingVersion
				version3++
			}
			if rec.Version != want && (want != 0 || rec.Version != recordVersion) {
				t.Errorf("%s: record version %d (change under way %v, IPv6 route next to an IPv4 one %v), want %d", name, rec.Version, changing, rec.Route6 != nil, want)
			}
		})
	}
	if version3 == 0 || version5 == 0 {
		t.Errorf("interrupted changes recorded as version 3: %d, as version 5: %d: the version check proves nothing", version3, version5)
	}
}

// interruptEveryWrite starts a host made by host with d1, changes it to
// d2, and interrupts the change at each of its writes in turn: killed
// right before it (its intention saved), killed right after it, or
// refused. checkRec checks the record the interrupted change left. Then
// stop (also killed after each of its writes, then run again), or start
// with d2 or d1 followed by stop, must put the host back exactly as it
// was before the first start, without a warning.
func interruptEveryWrite(t *testing.T, change string, host func() *fakeKernel, d1, d2 Desired, checkRec func(name string, rec Record)) {
	t.Helper()
	probe := host()
	r1, _, err := runCrashing(t, probe, d1, Record{}, false)
	if err != nil {
		t.Fatal(err)
	}
	probe.writes = nil
	if _, _, err := runCrashing(t, probe, d2, r1, false); err != nil {
		t.Fatal(err)
	}
	writes := probe.writes
	if len(writes) == 0 {
		t.Fatalf("%s: the change made no write", change)
	}
	for k, w := range writes {
		for _, how := range []string{"killed before", "killed after", "refused"} {
			// interrupted starts a host with d1 and changes it to d2,
			// interrupted at write k as how says.
			interrupted := func(name string) (*fakeKernel, snapshot, Record) {
				f := host()
				before := f.snap()
				rec, _, err := runCrashing(t, f, d1, Record{}, false)
				if err != nil {
					t.Fatal(err)
				}
				f.writes = nil
				switch how {
				case "killed before":
					f.crashBefore = k + 1
				case "killed after":
					f.crashAfter = k + 1
				default:
					f.fail = func(op string) error {
						if op == w {
							return unix.EINVAL
						}
						return nil
					}
				}
				rec, crashed, err := runCrashing(t, f, d2, rec, false)
				if how == "refused" && !errors.Is(err, unix.EINVAL) || how != "refused" && !crashed {
					t.Fatalf("%s: the change was not interrupted (%v)", name, err)
				}
				f.crashBefore, f.crashAfter, f.fail = 0, 0, nil
				checkRec(name, rec)
				return f, before, rec
			}
			for _, then := range []string{"stop", "start again, stop", "start as before, stop"} {
				name := fmt.Sprintf("%s, write %d (%s) %s, then %s", change, k+1, w, how, then)
				f, before, rec := interrupted(name)
				if d, ok := map[string]Desired{"start again, stop": d2, "start as before, stop": d1}[then]; ok {
					var err error
					if rec, _, err = runCrashing(t, f, d, rec, false); err != nil {
						t.Fatalf("%s: start: %v", name, err)
					}
					if rest, _ := Plan(d, f.observed(rec)); len(rest) != 0 {
						t.Errorf("%s: start did not converge: %q", name, kinds(rest))
					}
				}
				if _, _, err := runCrashing(t, f, Desired{}, rec, true); err != nil {
					t.Fatalf("%s: stop: %v", name, err)
				}
				if diff := cmp.Diff(normalised(before, f.snap()), f.snap(), eq); diff != "" {
					t.Errorf("%s: host not restored (-before +after):\n%s", name, diff)
				}
			}
			// The stop that follows is killed after each of its
			// writes in turn; a second stop finishes the job.
			for j := 1; ; j++ {
				name := fmt.Sprintf("%s, write %d (%s) %s, then stop killed after its write %d, stop", change, k+1, w, how, j)
				f, before, rec := interrupted(name)
				f.writes, f.crashAfter = nil, j
				rec, crashed, _ := runCrashing(t, f, Desired{}, rec, true)
				if !crashed {
					break
				}
				f.crashAfter = 0
				if _, _, err := runCrashing(t, f, Desired{}, rec, true); err != nil {
					t.Fatalf("%s: stop: %v", name, err)
				}
				if diff := cmp.Diff(normalised(before, f.snap()), f.snap(), eq); diff != "" {
					t.Errorf("%s: host not restored (-before +after):\n%s", name, diff)
				}
			}
		}
	}
}
