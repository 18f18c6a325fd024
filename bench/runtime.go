package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"portico/app/gctune"
)

// Every process a ratio compares runs with the server's own collector
// settings: the server applies app/gctune at start, and so do the ceilings
// (re-executed harness processes) and the harness itself, where the raw
// bbolt baseline runs. Go's defaults on one side only would measure the
// collector, not the code: with the same settings on both sides the
// console page fell from 1.09–1.32 of the ceiling to 0.72–0.77. An
// operator's GOGC or GOMEMLIMIT in the environment reaches every process
// alike (children inherit it, and gctune leaves it alone).

// useServingRuntime applies the server's settings to this process and
// returns them as runtimeSettings reports them.
func useServingRuntime() string {
	gctune.Apply(os.Getenv)
	return runtimeSettings()
}

// runtimeSettings is this process's effective collector settings.
func runtimeSettings() string {
	percent := debug.SetGCPercent(-1) // reading it means setting it: put it back
	debug.SetGCPercent(percent)
	gogc := fmt.Sprint(percent)
	if percent < 0 {
		gogc = "off"
	}
	return fmt.Sprintf("GOGC=%s GOMEMLIMIT=%d", gogc, debug.SetMemoryLimit(-1))
}

// runtimeLine is what a ceiling writes to its stderr at start, so that the
// harness can check it runs like the server.
const runtimeLine = "runtime: "

// announceRuntime applies the server's settings in a ceiling process and
// says so on stderr.
func announceRuntime() {
	fmt.Fprintln(os.Stderr, runtimeLine+useServingRuntime())
}

// checkRuntime fails unless the started ceiling announced the same
// settings as want (the harness's own).
func checkRuntime(p *process, want string) error {
	if got := p.stderr.String(); !strings.Contains(got, runtimeLine+want+"\n") {
		return fmt.Errorf("%s does not run with the server's collector settings (%s); its stderr:\n%s", p.cmd.Path, want, got)
	}
	return nil
}
