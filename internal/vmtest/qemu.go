package vmtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

// Markers printed by /init (scripts/vm-prepare.sh): "LVSRS-START NONCE"
// before the test binary runs, "LVSRS-EXIT=CODE NONCE" after it.
const (
	startMarker = "LVSRS-START"
	exitMarker  = "LVSRS-EXIT="
)

// kernelCmdline: serial console, little kernel chatter, power off (qemu
// exits, -no-reboot) on panic.
const kernelCmdline = "console=ttyS0 quiet loglevel=3 printk.time=1 panic=-1 mitigations=off"

// startTimeout bounds the time from qemu's start to the start marker.
var startTimeout = map[string]time.Duration{"kvm": 30 * time.Second, "tcg": 3 * time.Minute}

// errKVMStuck: qemu with KVM did not reach the start marker in time (on some
// hosts KVM exists but never runs a stock guest).
var errKVMStuck = errors.New("KVM guest did not start")

// errNoStart: the guest did not reach the start marker within startTimeout.
var errNoStart = errors.New("no start marker")

// qemuArgs is the qemu command line for a kernel and initrd.
func qemuArgs(kernel, initrd, accel string) []string {
	args := []string{
		"-nographic", "-no-reboot", "-m", "1024", "-smp", "1", "-nic", "none",
		"-kernel", kernel, "-initrd", initrd, "-append", kernelCmdline,
	}
	if accel == "kvm" {
		return append(args, "-accel", "kvm", "-cpu", "host")
	}
	return append(args, "-accel", "tcg")
}

// bootSpec is one run of the VM.
type bootSpec struct {
	kernel, initrd, accel, nonce string
	timeout                      time.Duration // 0: none
	kernelLog                    bool
	logf                         func(string, ...any)
}

// boot runs qemu, streams the guest's test output to out and returns the
// guest's exit code from the exit marker.
func boot(b bootSpec, out io.Writer) (int, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if b.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.timeout)
		defer cancel()
	}
	ctx, kill := context.WithCancelCause(ctx)
	defer kill(nil)

	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", qemuArgs(b.kernel, b.initrd, b.accel)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return 0, fmt.Errorf("qemu stdout: %w", err)
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting qemu: %w", err)
	}
	con := newConsole(out, b.nonce, b.kernelLog)
	go func() {
		select {
		case <-con.started:
			b.logf("VM up, tests started %.1fs after qemu start", time.Since(t0).Seconds())
		case <-time.After(startTimeout[b.accel]):
			kill(fmt.Errorf("%w after %v", errNoStart, startTimeout[b.accel]))
		case <-ctx.Done():
		}
	}()
	go func() {
		select {
		case <-con.exited: // give the guest a moment to power off, then stop it
		case <-ctx.Done():
			return
		}
		select {
		case <-time.After(10 * time.Second):
			kill(nil)
		case <-ctx.Done():
		}
	}()
	con.run(bufio.NewReader(pipe))
	waitErr := cmd.Wait()

	if con.sawExit {
		b.logf("VM finished in %.1fs (exit %d)", time.Since(t0).Seconds(), con.code)
		if con.code != 0 {
			con.dumpKernel()
		}
		return con.code, nil
	}
	cause := context.Cause(ctx)
	if b.accel == "kvm" && !con.isStarted() && (cause == nil || errors.Is(cause, errNoStart)) {
		return 0, errKVMStuck // stuck, or qemu refused KVM outright
	}
	con.dumpBoot()
	con.dumpKernel()
	if s := bytes.TrimSpace(stderr.Bytes()); len(s) > 0 {
		fmt.Fprintf(out, "vmtest: qemu stderr:\n%s\n", s)
	}
	why := "the VM stopped without the exit marker"
	switch {
	case errors.Is(cause, context.DeadlineExceeded):
		why = fmt.Sprintf("the VM outlived -test.timeout (killed after %v)", b.timeout)
	case errors.Is(cause, context.Canceled):
		why = "interrupted: the VM was stopped"
	case cause != nil:
		why = fmt.Sprintf("the VM was stopped: %v", cause)
	case waitErr != nil:
		why += fmt.Sprintf(" (qemu: %v)", waitErr)
	}
	return 0, errors.New(why)
}
