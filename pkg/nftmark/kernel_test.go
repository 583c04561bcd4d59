package nftmark

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/lvs-rs/lvs-rs/internal/topo"
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
