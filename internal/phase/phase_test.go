package phase

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestMarks: each mark ends a phase that took the time since the last,
// Write prints them in order, and nothing is recorded when off.
func TestMarks(t *testing.T) {
	Mark("before")
	if got := Disable(); got != nil {
		t.Fatalf("recorded while off: %v", got)
	}
	Enable()
	time.Sleep(20 * time.Millisecond)
	Mark("slow")
	Mark("fast")
	got := Disable()
	Mark("after")
	if len(got) != 2 || got[0].Name != "slow" || got[1].Name != "fast" {
		t.Fatalf("timings %v, want slow then fast", got)
	}
	if got[0].Took < 20*time.Millisecond || got[1].Took >= got[0].Took {
		t.Fatalf("slow took %v, fast %v: want slow >= 20ms > fast", got[0].Took, got[1].Took)
	}
	var b bytes.Buffer
	if err := Write(&b, got); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^slow 0\.0[2-9]\d{4}\nfast 0\.\d{6}\n$`).Match(b.Bytes()) {
		t.Fatalf("Write:\n%s", b.Bytes())
	}
	if got := Disable(); got != nil {
		t.Fatalf("recorded after Disable: %v", got)
	}
	back, err := Read(&b)
	if err != nil || len(back) != 2 || back[0].Name != "slow" || back[1].Name != "fast" ||
		(back[0].Took-got[0].Took).Abs() > time.Microsecond {
		t.Fatalf("Read of what Write wrote: %v, %v; want %v", back, err, got)
	}
	if _, err := Read(strings.NewReader("slow\n")); err == nil {
		t.Fatal("Read of a line without seconds succeeded")
	}
}

// TestMaxMarks: a process marking in a loop keeps the first MaxMarks.
func TestMaxMarks(t *testing.T) {
	Enable()
	for range MaxMarks + 10 {
		Mark("pass")
	}
	if n := len(Disable()); n != MaxMarks {
		t.Fatalf("%d phases kept, want %d", n, MaxMarks)
	}
}
