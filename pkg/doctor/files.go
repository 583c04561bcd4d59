package doctor

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// readTrim returns the file at path without surrounding white space.
func readTrim(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// readInt returns the integer in the file at path.
func readInt(path string) (int, error) {
	s, err := readTrim(path)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a number", path, s)
	}
	return n, nil
}

// sysctl reads a kernel parameter given as a slash path below /proc/sys.
func (h Host) sysctl(key string) (int, error) {
	return readInt(filepath.Join(h.ProcRoot, "sys", key))
}

// confKey is net/ipv4/conf/DEV/PARAM.
func confKey(dev, param string) string { return "net/ipv4/conf/" + dev + "/" + param }

// effective is a conf parameter the kernel applies as max(all, dev), with
// both values.
type effective struct {
	dev            string
	all, own, eff  int
	missingOwnFile bool // dev has no conf directory (e.g. tunl0 not created yet: default is used)
}

// effectiveConf reads max(all, dev) for param; a device without a conf
// directory is read as conf/default, which it will inherit.
func (h Host) effectiveConf(dev, param string) (effective, error) {
	all, err := h.sysctl(confKey("all", param))
	if err != nil {
		return effective{}, err
	}
	e := effective{dev: dev, all: all}
	own, err := h.sysctl(confKey(dev, param))
	if os.IsNotExist(err) {
		e.missingOwnFile = true
		own, err = h.sysctl(confKey("default", param))
	}
	if err != nil {
		return effective{}, err
	}
	e.own, e.eff = own, max(all, own)
	return e, nil
}

// String renders "EFF (all=A, DEV=D)".
func (e effective) String() string {
	dev := e.dev
	if e.missingOwnFile {
		dev = "default"
	}
	return fmt.Sprintf("%d (all=%d, %s=%d)", e.eff, e.all, dev, e.own)
}

// ipv4Devices lists the devices with an IPv4 conf directory, sorted,
// without "all" and "default".
func (h Host) ipv4Devices() ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(h.ProcRoot, "sys", "net", "ipv4", "conf"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if n := e.Name(); n != "all" && n != "default" {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// mtu returns a device's MTU through h.MTU, else from the kernel.
func (h Host) mtu(dev string) (int, error) {
	if h.MTU != nil {
		return h.MTU(dev)
	}
	ifi, err := net.InterfaceByName(dev)
	if err != nil {
		return 0, err
	}
	return ifi.MTU, nil
}

// hasIPv4Device reports whether dev has an IPv4 conf directory (exists,
// in this network namespace).
func (h Host) hasIPv4Device(dev string) bool {
	_, err := os.Stat(filepath.Join(h.ProcRoot, "sys", "net", "ipv4", "conf", dev))
	return err == nil
}

// kernelRelease is uname -r, read from ProcRoot/sys/kernel/osrelease.
func (h Host) kernelRelease() (string, error) {
	return readTrim(filepath.Join(h.ProcRoot, "sys", "kernel", "osrelease"))
}

// firstErr returns the first error of errs that is not nil.
func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
