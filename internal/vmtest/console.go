package vmtest

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// kernelLine matches a printk line (printk.time=1 is on the command line).
var kernelLine = regexp.MustCompile(`^\[\s*\d+\.\d+\] `)

// escapes matches terminal control sequences (the BIOS clears the screen).
var escapes = regexp.MustCompile(`\x1b(\[[0-9;?]*[A-Za-z]|.)|[\x00-\x08\x0b-\x1f]`)

// console splits the guest's serial output: boot chatter before the start
// marker and kernel messages are kept (and shown only when something goes
// wrong, or with LVSRS_VM_KERNEL_LOG=1), the test binary's output is
// streamed, and the exit marker gives the exit code.
type console struct {
	out       io.Writer
	nonce     string
	kernelLog bool

	boot, kernel ring
	started      chan struct{} // closed at the start marker
	exited       chan struct{} // closed at the exit marker
	sawExit      bool
	code         int
}

func newConsole(out io.Writer, nonce string, kernelLog bool) *console {
	return &console{
		out: out, nonce: nonce, kernelLog: kernelLog,
		boot: ring{max: 200}, kernel: ring{max: 200},
		started: make(chan struct{}), exited: make(chan struct{}),
	}
}

// run consumes the serial output until EOF.
func (c *console) run(r *bufio.Reader) {
	for {
		line, err := r.ReadString('\n')
		if line != "" {
			c.line(strings.TrimRight(line, "\r\n"))
		}
		if err != nil {
			return
		}
	}
}

func (c *console) line(l string) {
	if c.sawExit {
		return
	}
	if !c.isStarted() {
		if i := strings.Index(l, startMarker+" "); i >= 0 && strings.TrimSpace(l[i+len(startMarker)+1:]) == c.nonce {
			close(c.started)
			return
		}
		c.boot.add(l)
		return
	}
	if i := strings.Index(l, exitMarker); i >= 0 {
		f := strings.Fields(l[i+len(exitMarker):])
		if len(f) == 2 && f[1] == c.nonce {
			if code, err := strconv.Atoi(f[0]); err == nil {
				c.code, c.sawExit = code, true
				close(c.exited)
				return
			}
		}
	}
	if kernelLine.MatchString(l) {
		c.kernel.add(l)
		if !c.kernelLog {
			return
		}
	}
	fmt.Fprintln(c.out, l)
}

func (c *console) isStarted() bool {
	select {
	case <-c.started:
		return true
	default:
		return false
	}
}

// dumpBoot prints what the guest said before the tests started.
func (c *console) dumpBoot() {
	c.boot.dump(c.out, "vmtest: guest console before the tests started:")
}

// dumpKernel prints the kernel messages seen while the tests ran, unless
// they were printed already.
func (c *console) dumpKernel() {
	if !c.kernelLog {
		c.kernel.dump(c.out, "vmtest: guest kernel messages during the tests:")
	}
}

// ring keeps the last max lines.
type ring struct {
	max     int
	lines   []string
	dropped int
}

func (r *ring) add(l string) {
	if len(r.lines) == r.max {
		r.lines = r.lines[1:]
		r.dropped++
	}
	r.lines = append(r.lines, l)
}

func (r *ring) dump(w io.Writer, title string) {
	if len(r.lines) == 0 {
		return
	}
	fmt.Fprintln(w, title)
	if r.dropped > 0 {
		fmt.Fprintf(w, "  ... %d earlier lines\n", r.dropped)
	}
	for _, l := range r.lines {
		fmt.Fprintln(w, "  "+escapes.ReplaceAllString(l, ""))
	}
}
