package director

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
	"github.com/lvs-rs/lvs-rs/pkg/vip"
)

// TestSettleReadsTheKernelBack: ownership after a run is what was intended
// and is present, whatever the acknowledgements said.
func TestSettleReadsTheKernelBack(t *testing.T) {
	s := svc(80)
	d1, d2 := dst(rs1, 80, ipvs.Route, 1), dst(rs2, 80, ipvs.Route, 1)
	fwd := sysctl.Record{Key: ipf, Prior: "0", Wrote: "1"}
	unknown := &ipvs.Error{Op: "add service", Object: s.String(), Err: fmt.Errorf("lost: %w", ipvs.ErrOutcomeUnknown)}
	exists := &ipvs.Error{Op: "add service", Object: s.String(), Err: unix.EEXIST}
	intended := Owned{
		Services: ownedOf(map[ipvs.ServiceKey]map[ipvs.DestinationKey]bool{s.Key(): {d1.Key(): true, d2.Key(): true}}),
		Addrs:    []vip.Addr{eth0(vip1, "eth0:0")},
		Sysctls:  []sysctl.Record{fwd},
	}
	adds := []Change{{Kind: SetSysctl, x: &changeDetail{Sysctl: fwd}}, {Kind: Bind, x: &changeDetail{Addr: eth0(vip1, "eth0:0")}}, {Kind: AddService, Service: s},
		{Kind: AddDestination, Service: s, Destination: d1}, {Kind: AddDestination, Service: s, Destination: d2}}
	present := func(ds ...ipvs.Destination) Observed {
		o := Observed{Services: map[ipvs.ServiceKey]ObservedService{}, Addrs: []vip.Addr{eth0(vip1, "eth0:0")}, Sysctls: map[string]string{ipf: "1"}}
		os := ObservedService{ServiceExtended: ipvs.ServiceExtended{Service: s}}
		for _, d := range ds {
			os.Destinations = append(os.Destinations, d)
		}
		o.Services[s.Key()] = os
		return o
	}
	all := func() Owned { return intended.clone() }
	for _, tc := range []struct {
		name  string
		after Observed
		errs  []error
		want  Owned
	}{{
		name: "all acknowledged", after: present(d1, d2), errs: make([]error, 5), want: all(),
	}, {
		name: "acknowledgements lost, all done", after: present(d1, d2),
		errs: []error{nil, nil, unknown, unknown, ipvs.ErrNotAttempted}, want: all(),
	}, {
		name: "acknowledgement lost, not done", after: present(d1),
		errs: []error{nil, nil, nil, nil, unknown},
		want: Owned{Services: ownedOf(map[ipvs.ServiceKey]map[ipvs.DestinationKey]bool{s.Key(): {d1.Key(): true}}),
			Addrs: intended.Addrs, Sysctls: intended.Sysctls},
	}, {
		name: "crashed before anything (no results)", after: Observed{Sysctls: map[string]string{ipf: "0"}}, errs: nil,
		want: Owned{Services: ownedOf(map[ipvs.ServiceKey]map[ipvs.DestinationKey]bool{})},
	}, {
		name: "another tool created the service first", after: present(),
		errs: []error{nil, nil, exists, ipvs.ErrNotAttempted, ipvs.ErrNotAttempted},
		want: Owned{Services: ownedOf(map[ipvs.ServiceKey]map[ipvs.DestinationKey]bool{}), Addrs: intended.Addrs, Sysctls: intended.Sysctls},
	}, {
		name: "ip_forward changed by someone since", after: func() Observed { o := present(d1, d2); o.Sysctls[ipf] = "0"; return o }(),
		errs: make([]error, 5),
		want: Owned{Services: intended.clone().Services, Addrs: intended.Addrs},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			changes := adds
			if tc.errs == nil {
				changes = nil
			}
			got := settle(intended, tc.after, Desired{}, changes, tc.errs)
			if diff := cmp.Diff(tc.want, got, cmpOpts); diff != "" {
				t.Fatalf("owned (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRetryable: which failures a fresh read of the kernel may cure.
func TestRetryable(t *testing.T) {
	s := svc(80)
	wrap := func(err error) error { return &ipvs.Error{Op: "x", Object: s.String(), Err: err} }
	for _, tc := range []struct {
		kind Kind
		err  error
		want bool
	}{
		{AddService, wrap(fmt.Errorf("lost: %w", ipvs.ErrOutcomeUnknown)), true},
		{AddService, wrap(unix.EEXIST), true},
		{AddDestination, wrap(unix.EEXIST), true},
		{AddDestination, wrap(unix.ESRCH), true},
		{EditService, wrap(unix.ESRCH), true},
		{AddService, wrap(unix.ENOENT), false}, // a missing scheduler module
		{AddService, wrap(unix.EINVAL), false},
		{Bind, unix.EPERM, false},
		{AddService, ipvs.ErrNotAttempted, true},
	} {
		got := retryable([]Change{{Kind: tc.kind, Service: s}}, []error{tc.err})
		if got != tc.want {
			t.Errorf("retryable(%s, %v) = %v, want %v", tc.kind, tc.err, got, tc.want)
		}
	}
}
