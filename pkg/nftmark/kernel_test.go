package nftmark

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/lvs-rs/lvs-rs/internal/topo"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// requireNFTables skips when this kernel has no nf_tables (the test VM has
// it: test/vm/scaleout runs this package's guarantees with traffic).
func requireNFTables(t *testing.T, k *Kernel) {
	t.Helper()
	if _, err := k.Observe(context.Background()); errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.EAFNOSUPPORT) {
		t.Skipf("no nf_tables in this kernel: %v", err)
	}
}

func TestKernelInNamespace(t *testing.T) {
	tp := topo.New(t)
	ns := tp.AddNS("nft")
	k := NewKernel(int(ns.NsHandle()))
	requireNFTables(t, k)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Another table must never be touched.
	other := &nftables.Conn{NetNS: int(ns.NsHandle())}
	ot := other.AddTable(&nftables.Table{Name: "filter", Family: nftables.TableFamilyIPv4})
	oc := other.AddChain(&nftables.Chain{Name: "in", Table: ot})
	other.AddRule(&nftables.Rule{Table: ot, Chain: oc, Exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictAccept}}})
	if err := other.Flush(); err != nil {
		t.Fatal(err)
	}

	c, err := Sync(ctx, k, []Rule{r443, r80, r53})
	if err != nil || c.Action != Build || c.Replace {
		t.Fatalf("first Sync = %+v, %v", c, err)
	}
	obs, err := k.Observe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !obs.Present || obs.Foreign || len(obs.Rules) != 3 || obs.Rules[0] != r80 || obs.Rules[1] != r443 || obs.Rules[2] != r53 {
		t.Fatalf("read back: %+v", obs)
	}
	if c, err := Sync(ctx, k, []Rule{r80, r443, r53}); err != nil || c.Action != None {
		t.Fatalf("second Sync = %+v, %v; want no change", c, err)
	}
	if c, err := Sync(ctx, k, []Rule{r80}); err != nil || c.Action != Build || !c.Replace {
		t.Fatalf("shrinking Sync = %+v, %v", c, err)
	}
	if obs, _ := k.Observe(ctx); len(obs.Rules) != 1 || obs.Rules[0] != r80 {
		t.Fatalf("after shrinking: %+v", obs)
	}
	if c, err := Sync(ctx, k, nil); err != nil || c.Action != Remove {
		t.Fatalf("removing Sync = %+v, %v", c, err)
	}
	if obs, _ := k.Observe(ctx); obs.Present {
		t.Fatalf("table left after removal: %+v", obs)
	}
	if err := k.Remove(ctx); err != nil {
		t.Fatalf("removing a missing table: %v", err)
	}
	tables, err := other.ListTables()
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != 1 || tables[0].Name != "filter" {
		t.Fatalf("tables left: %v, want the other program's filter only", tables)
	}
	if rules, err := other.GetRules(ot, oc); err != nil || len(rules) != 1 {
		t.Fatalf("the other table's rules: %v, %v", rules, err)
	}
}

func TestKernelRepairsForeignContent(t *testing.T) {
	tp := topo.New(t)
	ns := tp.AddNS("nft")
	k := NewKernel(int(ns.NsHandle()))
	requireNFTables(t, k)
	ctx := context.Background()
	if _, err := Sync(ctx, k, []Rule{r80}); err != nil {
		t.Fatal(err)
	}
	// Someone adds a rule to lvs-rs's chain.
	c := &nftables.Conn{NetNS: int(ns.NsHandle())}
	c.AddRule(&nftables.Rule{Table: table, Chain: chain(), Exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictDrop}}})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if obs, _ := k.Observe(ctx); !obs.Foreign {
		t.Fatalf("a drop rule in the chain is not foreign: %+v", obs)
	}
	if ch, err := Sync(ctx, k, []Rule{r80}); err != nil || ch.Action != Build || !ch.Replace {
		t.Fatalf("Sync over foreign content = %+v, %v", ch, err)
	}
	if obs, _ := k.Observe(ctx); obs.Foreign || len(obs.Rules) != 1 {
		t.Fatalf("after repair: %+v", obs)
	}
}

func TestKernelContext(t *testing.T) {
	k := NewKernel(0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Sync(ctx, k, []Rule{r80}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sync with a cancelled context: %v", err)
	}
}

// manyRules returns n distinct rules, IPv4 or IPv6, in canonical order.
func manyRules(n int, v6 bool, mark uint32) []Rule {
	rules := make([]Rule, 0, n)
	for i := 0; i < n; i++ {
		vip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if v6 {
			vip = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 13: byte(i >> 16), 14: byte(i >> 8), 15: byte(i)})
		}
		rules = append(rules, Rule{VIP: vip, Protocol: unix.IPPROTO_TCP, Port: 80, Mark: mark + uint32(i)})
	}
	return canonical(rules)
}

// A director with thousands of marked services (5,000 IPv4, 2,000 IPv6
// rules) builds, replaces and removes its table in one transaction each:
// the default socket buffers refused such a batch (EMSGSIZE from about
// 440 rules) or dropped the answers of one the kernel committed (ENOBUFS
// from 145 rules).
func TestKernelLargeTransactions(t *testing.T) {
	for _, tc := range []struct {
		n  int
		v6 bool
	}{{150, false}, {5000, false}, {2000, true}} {
		tp := topo.New(t)
		ns := tp.AddNS("nft")
		k := NewKernel(int(ns.NsHandle()))
		requireNFTables(t, k)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		for _, mark := range []uint32{1, 100000} {
			rules := manyRules(tc.n, tc.v6, mark)
			if c, err := Sync(ctx, k, rules); err != nil || c.Action != Build {
				t.Fatalf("%d rules (IPv6 %v), marks from %d: Sync = %+v, %v", tc.n, tc.v6, mark, c.Action, err)
			}
			obs, err := k.Observe(ctx)
			if err != nil || !obs.Present || obs.Foreign || !slices.Equal(obs.Rules, rules) {
				t.Fatalf("%d rules (IPv6 %v): read back %d rules, foreign %v, %v", tc.n, tc.v6, len(obs.Rules), obs.Foreign, err)
			}
		}
		if c, err := Sync(ctx, k, nil); err != nil || c.Action != Remove {
			t.Fatalf("%d rules: removing Sync = %+v, %v", tc.n, c.Action, err)
		}
		if obs, err := k.Observe(ctx); err != nil || obs.Present {
			t.Fatalf("%d rules: after removal %+v, %v", tc.n, obs.Present, err)
		}
		cancel()
	}
}

// When the kernel drops the answers of a transaction it committed
// (ENOBUFS; forced here by leaving the buffers at their defaults), Build
// reads the table back and succeeds since it holds what was asked.
func TestKernelLostAnswersVerified(t *testing.T) {
	tp := topo.New(t)
	ns := tp.AddNS("nft")
	k := NewKernel(int(ns.NsHandle()))
	requireNFTables(t, k)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sizeBuffers = false
	defer func() { sizeBuffers = true }()
	lost := 0
	lostAnswers = func() { lost++ }
	defer func() { lostAnswers = nil }()
	rules := manyRules(300, false, 1)
	if err := k.Build(ctx, rules, false); err != nil {
		t.Fatalf("Build of 300 rules with the default buffers: %v", err)
	}
	if lost != 1 {
		t.Fatalf("the transaction lost its answers %d times, want 1: the read-back was not exercised", lost)
	}
	if obs, err := k.Observe(ctx); err != nil || !slices.Equal(obs.Rules, rules) {
		t.Fatalf("read back %d rules, %v", len(obs.Rules), err)
	}
	// A table that does not hold what was asked keeps the error.
	if err := k.verify(ctx, manyRules(300, false, 7), unix.ENOBUFS); !errors.Is(err, unix.ENOBUFS) {
		t.Fatalf("verify against other rules = %v, want ENOBUFS", err)
	}
}

// The buffer sizing bounds what a transaction really sends.
func TestBatchBytesBound(t *testing.T) {
	worst := Rule{VIP: netip.MustParseAddr("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), Protocol: unix.IPPROTO_SCTP, Port: 65535, Mark: 0xffffffff}
	var sizes []int
	c, err := nftables.New(nftables.WithTestDial(func(req []netlink.Message) ([]netlink.Message, error) {
		for _, m := range req {
			sizes = append(sizes, int(m.Header.Length))
		}
		return []netlink.Message{{Header: netlink.Header{Type: netlink.Error}, Data: make([]byte, 4)}}, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	c.DelTable(table)
	c.AddTable(table)
	ch := c.AddChain(chain())
	c.AddRule(&nftables.Rule{Table: table, Chain: ch, Exprs: exprs(worst)})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	// Batch begin, delete, add table, add chain, the rule, batch end.
	if len(sizes) != 6 {
		t.Fatalf("messages sent: %v", sizes)
	}
	rule := sizes[4]
	framing := 0
	for _, s := range sizes {
		framing += s
	}
	framing -= rule
	if rule > ruleSendBytes || framing > bufferSlack {
		t.Fatalf("a rule's message is %d bytes (bound %d), the rest %d (bound %d)", rule, ruleSendBytes, framing, bufferSlack)
	}
}
