package vmtest

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
)

// maxTestdata bounds the testdata/ copied into the VM.
const maxTestdata = 64 << 20

// initrdInput is what goes into the VM's initramfs on top of the base.
type initrdInput struct {
	base     string // cached base initramfs (any format the kernel reads)
	test     string // the test binary -> /lvsrs/test
	lvsrs    string // lvs-rs binary -> /bin/lvs-rs; "" for none
	baseline string // another revision's lvs-rs -> /bin/lvs-rs-baseline; "" for none
	testdata string // dir copied to /lvsrs/pkg/testdata; "" for none
	args     []byte // /lvsrs/args, see encodeArgs
	env      []byte // /lvsrs/env, KEY=VALUE lines
	nonce    string // /lvsrs/nonce, echoed in the markers
}

// writeInitrd writes the base initramfs, zero padding to a 4-byte boundary
// (the kernel looks for the next archive's magic only there) and a second,
// uncompressed newc archive with the per-run files.
func writeInitrd(dst string, in initrdInput) (err error) {
	f, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("initrd: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("initrd: %w", cerr)
		}
	}()
	base, err := os.Open(in.base)
	if err != nil {
		return fmt.Errorf("initrd base: %w", err)
	}
	n, err := io.Copy(f, base)
	base.Close()
	if err != nil {
		return fmt.Errorf("initrd base: %w", err)
	}
	if pad := (4 - n%4) % 4; pad > 0 {
		if _, err := f.Write(make([]byte, pad)); err != nil {
			return fmt.Errorf("initrd: %w", err)
		}
	}
	return writeExtra(f, in)
}

// writeExtra writes the per-run newc archive.
func writeExtra(w io.Writer, in initrdInput) error {
	c := newCPIOWriter(w)
	for _, d := range []string{"bin", "lvsrs", "lvsrs/pkg"} {
		if err := c.Dir(d, 0o755); err != nil {
			return err
		}
	}
	if err := addFile(c, "lvsrs/test", in.test, 0o755); err != nil {
		return err
	}
	for _, b := range []struct{ name, src string }{{"bin/lvs-rs", in.lvsrs}, {baselinePath[1:], in.baseline}} {
		if b.src == "" {
			continue
		}
		if err := addFile(c, b.name, b.src, 0o755); err != nil {
			return err
		}
	}
	small := []struct {
		name string
		data []byte
	}{{"lvsrs/args", in.args}, {"lvsrs/env", in.env}, {"lvsrs/nonce", []byte(in.nonce + "\n")}}
	for _, s := range small {
		if err := c.Bytes(s.name, 0o644, s.data); err != nil {
			return err
		}
	}
	if in.testdata != "" {
		if err := addTree(c, "lvsrs/pkg/testdata", in.testdata); err != nil {
			return err
		}
	}
	return c.Close()
}

func addFile(c *cpioWriter, name, src string, perm fs.FileMode) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("initrd: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("initrd: %w", err)
	}
	return c.File(name, perm, st.Size(), f)
}

// addTree copies the directories and regular files under src (symlinks
// are followed only at the top) to dst.
func addTree(c *cpioWriter, dst, src string) error {
	var total int64
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("initrd testdata: %w", err)
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return fmt.Errorf("initrd testdata: %w", err)
		}
		name := path.Join(dst, filepath.ToSlash(rel))
		switch {
		case d.IsDir():
			return c.Dir(name, 0o755)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return fmt.Errorf("initrd testdata: %w", err)
			}
			if total += info.Size(); total > maxTestdata {
				return fmt.Errorf("initrd: %s is larger than %d MiB", src, maxTestdata>>20)
			}
			return addFile(c, name, p, info.Mode().Perm())
		}
		return nil // sockets, devices, symlinks: skipped
	})
}
