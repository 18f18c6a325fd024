package gctune

import (
	"runtime/debug"
	"testing"
)

// Apply sets the serving defaults only where the operator set nothing.
// Not parallel: it changes the process's collector settings (restored).
func TestApply(t *testing.T) {
	oldPercent := debug.SetGCPercent(100)
	oldLimit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetGCPercent(oldPercent); debug.SetMemoryLimit(oldLimit) })

	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if got := Apply(getenv); got != "GOGC=400 GOMEMLIMIT=1GiB" {
		t.Errorf("nothing set: %q", got)
	}
	if p := debug.SetGCPercent(100); p != GCPercent {
		t.Errorf("GC percent %d, want %d", p, GCPercent)
	}
	if l := debug.SetMemoryLimit(-1); l != MemoryLimit {
		t.Errorf("memory limit %d, want %d", l, MemoryLimit)
	}

	debug.SetMemoryLimit(123 << 20)
	env["GOGC"], env["GOMEMLIMIT"] = "150", "123MiB"
	if got := Apply(getenv); got != "" {
		t.Errorf("operator's settings: Apply set %q", got)
	}
	if p := debug.SetGCPercent(100); p != 100 {
		t.Errorf("GC percent changed to %d over the operator's GOGC", p)
	}
	if l := debug.SetMemoryLimit(-1); l != 123<<20 {
		t.Errorf("memory limit changed to %d over the operator's GOMEMLIMIT", l)
	}
}
