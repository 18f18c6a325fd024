package testkit

import (
	"os"
	"testing"

	"portico/app/auth"
)

// Main runs a package's tests with cheap password hashes (auth.UseTestCost):
// tests that sign in, lock out and add people hash and check hundreds of
// passwords, which at the production cost would take minutes. Call it as
// the whole of TestMain; app/auth's own tests keep the real cost.
func Main(m *testing.M) {
	auth.UseTestCost()
	os.Exit(m.Run())
}
