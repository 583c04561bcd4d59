package reconcile

import (
	"bytes"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/lvs-rs/lvs-rs/pkg/director"
	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/metrics"
)

// addDestinations is n changes adding real servers to one service.
func addDestinations(n int) []director.Change {
	s := ipvs.Service{Address: netip.MustParseAddr("10.0.0.100"), Protocol: ipvs.TCP, Port: 80, Scheduler: "rr"}
	out := make([]director.Change, n)
	for i := range out {
		d := ipvs.Destination{Address: netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), Port: 80, Weight: 1}
		out[i] = director.Change{Kind: director.AddDestination, Service: s, Destination: d}
	}
	return out
}

// TestLogChangesLists: up to maxListed changes a pass logs each one; past
// that, the first maxListed and one line with the count of the rest,
// while the drift-repair metric still counts every one.
func TestLogChangesLists(t *testing.T) {
	for _, c := range []struct {
		n                  int
		repaired           bool
		wantEach, wantMore int
	}{
		{n: 3, wantEach: 3},
		{n: maxListed, wantEach: maxListed},
		{n: maxListed + 1, wantEach: maxListed, wantMore: 1},
		{n: 11000, wantEach: maxListed, wantMore: 11000 - maxListed},
		{n: 250, repaired: true, wantEach: maxListed, wantMore: 150},
	} {
		var b bytes.Buffer
		reg := metrics.New()
		logChanges(slog.New(slog.NewTextHandler(&b, nil)), reg, addDestinations(c.n), c.repaired)
		lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		each, more := 0, 0
		for _, l := range lines {
			switch {
			case strings.Contains(l, " change="):
				each++
			case strings.Contains(l, " more="):
				more++
				if !strings.Contains(l, " more="+itoa(c.wantMore)+" ") {
					t.Errorf("n=%d: summary %q, want more=%d", c.n, l, c.wantMore)
				}
			default:
				t.Errorf("n=%d: unexpected line %q", c.n, l)
			}
		}
		if each != c.wantEach || more != min(c.wantMore, 1) {
			t.Errorf("n=%d repaired=%v: %d lines one by one and %d summaries, want %d and %d", c.n, c.repaired, each, more, c.wantEach, min(c.wantMore, 1))
		}
		if c.repaired && !strings.Contains(reg.WriteText(), `object="real_server"} `+itoa(c.n)) {
			t.Errorf("n=%d: drift repairs counted:\n%s", c.n, grep(reg.WriteText(), "drift"))
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// grep is the lines of s holding sub.
func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
