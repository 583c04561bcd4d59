package state

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

type rec struct {
	A string
	B []int
}

func TestSaveLoadRemove(t *testing.T) {
	s := Store{Dir: filepath.Join(t.TempDir(), "st")}
	var got rec
	if ok, err := s.Load("realserver", &got); ok || err != nil {
		t.Fatalf("Load before Save = %v, %v; want false, nil", ok, err)
	}
	want := rec{A: "x", B: []int{1, 2}}
	if err := s.Save("realserver", want); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Load("realserver", &got); !ok || err != nil || got.A != "x" || len(got.B) != 2 {
		t.Fatalf("Load = %v, %v, %+v", ok, err, got)
	}
	for p, mode := range map[string]os.FileMode{s.Dir: 0o700, filepath.Join(s.Dir, "realserver.json"): 0o600} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, %v; want %v", p, fi.Mode().Perm(), err, mode)
		}
	}
	if err := s.Remove("realserver"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove("realserver"); err != nil {
		t.Fatalf("second Remove: %v", err)
	}
	if ok, _ := s.Load("realserver", &got); ok {
		t.Fatal("record survived Remove")
	}
}

func TestLockExcludes(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	unlock, err := s.Lock(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lock(100 * time.Millisecond); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Lock = %v, want ErrLocked", err)
	}
	unlock()
	u2, err := s.Lock(100 * time.Millisecond)
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	u2()
}

func TestDirPrecedence(t *testing.T) {
	t.Setenv("LVS_RS_STATE_DIR", "/env")
	if Dir("/flag") != "/flag" || Dir("") != "/env" {
		t.Fatalf("Dir precedence wrong: %q %q", Dir("/flag"), Dir(""))
	}
	t.Setenv("LVS_RS_STATE_DIR", "")
	if Dir("") != DefaultDir {
		t.Fatalf("Dir default = %q", Dir(""))
	}
}

// TestStamp: a record's stamp is the one its read returns, and every
// write gives a new one, even of the same bytes; no record, no stamp.
func TestStamp(t *testing.T) {
	s := Store{Dir: filepath.Join(t.TempDir(), "st")}
	if _, ok, err := s.Stamp("director"); ok || err != nil {
		t.Fatalf("Stamp before any write = %v, %v; want false, nil", ok, err)
	}
	if _, _, ok, err := s.ReadStamped("director"); ok || err != nil {
		t.Fatalf("ReadStamped before any write = %v, %v; want false, nil", ok, err)
	}
	var last Stamp
	for i := range 3 {
		if err := s.Write("director", []byte(`{"a":`), []byte(`1}`)); err != nil {
			t.Fatal(err)
		}
		st, ok, err := s.Stamp("director")
		if !ok || err != nil || st == (Stamp{}) {
			t.Fatalf("write %d: Stamp = %+v, %v, %v", i, st, ok, err)
		}
		b, rst, ok, err := s.ReadStamped("director")
		if !ok || err != nil || string(b) != "{\"a\":1}\n" || rst != st {
			t.Fatalf("write %d: ReadStamped = %q, %+v, %v, %v; want the bytes written and stamp %+v", i, b, rst, ok, err, st)
		}
		if st == last {
			t.Fatalf("write %d: same stamp as the write before: %+v", i, st)
		}
		last = st
	}
	if err := s.Remove("director"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Stamp("director"); ok || err != nil {
		t.Fatalf("Stamp after Remove = %v, %v; want false, nil", ok, err)
	}
}
