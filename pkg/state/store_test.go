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
