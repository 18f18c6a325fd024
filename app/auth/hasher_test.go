package auth

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHasherBound: with every slot of the one hasher taken, one more hash
// or check waits; it runs once a slot is free, and never more than the
// slots run at once. With no wait it is refused with ErrBusy, and so is
// the check that stands in for an unknown account. Counted with the
// gate's gauges, not timed. Not parallel: the hasher is process-wide.
func TestHasherBound(t *testing.T) {
	hash, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	var held []func()
	for range Hasher.Slots() {
		release, err := Hasher.Acquire()
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, release)
	}
	defer func() {
		for _, release := range held {
			release()
		}
		Hasher.SetWait(hashWait)
	}()
	Hasher.ResetPeak()

	Hasher.SetWait(0)
	if _, err := HashPassword("another one"); !errors.Is(err, ErrBusy) {
		t.Errorf("hash with every slot taken: %v, want ErrBusy", err)
	}
	if err := CheckPassword(hash, "correct horse"); !errors.Is(err, ErrBusy) {
		t.Errorf("check with every slot taken: %v, want ErrBusy (not a mismatch)", err)
	}
	if err := BurnPasswordCheck("anything"); !errors.Is(err, ErrBusy) {
		t.Errorf("stand-in check with every slot taken: %v, want ErrBusy", err)
	}

	Hasher.SetWait(time.Minute)
	done := make(chan error, 1)
	go func() { done <- CheckPassword(hash, "correct horse") }()
	for Hasher.Waiting() != 1 {
		time.Sleep(time.Millisecond)
	}
	if n := Hasher.InFlight(); n != Hasher.Slots() {
		t.Fatalf("%d in flight, want %d", n, Hasher.Slots())
	}
	held[0]()
	if err := <-done; err != nil {
		t.Fatalf("check after a slot was freed: %v", err)
	}
	if p := Hasher.Peak(); p > Hasher.Slots() {
		t.Fatalf("peak %d over %d slots", p, Hasher.Slots())
	}
}

// TestOneHasher: no code but this package's hasher calls argon2, so every
// path that hashes or checks a password (API and page client create, team
// add, invitation accept, password change and reset, the CLI) goes
// through Hasher.
func TestOneHasher(t *testing.T) {
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(data), "golang.org/x/crypto/argon2") && filepath.ToSlash(path) != "../../app/auth/password.go" {
			t.Errorf("%s uses argon2 directly; hash through auth.HashPassword and auth.CheckPassword", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
