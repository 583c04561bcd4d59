package vmtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// vmCache is what scripts/vm-prepare.sh leaves in the cache dir.
type vmCache struct {
	dir     string
	kernel  string // vmlinux (PVH-bootable ELF, much faster under TCG) or vmlinuz
	base    string // initramfs-base.cpio.gz
	version string // kernel release
}

// prepareCache runs scripts/vm-prepare.sh for the kernel LVSRS_VM_KERNEL
// names (a no-op taking well under a
// second when the cache is valid; it serialises on a file lock) and checks
// its output files. Without a module root it uses the cache as it is.
func prepareCache(root string, logf func(string, ...any)) (vmCache, error) {
	kernel, err := Kernel()
	if err != nil {
		return vmCache{}, err
	}
	c := vmCache{dir: os.Getenv(EnvCache)}
	if c.dir == "" {
		c.dir = defaultCache(kernel)
	}
	if root != "" {
		script := filepath.Join(root, "scripts", "vm-prepare.sh")
		cmd := exec.Command("bash", script)
		cmd.Env = append(os.Environ(), EnvCache+"="+c.dir, EnvKernel+"="+kernel)
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		t0 := time.Now()
		if err := cmd.Run(); err != nil {
			return c, fmt.Errorf("%s: %w\n%s", script, err, buf.Bytes())
		}
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			logf("%s", l)
		}
		logf("cache ready in %.1fs", time.Since(t0).Seconds())
	}
	c.base = filepath.Join(c.dir, "initramfs-base.cpio.gz")
	c.kernel = filepath.Join(c.dir, "vmlinux")
	if _, err := os.Stat(c.kernel); err != nil {
		c.kernel = filepath.Join(c.dir, "vmlinuz")
	}
	for _, p := range []string{c.base, c.kernel, filepath.Join(c.dir, "stamp")} {
		if _, err := os.Stat(p); err != nil {
			return c, fmt.Errorf("VM cache incomplete (run scripts/vm-prepare.sh as root): %w", err)
		}
	}
	v, _ := os.ReadFile(filepath.Join(c.dir, "kernel-version"))
	c.version = strings.TrimSpace(string(v))
	return c, nil
}

// accelKey identifies the host for the cached KVM decision.
func accelKey() string {
	var u syscall.Utsname
	_ = syscall.Uname(&u)
	var rel []byte
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		rel = append(rel, byte(c))
	}
	out, _ := exec.Command("qemu-system-x86_64", "--version").Output()
	first, _, _ := strings.Cut(string(out), "\n")
	return string(rel) + " | " + strings.TrimSpace(first)
}

// chooseAccel returns "kvm" or "tcg": LVSRS_VM_ACCEL if set, tcg without a
// usable /dev/kvm, else the cached answer of a one-time probe boot.
func chooseAccel(c vmCache, logf func(string, ...any)) (string, error) {
	switch a := os.Getenv(EnvAccel); a {
	case "kvm", "tcg":
		return a, nil
	case "":
	default:
		return "", fmt.Errorf("%s=%q: want kvm or tcg", EnvAccel, a)
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return "tcg", nil
	}
	f.Close()

	file := filepath.Join(c.dir, "accel")
	key := accelKey()
	read := func() string {
		b, _ := os.ReadFile(file)
		k, v, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
		if k == key && (v == "kvm" || v == "tcg") {
			return v
		}
		return ""
	}
	if v := read(); v != "" {
		return v, nil
	}
	lock, err := os.OpenFile(filepath.Join(c.dir, ".accel.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", fmt.Errorf("accel lock: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("accel lock: %w", err)
	}
	if v := read(); v != "" {
		return v, nil
	}
	t0 := time.Now()
	v := "tcg"
	if probeKVM(c) {
		v = "kvm"
	}
	logf("probed KVM in %.1fs: using %s", time.Since(t0).Seconds(), v)
	if err := os.WriteFile(file, []byte(key+"\n"+v+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("saving accel decision: %w", err)
	}
	return v, nil
}

// forgetAccel records that KVM failed after all.
func forgetAccel(c vmCache) {
	_ = os.WriteFile(filepath.Join(c.dir, "accel"), []byte(accelKey()+"\ntcg\n"), 0o644)
}

// probeKVM boots the base initramfs alone under KVM: its /init prints the
// exit marker at once when there is no test binary.
func probeKVM(c vmCache) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	args := qemuArgs(c.kernel, c.base, "kvm")
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, _ := cmd.CombinedOutput()
	return bytes.Contains(out, []byte(exitMarker))
}
