package sysctl

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Tree is a /proc/sys hierarchy. Tests point Root at a temporary directory.
type Tree struct {
	Root string
}

// Proc is the kernel's own tree.
func Proc() Tree { return Tree{Root: "/proc/sys"} }

// Key names one kernel parameter by its path segments below /proc/sys,
// e.g. Key{"net", "ipv4", "conf", "eth0.100", "arp_ignore"}.
type Key []string

// IPv4Conf returns the key net/ipv4/conf/DEV/PARAM.
func IPv4Conf(dev, param string) Key { return Key{"net", "ipv4", "conf", dev, param} }

// IPv6Conf returns the key net/ipv6/conf/DEV/PARAM.
func IPv6Conf(dev, param string) Key { return Key{"net", "ipv6", "conf", dev, param} }

// IPv6Devices lists the devices with an IPv6 configuration in t
// (net/ipv6/conf/DEV), "all" and "default" included, sorted; none when
// IPv6 is disabled.
func (t Tree) IPv6Devices() ([]string, error) {
	es, err := os.ReadDir(filepath.Join(t.Root, "net", "ipv6", "conf"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sysctl: list IPv6 devices: %w", err)
	}
	out := make([]string, 0, len(es))
	for _, e := range es {
		if validDevice(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// IPForward is the key net/ipv4/ip_forward.
func IPForward() Key { return Key{"net", "ipv4", "ip_forward"} }

// String renders the key as a slash path, "net/ipv4/conf/lo/arp_ignore",
// which stays unambiguous when a device name contains a dot.
func (k Key) String() string { return strings.Join(k, "/") }

// ParseKey is the inverse of Key.String. It does not validate: Read and
// Write do, and ValidateKey checks a key read from a record.
func ParseKey(s string) Key { return Key(strings.Split(s, "/")) }

// Path returns the file that would hold k in t. It does not validate k:
// Read and Write do, before any file is opened.
func (t Tree) Path(k Key) string { return filepath.Join(append([]string{t.Root}, k...)...) }

// Read returns the value of k without its trailing newline. A key outside
// the set lvs-rs manages (Key.Validate) is refused without opening a file.
func (t Tree) Read(k Key) (string, error) {
	if err := k.Validate(); err != nil {
		return "", err
	}
	b, err := readFile(t.Path(k))
	if err != nil {
		return "", fmt.Errorf("sysctl: read %s: %w", k, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Write sets k to value. The file must exist: kernel parameters are never
// created. A key outside the set lvs-rs manages (Key.Validate) is refused
// without opening a file.
func (t Tree) Write(k Key, value string) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if err := writeFile(t.Path(k), value+"\n"); err != nil {
		return fmt.Errorf("sysctl: write %s=%s: %w", k, value, err)
	}
	return nil
}
