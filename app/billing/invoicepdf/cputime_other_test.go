//go:build !unix

package invoicepdf

import "time"

// cpuTime is not measured here.
func cpuTime() time.Duration { return 0 }
