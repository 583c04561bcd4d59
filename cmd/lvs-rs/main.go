// Command lvs-rs turns a Linux host into a correctly configured member of a
// Linux Virtual Server cluster: a director (kernel IPVS, VIPs, ip_forward)
// or a real server (VIP on lo or tunl0, ARP and rp_filter sysctls, or a
// route through the director).
//
// This package is only the command-line wiring; the work lives in pkg/.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
