package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMissingDirCreated0700(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b", "state")
	if err := (Store{Dir: dir}).Save("director", rec{A: "x"}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("state dir: %v, %v; want mode 0700", fi.Mode(), err)
	}
}

// TestExistingDirNeverChmodded: a directory that is safe but not 0700 is
// used as it is, by every entry point.
func TestExistingDirNeverChmodded(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "st")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	s := Store{Dir: dir}
	unlock, err := s.Lock(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	unlock, _, err = s.TryShared()
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	if err := s.Save("realserver", rec{A: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("realserver", &rec{}); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o755 {
		t.Fatalf("mode changed to %v", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(s.Path("realserver")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("record mode %v, want 0600", fi.Mode().Perm())
	}
}

// TestUnsafeDirRefused: a directory others can write (as /tmp) is refused
// by every entry point, with one line naming it, and left unchanged.
func TestUnsafeDirRefused(t *testing.T) {
	for _, mode := range []os.FileMode{0o777 | os.ModeSticky, 0o770, 0o702} {
		dir := filepath.Join(t.TempDir(), "shared")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		s := Store{Dir: dir}
		_, lockErr := s.Lock(time.Second)
		_, _, sharedErr := s.TryShared()
		saveErr := s.Save("director", rec{})
		_, loadErr := s.Load("director", &rec{})
		for name, err := range map[string]error{"Lock": lockErr, "TryShared": sharedErr, "Save": saveErr, "Load": loadErr} {
			if !errors.Is(err, ErrUnsafeDir) {
				t.Errorf("mode %v: %s = %v, want ErrUnsafeDir", mode, name, err)
				continue
			}
			if msg := err.Error(); !strings.Contains(msg, dir) || strings.Contains(msg, "\n") {
				t.Errorf("mode %v: %s message %q: want one line naming %s", mode, name, msg, dir)
			}
		}
		fi, _ := os.Stat(dir)
		if fi.Mode()&(os.ModePerm|os.ModeSticky) != mode {
			t.Errorf("mode %v changed to %v", mode, fi.Mode())
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("mode %v: files created in a refused directory: %v", mode, ents)
		}
	}
}

func TestForeignOwnerRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown")
	}
	dir := filepath.Join(t.TempDir(), "st")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	_, err := Store{Dir: dir}.Lock(time.Second)
	if !errors.Is(err, ErrUnsafeDir) || !strings.Contains(err.Error(), "uid 65534") {
		t.Fatalf("Lock = %v, want ErrUnsafeDir naming uid 65534", err)
	}
}

func TestNotADirectoryRefused(t *testing.T) {
	p := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := (Store{Dir: p}).Lock(time.Second); err == nil {
		t.Fatal("Lock on a file succeeded")
	}
}

// TestCorruptRecord: bad JSON, or JSON of the wrong shape, gives one line
// that names the file and what to do, and wraps ErrCorrupt.
func TestCorruptRecord(t *testing.T) {
	for _, body := range []string{"", "{", "\x00\x01garbage", `{"A": 5}`, `{"B": "x"}`, "[1,2,3]"} {
		s := Store{Dir: t.TempDir()}
		if err := os.WriteFile(s.Path("director"), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		ok, err := s.Load("director", &rec{})
		if ok || !errors.Is(err, ErrCorrupt) {
			t.Errorf("%q: Load = %v, %v; want ErrCorrupt", body, ok, err)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, s.Path("director")) || !strings.Contains(msg, "remove it to start over") || strings.Contains(msg, "\n") {
			t.Errorf("%q: message %q", body, msg)
		}
	}
}

func TestCorruptHelper(t *testing.T) {
	s := Store{Dir: "/run/lvs-rs"}
	err := s.Corrupt("realserver", errors.New("version 9\nis unknown"))
	want := "state: record /run/lvs-rs/realserver.json is damaged (version 9 is unknown); inspect it, then remove it to start over: lvs-rs will no longer know what it created on this host"
	if !errors.Is(err, ErrCorrupt) || err.Error() != want {
		t.Fatalf("Corrupt = %q, want %q", err, want)
	}
}

// TestSharedLock: readers share the lock, never wait behind a writer, and
// keep a writer out while they read.
func TestSharedLock(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	unlock, err := s.Lock(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r, held, err := s.TryShared()
	if err != nil || held {
		t.Fatalf("TryShared under an exclusive holder = %v, %v; want not held", held, err)
	}
	r()
	unlock()

	r1, held1, err1 := s.TryShared()
	r2, held2, err2 := s.TryShared()
	if err1 != nil || err2 != nil || !held1 || !held2 {
		t.Fatalf("two readers: %v %v, %v %v; want both held", held1, err1, held2, err2)
	}
	if _, err := s.Lock(100 * time.Millisecond); !errors.Is(err, ErrLocked) {
		t.Fatalf("Lock while readers hold the lock = %v, want ErrLocked", err)
	}
	r1()
	r2()
	u, err := s.Lock(100 * time.Millisecond)
	if err != nil {
		t.Fatalf("Lock after readers left: %v", err)
	}
	u()
}

// TestLockContextCancelled: a wait for a lock another command holds ends
// when its context does (a daemon told to stop), not after the whole
// wait, with the context's error and without the lock.
func TestLockContextCancelled(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	unlock, err := s.Lock(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	u, err := s.LockContext(ctx, 30*time.Second)
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("LockContext returned %s after it began, its context cancelled after 200ms", waited.Round(time.Millisecond))
	}
	if !errors.Is(err, context.Canceled) {
		if u != nil {
			u()
		}
		t.Fatalf("LockContext with a cancelled context = %v, want context.Canceled", err)
	}
	unlock()
	// The lock was not taken by the cancelled wait: free for the next.
	u, err = s.Lock(100 * time.Millisecond)
	if err != nil {
		t.Fatalf("Lock after the cancelled wait: %v", err)
	}
	u()
}
