package config

import (
	"fmt"
	"math"
	"strings"
)

// MinorUnit is how many stored units make one currency unit: amounts are
// int64 counts of 1/10,000 so that per-second rates stay exact.
const MinorUnit = 10000

// ParseAmount parses a non-negative decimal such as "12.50" into minor
// units, refusing more than four decimals, signs, exponents and overflow.
func ParseAmount(s string) (int64, error) {
	s = strings.TrimSpace(s)
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" && (!hasDot || frac == "") {
		return 0, fmt.Errorf("%q is not an amount such as 12.50", s)
	}
	if len(frac) > 4 {
		return 0, fmt.Errorf("%q has more than 4 decimals", s)
	}
	var v int64
	for _, ch := range whole + frac + strings.Repeat("0", 4-len(frac)) {
		if ch < '0' || ch > '9' {
			return 0, fmt.Errorf("%q is not an amount such as 12.50", s)
		}
		if v > (math.MaxInt64-int64(ch-'0'))/10 {
			return 0, fmt.Errorf("%q is too large", s)
		}
		v = v*10 + int64(ch-'0')
	}
	return v, nil
}
