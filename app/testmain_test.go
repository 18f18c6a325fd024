package app

import (
	"testing"

	"portico/app/testkit"
)

// TestMain: cheap password hashes for this binary (testkit.Main).
func TestMain(m *testing.M) { testkit.Main(m) }
