package main

import (
	"runtime/debug"
	"testing"
)

// tuneGC sets the serving defaults only where the operator set nothing.
// Not parallel: it changes the process's collector settings (restored).
func TestTuneGC(t *testing.T) {
	oldPercent := debug.SetGCPercent(100)
	oldLimit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetGCPercent(oldPercent); debug.SetMemoryLimit(oldLimit) })

	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if got := tuneGC(getenv); got != "GOGC=400 GOMEMLIMIT=1GiB" {
		t.Errorf("nothing set: %q", got)
	}
	if p := debug.SetGCPercent(100); p != serveGCPercent {
		t.Errorf("GC percent %d, want %d", p, serveGCPercent)
	}
	if l := debug.SetMemoryLimit(-1); l != serveMemoryLimit {
		t.Errorf("memory limit %d, want %d", l, serveMemoryLimit)
	}

	debug.SetMemoryLimit(123 << 20)
	env["GOGC"], env["GOMEMLIMIT"] = "150", "123MiB"
	if got := tuneGC(getenv); got != "" {
		t.Errorf("operator's settings: tuneGC set %q", got)
	}
	if p := debug.SetGCPercent(100); p != 100 {
		t.Errorf("GC percent changed to %d over the operator's GOGC", p)
	}
	if l := debug.SetMemoryLimit(-1); l != 123<<20 {
		t.Errorf("memory limit changed to %d over the operator's GOMEMLIMIT", l)
	}
}
