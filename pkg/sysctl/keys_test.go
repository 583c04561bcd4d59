package sysctl

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateKey(t *testing.T) {
	good := []string{
		"net/ipv4/ip_forward",
		"net/ipv4/conf/all/arp_ignore",
		"net/ipv4/conf/default/arp_announce",
		"net/ipv4/conf/eth0.100/rp_filter",
		"net/ipv4/conf/tunl0/send_redirects",
		"net/ipv4/conf/lo/accept_local",
		"net/ipv4/conf/abcdefghijklmno/arp_ignore", // 15 bytes
		"net/ipv4/vs/expire_nodest_conn",
		"net/ipv4/vs/conn_reuse_mode",
		"net/ipv4/vs/sloppy_tcp",
		"net/ipv6/conf/all/forwarding",
		"net/ipv6/conf/eth0.100/accept_ra",
		"net/ipv6/conf/default/accept_ra",
	}
	for _, k := range good {
		if err := ValidateKey(k); err != nil {
			t.Errorf("ValidateKey(%q) = %v, want nil", k, err)
		}
	}
	bad := []string{
		"",
		"/",
		"net",
		"net/ipv4",
		"net/ipv4/../../../../etc/shadow",
		"net/ipv4/conf/../../../../etc/shadow",
		"net/ipv4/conf/../arp_ignore",
		"net/ipv4/conf/./arp_ignore",
		"net/ipv4/conf//arp_ignore",
		"net/ipv4/conf/lo/../../../../../etc/passwd",
		"net/ipv4/conf/lo/arp_ignore/",
		"/net/ipv4/ip_forward",
		"net/ipv4/ip_forward/",
		"net//ipv4/ip_forward",
		"net/ipv4/conf/lo\x00/arp_ignore",
		"net/ipv4/conf/lo/arp_ignore\x00",
		"net/ipv4/conf/eth0:0/arp_ignore",
		"net/ipv4/conf/eth 0/arp_ignore",
		"net/ipv4/conf/abcdefghijklmnop/arp_ignore", // 16 bytes
		"net/ipv4/conf/lo/forwarding",
		"net/ipv6/conf/all/disable_ipv6",
		"net/ipv6/conf/../forwarding",
		"net/ipv6/conf/all/forwarding/",
		"net/ipv6/conf/eth0:0/accept_ra",
		"net/ipv6/ip_forward",
		"net/ipv4/vs/../../../etc/shadow",
		"net/ipv4/vs/amemthresh",
		"net/ipv4/vs/",
		"net/ipv4/vs",
		"kernel/core_pattern",
		"net/ipv4/tcp_syncookies",
		"NET/IPV4/IP_FORWARD",
	}
	for _, k := range bad {
		err := ValidateKey(k)
		if !errors.Is(err, ErrUnknownKey) {
			t.Errorf("ValidateKey(%q) = %v, want ErrUnknownKey", k, err)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("ValidateKey(%q): message spans lines: %q", k, err)
		}
	}
}

// TestReadWriteRefuseTraversal plants the file a traversing key would
// reach and checks that Read and Write leave it alone.
func TestReadWriteRefuseTraversal(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "proc", "sys")
	victim := filepath.Join(base, "etc", "shadow")
	for _, d := range []string{filepath.Join(root, "net", "ipv4", "conf", "lo"), filepath.Dir(victim)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(victim, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tr := Tree{Root: root}
	for _, s := range []string{"net/ipv4/../../../../etc/shadow", "net/ipv4/conf/../../../../../etc/shadow", "net/ipv4/conf/lo/../../../../../../etc/shadow"} {
		k := ParseKey(s)
		if _, err := tr.Read(k); !errors.Is(err, ErrUnknownKey) {
			t.Errorf("Read(%q) = %v, want ErrUnknownKey", s, err)
		}
		if err := tr.Write(k, "1"); !errors.Is(err, ErrUnknownKey) {
			t.Errorf("Write(%q) = %v, want ErrUnknownKey", s, err)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "secret\n" {
		t.Fatalf("victim now holds %q", b)
	}
}

func TestValidateRecords(t *testing.T) {
	ok := []Record{{Key: "net/ipv4/ip_forward", Prior: "0", Wrote: "1"}}
	if err := ValidateRecords(ok); err != nil {
		t.Fatal(err)
	}
	bad := append(ok, Record{Key: "net/ipv4/conf/../../../../etc/shadow"})
	if err := ValidateRecords(bad); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("ValidateRecords = %v, want ErrUnknownKey", err)
	}
}

func TestIPVSParamsSorted(t *testing.T) {
	ps := IPVSParams()
	for i := range ps {
		if i > 0 && ps[i-1].Name >= ps[i].Name {
			t.Fatalf("IPVSParams not sorted at %q", ps[i].Name)
		}
		if p, ok := LookupIPVS(ps[i].Name); !ok || p != ps[i] {
			t.Fatalf("LookupIPVS(%q) = %v, %v", ps[i].Name, p, ok)
		}
	}
}

// FuzzValidateKey checks that every key Validate accepts stays inside the
// tree: its path, cleaned, is below the root and has exactly its segments.
func FuzzValidateKey(f *testing.F) {
	for _, s := range []string{"net/ipv4/ip_forward", "net/ipv4/conf/lo/arp_ignore", "net/ipv4/../../etc/shadow", "net/ipv4/conf/../x/arp_ignore", "net/ipv4/vs/sloppy_tcp"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := ParseKey(s)
		if k.Validate() != nil {
			return
		}
		const root = "/proc/sys"
		p := Tree{Root: root}.Path(k)
		if filepath.Clean(p) != p || !strings.HasPrefix(p, root+"/net/ipv4/") || strings.Count(p, "/") != 2+len(k) || strings.ContainsRune(p, 0) {
			t.Fatalf("valid key %q gives path %q", s, p)
		}
	})
}

// TestIPv6Devices lists the device directories of net/ipv6/conf; a tree
// without IPv6 has none.
func TestIPv6Devices(t *testing.T) {
	root := t.TempDir()
	tr := Tree{Root: root}
	if got, err := tr.IPv6Devices(); err != nil || len(got) != 0 {
		t.Errorf("IPv6Devices without net/ipv6 = %v, %v", got, err)
	}
	for _, d := range []string{"all", "default", "eth0.100", "lo"} {
		if err := os.MkdirAll(filepath.Join(root, "net/ipv6/conf", d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	got, err := tr.IPv6Devices()
	if err != nil || strings.Join(got, " ") != "all default eth0.100 lo" {
		t.Errorf("IPv6Devices = %v, %v", got, err)
	}
}
