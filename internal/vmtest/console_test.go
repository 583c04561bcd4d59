package vmtest

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

func TestConsole(t *testing.T) {
	serial := strings.Join([]string{
		"\x1bc\x1b[?7lSeaBIOS (version 1.16)",
		"LVSRS-START other", // another run's marker: not ours
		"Booting from ROM..\x1b[2JLVSRS-START n1\r",
		"=== RUN   TestA\r",
		"[    4.123456] IPVS: something",
		"LVSRS-EXIT=0 other", // printed by a test: just output
		"--- FAIL: TestA (0.00s)",
		"LVSRS-EXIT=1 n1",
		"[    5.000000] reboot: Power down",
	}, "\n")
	var out bytes.Buffer
	c := newConsole(&out, "n1", false)
	c.run(bufio.NewReader(strings.NewReader(serial)))
	if !c.sawExit || c.code != 1 || !c.isStarted() {
		t.Fatalf("sawExit %v code %d started %v; want true 1 true", c.sawExit, c.code, c.isStarted())
	}
	want := "=== RUN   TestA\nLVSRS-EXIT=0 other\n--- FAIL: TestA (0.00s)\n"
	if out.String() != want {
		t.Errorf("streamed %q, want %q", out.String(), want)
	}
	out.Reset()
	c.dumpKernel()
	if !strings.Contains(out.String(), "IPVS: something") || strings.Contains(out.String(), "Power down") {
		t.Errorf("kernel dump = %q", out.String())
	}
}

func TestConsoleWithoutMarkers(t *testing.T) {
	var out bytes.Buffer
	c := newConsole(&out, "n1", false)
	c.run(bufio.NewReader(strings.NewReader("Kernel panic - not syncing\n")))
	if c.sawExit || c.isStarted() || out.Len() != 0 {
		t.Fatalf("sawExit %v started %v out %q", c.sawExit, c.isStarted(), out.String())
	}
	c.dumpBoot()
	if !strings.Contains(out.String(), "Kernel panic") {
		t.Errorf("boot dump = %q", out.String())
	}
}
