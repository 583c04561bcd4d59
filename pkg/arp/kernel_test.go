package arp

import (
	"testing"

	"github.com/lvs-rs/lvs-rs/internal/nstest"
	"github.com/lvs-rs/lvs-rs/pkg/sysctl"
	"github.com/vishvananda/netlink"
)

// TestKernelDottedDevice sets and restores the policy on a real device
// named eth0.100 in a fresh namespace, reading /proc/sys back.
func TestKernelDottedDevice(t *testing.T) {
	ns := nstest.New(t)
	if err := ns.Handle.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0.100"}, PeerName: "peer0"}); err != nil {
		t.Fatal(err)
	}
	err := ns.Do(func() error {
		tr := sysctl.Proc()
		wants := DevicePolicy("eth0.100", true)
		cur := map[string]string{}
		for _, w := range wants {
			v, err := tr.Read(w.Key)
			if err != nil {
				return err
			}
			cur[w.Key.String()] = v
		}
		before := cur
		// Make sure something must be written: rp_filter=1 on the device.
		if err := tr.Write(sysctl.IPv4Conf("eth0.100", RPFilter), "1"); err != nil {
			return err
		}
		before[sysctl.IPv4Conf("eth0.100", RPFilter).String()] = "1"
		sets, _, _ := Plan(wants, before, nil, false)
		var recs []sysctl.Record
		for _, op := range sets {
			var err error
			if recs, _, err = Apply(tr, op, recs); err != nil {
				return err
			}
		}
		for _, w := range wants {
			if v, _ := tr.Read(w.Key); v != w.Value {
				t.Errorf("%s = %s, want %s", w.Key, v, w.Value)
			}
		}
		if got := tr.Path(sysctl.IPv4Conf("eth0.100", ArpIgnore)); got != "/proc/sys/net/ipv4/conf/eth0.100/arp_ignore" {
			t.Errorf("path %s", got)
		}
		now := map[string]string{}
		for _, w := range wants {
			now[w.Key.String()], _ = tr.Read(w.Key)
		}
		_, restores, warns := Plan(nil, now, recs, false)
		if len(warns) != 0 {
			t.Errorf("warnings: %q", warns)
		}
		for _, op := range restores {
			var err error
			if recs, _, err = Apply(tr, op, recs); err != nil {
				return err
			}
		}
		for k, v := range before {
			if got, _ := tr.Read(sysctl.ParseKey(k)); got != v {
				t.Errorf("after restore %s = %s, want %s", k, got, v)
			}
		}
		if len(recs) != 0 {
			t.Errorf("records left: %v", recs)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
