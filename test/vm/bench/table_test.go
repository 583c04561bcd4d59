package bench

import (
	"context"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/director"
)

// The 10,000 real servers each method creates, read back through netlink.

var tenThousand = shapes[0]

func TestPipelinedCreatesAll(t *testing.T) {
	e := newBed(t)
	ns := e.fresh()
	c := dial(t, ns)
	defer c.Close()
	applyAll(t, c, tenThousand.ops())
	checkTable(t, c, tenThousand)
	// Deleting is pipelined too: the table is empty again.
	applyAll(t, c, tenThousand.deletes())
	if svcs, err := c.Services(context.Background()); err != nil || len(svcs) != 0 {
		t.Fatalf("after deleting: %d services, %v", len(svcs), err)
	}
}

func TestDirectorStartCreatesAll(t *testing.T) {
	e := newBed(t)
	ns := e.fresh()
	dir := stateDir(t, 0)
	res := startDirector(t, ns, tenThousand, dir)
	if want := 1 + tenThousand.services + tenThousand.realServers(); len(res.Changes) != want { // the VIP, the services, the real servers
		t.Fatalf("start made %d changes, want %d", len(res.Changes), want)
	}
	c := dial(t, ns)
	defer c.Close()
	checkTable(t, c, tenThousand)
	if res := startDirector(t, ns, tenThousand, dir); len(res.Changes) != 0 {
		t.Fatalf("second start made %d changes, want none", len(res.Changes))
	}
	err := ns.Do(func() error {
		_, err := director.Stop(t.Context(), director.Options{StateDir: dir, Handle: ns.Handle()})
		return err
	})
	if err != nil {
		t.Fatalf("stop: %v", err)
	}
	if svcs, err := c.Services(context.Background()); err != nil || len(svcs) != 0 {
		t.Fatalf("after stop: %d services, %v", len(svcs), err)
	}
}

func TestIpvsadmRestoreCreatesAll(t *testing.T) {
	path := ipvsadmPath()
	if path == "" {
		t.Skip("no ipvsadm in the VM (scripts/vm-prepare.sh adds it to the initramfs)")
	}
	e := newBed(t)
	ns := e.fresh()
	restoreIpvsadm(t, ns, path, tenThousand.restore())
	c := dial(t, ns)
	defer c.Close()
	checkTable(t, c, tenThousand)
}

// TestFloorCreatesAll checks that the floor's own encoding makes the same
// table, with and without an acknowledgement per request.
func TestFloorCreatesAll(t *testing.T) {
	for _, ackEach := range []bool{true, false} {
		e := newBed(t)
		ns := e.fresh()
		raw := openRaw(t, ns)
		raw.sendChunks(t, encodeChunks(t, tenThousand, raw.family, ackEach))
		c := dial(t, ns)
		checkTable(t, c, tenThousand)
		c.Close()
	}
}
