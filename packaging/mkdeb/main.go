// Command mkdeb builds the lvs-rs Debian package from packaging/nfpm.yaml
// with nfpm's deb packager (used as a library: only the deb format is
// linked). `make deb` stages the files and runs it; ${NAME} references in
// the file are expanded from the environment.
//
// It lives in its own module so that nfpm and its dependencies never enter
// the lvs-rs module's go.mod.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
)

func main() {
	config := flag.String("config", "nfpm.yaml", "nfpm configuration file")
	target := flag.String("target", "", "the .deb to write")
	flag.Parse()
	if *target == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: mkdeb -config nfpm.yaml -target OUT.deb")
		os.Exit(2)
	}
	if err := build(*config, *target); err != nil {
		fmt.Fprintf(os.Stderr, "mkdeb: %v\n", err)
		os.Exit(1)
	}
}

// build parses the configuration, checks it and writes the package.
func build(config, target string) (err error) {
	cfg, err := nfpm.ParseFileWithEnvMapping(config, os.Getenv)
	if err != nil {
		return fmt.Errorf("%s: %w", config, err)
	}
	info, err := cfg.Get("deb")
	if err != nil {
		return fmt.Errorf("%s: %w", config, err)
	}
	info = nfpm.WithDefaults(info)
	if err := nfpm.PrepareForPackager(info, "deb"); err != nil {
		return fmt.Errorf("%s: %w", config, err)
	}
	f, err := os.Create(target)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			os.Remove(target)
		}
	}()
	if err := deb.Default.Package(info, f); err != nil {
		return fmt.Errorf("packaging %s: %w", target, err)
	}
	return nil
}
