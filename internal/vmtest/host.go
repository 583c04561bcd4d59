package vmtest

import (
	"bytes"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// bootAllowance is the time the VM's -test.timeout leaves for booting.
const bootAllowance = 15 * time.Second

// runHost is Main on the host: prepare, build, boot, report.
func runHost() error {
	start := time.Now()
	ha, err := parseHostArgs(os.Args[1:])
	if err != nil {
		return err
	}
	logf := func(format string, args ...any) {
		if ha.verbose {
			fmt.Printf("vmtest: "+format+"\n", args...)
		}
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "true" {
			return skipError{"not root (qemu, the kernel cache and /run/netns need root; in CI this is a failure)"}
		}
		return errors.New("the VM suite needs root, and CI=true makes a missing prerequisite a failure")
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("locating the test binary: %w", err)
	}
	if err := checkStatic(exe); err != nil {
		return fmt.Errorf("%w: run the VM tests with CGO_ENABLED=0 (CGO_ENABLED=0 go test ./...)", err)
	}
	root, rootErr := moduleRoot()
	if rootErr != nil {
		logf("%v: not running scripts/vm-prepare.sh, not building lvs-rs", rootErr)
	}
	cache, err := prepareCache(root, logf)
	if err != nil {
		return err
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		return fmt.Errorf("qemu-system-x86_64 not found (scripts/vm-prepare.sh installs it): %w", err)
	}
	tmp, err := os.MkdirTemp("", "vmtest-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(tmp)

	lvsrs := ""
	if os.Getenv(EnvNoLvsRs) == "1" {
		logf("%s=1: not building lvs-rs", EnvNoLvsRs)
	} else if root != "" {
		if lvsrs, err = buildLvsRs(root, tmp, logf); err != nil {
			return err
		}
	}
	if root != "" {
		touchInputs(root)
	}
	for _, ha := range ha.dropped {
		logf("not passed into the VM (host path): %s", ha)
	}

	var vmTimeout, hostTimeout time.Duration
	if ha.timeout > 0 {
		left := ha.timeout - time.Since(start)
		vmTimeout = max(left-bootAllowance, 10*time.Second)
		// go test kills the binary one minute after -timeout: stay below.
		hostTimeout = max(left+45*time.Second, vmTimeout+bootAllowance)
	}
	args, err := encodeArgs(ha.withTimeout(vmTimeout))
	if err != nil {
		return err
	}
	nonce := make([]byte, 8)
	if _, err := rand.Read(nonce); err != nil {
		return fmt.Errorf("nonce: %w", err)
	}
	in := initrdInput{
		base:  cache.base,
		test:  exe,
		lvsrs: lvsrs,
		args:  args,
		env:   vmEnv(os.Environ()),
		nonce: hex.EncodeToString(nonce),
	}
	if st, err := os.Stat("testdata"); err == nil && st.IsDir() {
		in.testdata = "testdata"
	}
	initrd := filepath.Join(tmp, "initrd.img")
	if err := writeInitrd(initrd, in); err != nil {
		return err
	}
	accel, err := chooseAccel(cache, logf)
	if err != nil {
		return err
	}
	b := bootSpec{
		kernel: cache.kernel, initrd: initrd, accel: accel, nonce: in.nonce,
		timeout: hostTimeout, logf: logf, kernelLog: os.Getenv(EnvKernelLog) == "1",
	}
	logf("booting kernel %s (%s) with accel %s", cache.version, filepath.Base(cache.kernel), accel)
	code, err := boot(b, os.Stdout)
	if errors.Is(err, errKVMStuck) {
		logf("KVM did not boot the guest; falling back to TCG")
		forgetAccel(cache)
		b.accel = "tcg"
		code, err = boot(b, os.Stdout)
	}
	if err != nil {
		return err
	}
	if code != 0 {
		return exitError{code}
	}
	return nil
}

// checkStatic fails for an ELF binary with a program interpreter, which
// cannot run in the VM (there is no libc there).
func checkStatic(path string) error {
	raw, err := openQuiet(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	defer raw.Close()
	f, err := elf.NewFile(raw)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked", path)
		}
	}
	return nil
}

// openQuiet opens a file for reading without entering go test's log of
// opened files. Used for the binaries: the test binary is part of the test
// cache key already, and a freshly linked file in that log makes the
// result uncacheable.
func openQuiet(path string) (*os.File, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// moduleRoot walks up from the working directory to the dir with go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// buildLvsRs builds ./cmd/lvs-rs statically into dir; "" when the command
// does not exist yet.
func buildLvsRs(root, dir string, logf func(string, ...any)) (string, error) {
	srcs, _ := filepath.Glob(filepath.Join(root, "cmd", "lvs-rs", "*.go"))
	if len(srcs) == 0 {
		logf("./cmd/lvs-rs has no Go files yet: the VM gets no lvs-rs binary")
		return "", nil
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out := filepath.Join(dir, "lvs-rs")
	cmd := exec.Command(goBin, "build", "-o", out, "./cmd/lvs-rs")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("CGO_ENABLED=0 go build ./cmd/lvs-rs: %w\n%s", err, buf.Bytes())
	}
	if err := checkStatic(out); err != nil {
		return "", err
	}
	logf("built lvs-rs in %.1fs", time.Since(t0).Seconds())
	return out, nil
}

// touchInputs opens the module's sources so that `go test`'s result cache
// (which hashes the files a test opens) reruns the VM suite when any of
// them changes, including ./cmd/lvs-rs, which the test binary does not link.
func touchInputs(root string) {
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (strings.HasPrefix(name, ".") || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") || name == "go.mod" || name == "go.sum" ||
			strings.HasSuffix(name, ".sh") || strings.Contains(p, string(filepath.Separator)+"testdata"+string(filepath.Separator)) {
			if f, err := os.Open(p); err == nil {
				f.Close()
			}
		}
		return nil
	})
}

// vmEnv picks the host variables passed into the VM.
func vmEnv(environ []string) []byte {
	var b strings.Builder
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if strings.ContainsAny(v, "\n\x00") {
			continue
		}
		if strings.HasPrefix(k, "LVSRS_TEST_") || k == "CI" || k == "GOTRACEBACK" || k == "GODEBUG" {
			b.WriteString(kv)
			b.WriteByte('\n')
		}
	}
	return []byte(b.String())
}
