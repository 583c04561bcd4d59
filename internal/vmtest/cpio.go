package vmtest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// cpioWriter writes a newc ("070701") cpio archive, the format the Linux
// initramfs unpacker reads. Entries are owned by root; paths are relative
// ("lvsrs/test"), as the kernel expects.
type cpioWriter struct {
	w   *bufio.Writer
	n   int64 // bytes written so far, for 4-byte alignment
	ino uint32
	err error
}

func newCPIOWriter(w io.Writer) *cpioWriter {
	// Start the inode numbers high so they never meet the base archive's.
	return &cpioWriter{w: bufio.NewWriterSize(w, 1<<20), ino: 1 << 20}
}

// Dir adds a directory entry.
func (c *cpioWriter) Dir(name string, perm fs.FileMode) error {
	return c.entry(name, 0o040000|uint32(perm.Perm()), 0, nil)
}

// File adds a regular file of size bytes read from r.
func (c *cpioWriter) File(name string, perm fs.FileMode, size int64, r io.Reader) error {
	return c.entry(name, 0o100000|uint32(perm.Perm()), size, r)
}

// Bytes adds a regular file with the given content.
func (c *cpioWriter) Bytes(name string, perm fs.FileMode, data []byte) error {
	return c.File(name, perm, int64(len(data)), bytes.NewReader(data))
}

// Close writes the trailer and flushes; it does not close the underlying
// writer.
func (c *cpioWriter) Close() error {
	if err := c.entry("TRAILER!!!", 0, 0, nil); err != nil {
		return err
	}
	if err := c.w.Flush(); err != nil {
		return fmt.Errorf("cpio: flush: %w", err)
	}
	return nil
}

func (c *cpioWriter) entry(name string, mode uint32, size int64, r io.Reader) error {
	if c.err != nil {
		return c.err
	}
	if strings.HasPrefix(name, "/") || name == "" {
		return fmt.Errorf("cpio: bad entry name %q", name)
	}
	if size > 0xffffffff {
		return fmt.Errorf("cpio: %s: %d bytes is too large for newc", name, size)
	}
	c.ino++
	nlink := 1
	if mode&0o040000 != 0 {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, len(name)+1, 0)
	c.write([]byte(hdr))
	c.write([]byte(name + "\x00"))
	c.pad()
	if r != nil && size > 0 {
		n, err := io.CopyN(c.w, r, size)
		c.n += n
		if err != nil && c.err == nil {
			c.err = fmt.Errorf("cpio: %s: %w", name, err)
		}
	}
	c.pad()
	return c.err
}

func (c *cpioWriter) write(b []byte) {
	if c.err != nil {
		return
	}
	n, err := c.w.Write(b)
	c.n += int64(n)
	if err != nil {
		c.err = fmt.Errorf("cpio: write: %w", err)
	}
}

func (c *cpioWriter) pad() {
	if rem := c.n % 4; rem != 0 {
		c.write(make([]byte, 4-rem))
	}
}
