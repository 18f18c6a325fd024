package testkit

import (
	"path/filepath"
	"testing"

	"portico/store"
)

// OpenStore opens a store in the test's temp dir on clock, without fsync
// (what is tested is the logic, not the disk), closed when the test ends.
func OpenStore(t testing.TB, clock *Clock) *store.Store {
	t.Helper()
	s, err := store.Open(filepath.Join(t.TempDir(), "portico.db"), store.Options{Now: clock.Now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
