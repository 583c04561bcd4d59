package director

import (
	"errors"
	"net/netip"
	"os"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lvs-rs/lvs-rs/pkg/ipvs"
	"github.com/lvs-rs/lvs-rs/pkg/state"
)

// TestRecorded: the desired state of the record, narrowed to the services
// and real servers the record says are lvs-rs's; nil without a record; a
// damaged one is ErrCorrupt.
func TestRecorded(t *testing.T) {
	dir := t.TempDir()
	o := Options{StateDir: dir, Records: new(RecordCache)}
	if d, err := Recorded(o); d != nil || err != nil {
		t.Fatalf("without a record: %+v, %v", d, err)
	}
	d := Desired{Interface: "eth0", VIPs: []netip.Addr{vip1}, Services: []DesiredService{
		{Service: svc(80), Destinations: []ipvs.Destination{dst(rs1, 80, ipvs.Route, 1), dst(rs2, 80, ipvs.Route, 2)}},
		{Service: svc(443), Destinations: []ipvs.Destination{dst(rs1, 443, ipvs.Route, 1)}}, // another tool's
	}}
	owned := Owned{Services: ownedOf(map[ipvs.ServiceKey]map[ipvs.DestinationKey]bool{
		svcKey(80): {dstKey(rs1, 80): true}, // rs2 was another tool's
	})}
	enc, err := encodeDesired(&d)
	if err != nil {
		t.Fatal(err)
	}
	rec := recordOf(enc, owned)
	parts, err := rec.parts()
	if err != nil {
		t.Fatal(err)
	}
	s := state.Store{Dir: dir}
	if err := s.Write(Role, parts...); err != nil {
		t.Fatal(err)
	}
	got, err := Recorded(o)
	if err != nil {
		t.Fatal(err)
	}
	want := Desired{Interface: "eth0", VIPs: []netip.Addr{vip1}, Services: []DesiredService{
		{Service: svc(80), Destinations: []ipvs.Destination{dst(rs1, 80, ipvs.Route, 1)}},
	}}
	if diff := cmp.Diff(&want, got, cmpOpts); diff != "" {
		t.Errorf("Recorded (-want +got):\n%s", diff)
	}
	// The VIPs are all the record's, also of services it does not own:
	// what lvs-rs binds is the record's VIP list.
	if vips, err := RecordedVIPs(o); err != nil || !slices.Equal(vips, []netip.Addr{vip1}) {
		t.Errorf("RecordedVIPs = %v, %v; want [%v]", vips, err, vip1)
	}
	if err := os.WriteFile(s.Path(Role), []byte(`{"version":2,"desired":{"services":[`), 0o600); err != nil {
		t.Fatal(err)
	}
	if d, err := Recorded(Options{StateDir: dir}); !errors.Is(err, state.ErrCorrupt) {
		t.Fatalf("a damaged record: %+v, %v; want ErrCorrupt", d, err)
	}
}
