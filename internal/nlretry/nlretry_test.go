package nlretry

import (
	"errors"
	"fmt"
	"testing"

	"github.com/vishvananda/netlink"
)

func TestDumpRetriesOnlyInterrupted(t *testing.T) {
	calls := 0
	v, err := Dump(func() (int, error) {
		calls++
		if calls < 3 {
			return -1, fmt.Errorf("list: %w", netlink.ErrDumpInterrupted)
		}
		return 7, nil
	})
	if v != 7 || err != nil || calls != 3 {
		t.Fatalf("Dump = %d, %v after %d calls; want 7, nil after 3", v, err, calls)
	}
	other := errors.New("boom")
	calls = 0
	if _, err := Dump(func() (int, error) { calls++; return 0, other }); err != other || calls != 1 {
		t.Fatalf("a non-interrupted error was retried: %v after %d calls", err, calls)
	}
	calls = 0
	if _, err := Dump(func() (int, error) { calls++; return 0, netlink.ErrDumpInterrupted }); !errors.Is(err, netlink.ErrDumpInterrupted) || calls != Attempts {
		t.Fatalf("always interrupted: %v after %d calls, want %d", err, calls, Attempts)
	}
}
