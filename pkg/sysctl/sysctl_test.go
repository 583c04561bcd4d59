package sysctl

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func fakeTree(t *testing.T, files map[string]string) Tree {
	t.Helper()
	root := t.TempDir()
	for k, v := range files {
		p := filepath.Join(root, k)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Tree{Root: root}
}

func TestReadWriteDottedDevice(t *testing.T) {
	tr := fakeTree(t, map[string]string{"net/ipv4/conf/eth0.100/arp_ignore": "0\n"})
	k := IPv4Conf("eth0.100", "arp_ignore")
	if got, err := tr.Read(k); err != nil || got != "0" {
		t.Fatalf("Read = %q, %v; want \"0\"", got, err)
	}
	if err := tr.Write(k, "1"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(tr.Root, "net/ipv4/conf/eth0.100/arp_ignore"))
	if string(b) != "1\n" {
		t.Fatalf("file holds %q, want \"1\\n\"", b)
	}
	if ParseKey(k.String()).String() != "net/ipv4/conf/eth0.100/arp_ignore" {
		t.Fatalf("key round trip: %q", ParseKey(k.String()))
	}
}

func TestWriteNeverCreates(t *testing.T) {
	tr := fakeTree(t, nil)
	err := tr.Write(IPv4Conf("nosuch", "arp_ignore"), "1")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Write to a missing parameter: %v, want ErrNotExist", err)
	}
	if _, err := os.Stat(filepath.Join(tr.Root, "net/ipv4/conf/nosuch/arp_ignore")); err == nil {
		t.Fatal("Write created a file")
	}
}

func TestRestore(t *testing.T) {
	r := Record{Key: "net/ipv4/conf/all/arp_announce", Prior: "1", Wrote: "2"}
	for cur, want := range map[string]RestoreDecision{"2": RestoreWrite, "1": RestoreNothing, "0": RestoreForeign} {
		if got := r.Restore(cur); got != want {
			t.Errorf("Restore(%q) = %v, want %v", cur, got, want)
		}
	}
}

func TestProcReadsKernel(t *testing.T) {
	if _, err := os.Stat("/proc/sys/net/ipv4/conf/lo/arp_ignore"); err != nil {
		t.Skip("no /proc/sys/net here")
	}
	v, err := Proc().Read(IPv4Conf("lo", "arp_ignore"))
	if err != nil || (v != "0" && v != "1" && v != "2" && v != "3" && v != "8") {
		t.Fatalf("Read lo/arp_ignore = %q, %v", v, err)
	}
}
