package demo

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/lvs-rs/lvs-rs/internal/demo"
	"github.com/lvs-rs/lvs-rs/internal/vmtest"
)

func TestMain(m *testing.M) { vmtest.Main(m) }

func TestDemo(t *testing.T) {
	bin := vmtest.RequireLvsRs(t)
	var w io.Writer = os.Stdout
	if p := os.Getenv("LVSRS_TEST_DEMO_PREFIX"); p != "" {
		pw := &prefixWriter{w: os.Stdout, prefix: []byte(p)}
		defer pw.flush()
		w = pw
	}
	if err := demo.Run(w, bin); err != nil {
		t.Fatal(err)
	}
}

// prefixWriter writes each complete line to w with prefix in front.
type prefixWriter struct {
	w      io.Writer
	prefix []byte
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		line := append(append([]byte{}, p.prefix...), p.buf[:i+1]...)
		p.buf = p.buf[i+1:]
		if _, err := p.w.Write(line); err != nil {
			return len(b), err
		}
	}
}

// flush writes a last, unterminated line.
func (p *prefixWriter) flush() {
	if len(p.buf) > 0 {
		p.w.Write(append(append(append([]byte{}, p.prefix...), p.buf...), '\n'))
		p.buf = nil
	}
}
