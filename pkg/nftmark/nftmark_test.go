package nftmark

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

var (
	vip  = netip.MustParseAddr("10.0.0.100")
	vip6 = netip.MustParseAddr("2001:db8::100")
	r80  = Rule{VIP: vip, Protocol: unix.IPPROTO_TCP, Port: 80, Mark: 10}
	r443 = Rule{VIP: vip, Protocol: unix.IPPROTO_TCP, Port: 443, Mark: 10}
	r53  = Rule{VIP: vip6, Protocol: unix.IPPROTO_UDP, Port: 53, Mark: 7}
)

var cmpAddr = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func TestExprsRoundTrip(t *testing.T) {
	for _, r := range []Rule{r80, r53, {VIP: vip, Protocol: unix.IPPROTO_SCTP, Port: 65535, Mark: 0xffffffff}} {
		got, ok := ruleOf(exprs(r))
		if !ok || got != r {
			t.Errorf("ruleOf(exprs(%v)) = %v, %v", r, got, ok)
		}
	}
	// Another shape is not ours.
	es := exprs(r80)
	es[9] = &expr.Verdict{Kind: expr.VerdictAccept}
	if _, ok := ruleOf(es); ok {
		t.Error("a rule with a verdict instead of the mark decoded as ours")
	}
	es = exprs(r80)
	es[2].(*expr.Payload).Offset = 12 // saddr
	if _, ok := ruleOf(es); ok {
		t.Error("a rule matching the source address decoded as ours")
	}
	if _, ok := ruleOf(exprs(r80)[:9]); ok {
		t.Error("a truncated rule decoded as ours")
	}
}

func TestValidate(t *testing.T) {
	if err := Validate([]Rule{r80, r443, r53, r80}); err != nil {
		t.Fatal(err)
	}
	clash := r80
	clash.Mark = 11
	for _, bad := range [][]Rule{
		{{Protocol: unix.IPPROTO_TCP, Port: 80, Mark: 1}},
		{{VIP: vip, Protocol: unix.IPPROTO_ICMP, Port: 80, Mark: 1}},
		{{VIP: vip, Protocol: unix.IPPROTO_TCP, Mark: 1}},
		{{VIP: vip, Protocol: unix.IPPROTO_TCP, Port: 80}},
		{r80, clash},
	} {
		if err := Validate(bad); err == nil {
			t.Errorf("Validate(%v) = nil", bad)
		}
	}
}

func TestPlan(t *testing.T) {
	for _, tc := range []struct {
		name     string
		desired  []Rule
		observed Observed
		want     Change
	}{
		{"nothing", nil, Observed{}, Change{}},
		{"remove", nil, Observed{Present: true, Rules: []Rule{r80}}, Change{Action: Remove}},
		{"create sorted", []Rule{r53, r443, r80, r80}, Observed{}, Change{Action: Build, Rules: []Rule{r80, r443, r53}}},
		{"in place", []Rule{r443, r80}, Observed{Present: true, Rules: []Rule{r80, r443}}, Change{}},
		{"differs", []Rule{r80}, Observed{Present: true, Rules: []Rule{r80, r443}},
			Change{Action: Build, Replace: true, Rules: []Rule{r80}}},
		{"foreign", []Rule{r80}, Observed{Present: true, Rules: []Rule{r80}, Foreign: true},
			Change{Action: Build, Replace: true, Rules: []Rule{r80}}},
		{"mapped", []Rule{{VIP: netip.MustParseAddr("::ffff:10.0.0.100"), Protocol: unix.IPPROTO_TCP, Port: 80, Mark: 10}},
			Observed{Present: true, Rules: []Rule{r80}}, Change{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Plan(tc.desired, tc.observed), cmpAddr); diff != "" {
				t.Fatalf("Plan (-want +got):\n%s", diff)
			}
		})
	}
}

type fakeWriter struct{ calls []string }

func (f *fakeWriter) Build(_ context.Context, rules []Rule, replace bool) error {
	f.calls = append(f.calls, "build")
	if replace {
		f.calls[len(f.calls)-1] += " replace"
	}
	return nil
}

func (f *fakeWriter) Remove(context.Context) error {
	f.calls = append(f.calls, "remove")
	return unix.EPERM
}

func TestApply(t *testing.T) {
	w := &fakeWriter{}
	ctx := context.Background()
	if err := Apply(ctx, w, Change{}); err != nil {
		t.Fatal(err)
	}
	if err := Apply(ctx, w, Change{Action: Build, Replace: true, Rules: []Rule{r80}}); err != nil {
		t.Fatal(err)
	}
	if err := Apply(ctx, w, Change{Action: Remove}); !errors.Is(err, unix.EPERM) {
		t.Fatalf("Remove error lost: %v", err)
	}
	if diff := cmp.Diff([]string{"build replace", "remove"}, w.calls); diff != "" {
		t.Fatalf("calls (-want +got):\n%s", diff)
	}
}
