package main

import (
	"os"
	"testing"
)

// TestMain gives the in-process benchmarks the server's collector
// settings, as `go run ./bench` gives its ceilings (runtime.go).
func TestMain(m *testing.M) {
	useServingRuntime()
	os.Exit(m.Run())
}
