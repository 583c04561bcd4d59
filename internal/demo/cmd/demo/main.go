// Command demo runs lvs-rs's DR demo on this host (see internal/demo):
//
//	demo -lvs-rs PATH
//
// It needs root and a kernel with IPVS; scripts/demo.sh builds both
// binaries and falls back to the VM test bed when the kernel has no IPVS.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"

	"github.com/lvs-rs/lvs-rs/internal/demo"
)

func main() {
	bin := flag.String("lvs-rs", "lvs-rs", "path of the lvs-rs binary to run on each node")
	flag.Parse()
	path, err := exec.LookPath(*bin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
	if err := demo.Run(os.Stdout, path); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
