package procstat

import (
	"os"
	"testing"
	"time"
)

// TestSelf: this process's parent, a CPU time that grows as it works,
// and a resident set of at least a megabyte.
func TestSelf(t *testing.T) {
	before, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if before.PPID != os.Getppid() {
		t.Fatalf("PPID %d, want %d", before.PPID, os.Getppid())
	}
	for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end); {
	}
	after, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after.CPU() <= before.CPU() {
		t.Fatalf("CPU %v after 50 ms of work, %v before", after.CPU(), before.CPU())
	}
	if after.VSize < 1<<20 || after.RSSPages == 0 || after.Start <= 0 || after.Start != before.Start {
		t.Fatalf("VSize %d, RSSPages %d, Start %v (%v before): want a size, pages, and one start", after.VSize, after.RSSPages, after.Start, before.Start)
	}
	if rss, err := RSS(os.Getpid()); err != nil || rss < 1<<20 {
		t.Fatalf("RSS %d, %v", rss, err)
	}
	if _, err := Read(-1); err == nil {
		t.Fatal("Read of no process succeeded")
	}
}
