// Package gctune holds the garbage-collector settings Portico serves
// with. The server applies them at start (main), and so do the
// benchmark's ceilings and baselines (bench), so that a ratio between the
// server and a ceiling compares two processes run alike.
//
// Portico's live heap is small (tens of MiB) and its hot paths (authorise,
// CDR batches) allocate per request, so Go's default (collect whenever the
// heap doubles) spends a large share of the CPU on the collector: `go run
// ./bench calls` measured CDR ingest at 0.38 of raw bbolt with the default
// and 0.60 with 400. The soft memory limit makes the collector work
// harder, not the process fail, as the heap nears it.
package gctune

import (
	"fmt"
	"runtime/debug"
	"strings"
)

const (
	GCPercent   = 400     // GOGC
	MemoryLimit = 1 << 30 // GOMEMLIMIT, 1 GiB
)

// Apply sets the serving settings that the environment leaves unset (an
// operator's GOGC or GOMEMLIMIT wins) and says what it set ("" for
// nothing).
func Apply(getenv func(string) string) string {
	var set []string
	if getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
		set = append(set, fmt.Sprintf("GOGC=%d", GCPercent))
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(MemoryLimit)
		set = append(set, "GOMEMLIMIT=1GiB")
	}
	return strings.Join(set, " ")
}
