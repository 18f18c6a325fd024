package app

import (
	"os"
	"testing"

	"portico/app/auth"
)

// TestMain makes password hashes cheap for this test binary: the sign-in,
// lockout and team tests hash and check hundreds of passwords, which at
// the production cost would take minutes. app/auth's own tests keep the
// real cost.
func TestMain(m *testing.M) {
	auth.UseTestCost()
	os.Exit(m.Run())
}
