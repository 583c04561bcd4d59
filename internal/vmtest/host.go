package vmtest

import (
	"bytes"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// bootAllowance is the time the VM's -test.timeout leaves for booting.
const bootAllowance = 15 * time.Second

// runHost is Main on the host: check, prepare, build, boot, report.
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
	exe, root, cache, err := prerequisites(logf)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "vmtest-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(tmp)

	in := initrdInput{base: cache.base, test: exe, env: vmEnv(os.Environ())}
	if os.Getenv(EnvNoLvsRs) == "1" {
		logf("%s=1: not building lvs-rs", EnvNoLvsRs)
	} else if root != "" {
		if in.lvsrs, err = buildLvsRs(root, tmp, logf); err != nil {
			return err
		}
	}
	if in.baseline = os.Getenv(EnvBaseline); in.baseline != "" {
		if err := checkStatic(in.baseline); err != nil {
			return fmt.Errorf("%s: %w", EnvBaseline, err)
		}
		in.env = append(in.env, EnvBaselineBin+"="+baselinePath+"\n"...)
		logf("baseline lvs-rs: %s (in the VM: %s)", in.baseline, baselinePath)
	}
	for _, d := range ha.dropped {
		if !strings.HasPrefix(d, "-test.testlogfile") {
			logf("not passed into the VM (host path): %s", d)
		}
	}
	var vmTimeout, hostTimeout time.Duration
	if ha.timeout > 0 {
		left := ha.timeout - time.Since(start)
		vmTimeout = max(left-bootAllowance, 10*time.Second)
		// go test kills the binary one minute after -timeout: stay below.
		hostTimeout = max(left+45*time.Second, vmTimeout+bootAllowance)
	}
	if in.args, err = encodeArgs(ha.withTimeout(vmTimeout)); err != nil {
		return err
	}
	nonce := make([]byte, 8)
	if _, err := rand.Read(nonce); err != nil {
		return fmt.Errorf("nonce: %w", err)
	}
	in.nonce = hex.EncodeToString(nonce)
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

// prerequisites checks root (a skipError outside CI), the test binary, the
// module root ("" when there is none) and the VM cache.
func prerequisites(logf func(string, ...any)) (exe, root string, cache vmCache, err error) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "true" {
			return "", "", cache, skipError{"not root (qemu, the kernel cache and /run/netns need root; in CI this is a failure)"}
		}
		return "", "", cache, errors.New("the VM suite needs root, and CI=true makes a missing prerequisite a failure")
	}
	if exe, err = os.Executable(); err != nil {
		return "", "", cache, fmt.Errorf("locating the test binary: %w", err)
	}
	if err := checkStatic(exe); err != nil {
		return "", "", cache, fmt.Errorf("%w: run the VM tests with CGO_ENABLED=0 (CGO_ENABLED=0 go test ./...)", err)
	}
	root, rootErr := moduleRoot()
	if rootErr != nil {
		logf("%v: not running scripts/vm-prepare.sh, not building lvs-rs", rootErr)
	}
	if cache, err = prepareCache(root, logf); err != nil {
		return "", "", cache, err
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		return "", "", cache, fmt.Errorf("qemu-system-x86_64 not found (scripts/vm-prepare.sh installs it): %w", err)
	}
	return exe, root, cache, nil
}

// checkStatic fails for an ELF binary with a program interpreter, which
// cannot run in the VM (there is no libc there).
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked", path)
		}
	}
	return nil
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
	args := []string{"build", "-o", out}
	if buildTags != "" {
		args = append(args, "-tags", buildTags)
	}
	cmd := exec.Command(goBin, append(args, "./cmd/lvs-rs")...)
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
