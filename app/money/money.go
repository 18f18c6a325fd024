// Package money owns amounts: int64 counts of 1/10,000 of a currency unit
// (so per-second rates stay exact), parsing decimal strings into them and
// writing them back, exactly for the API and rounded half-to-even to the
// currency's digits for people. No floats anywhere. It imports nothing of
// Portico's.
package money

import (
	"fmt"
	"math"
	"strings"

	"golang.org/x/text/currency"
)

// Unit is how many stored units make one currency unit.
const Unit = 10000

// unitDigits is log10(Unit).
const unitDigits = 4

// Parse reads a non-negative decimal such as "12.50" or "0.0125" into
// minor units, refusing signs, exponents, more than four decimals and
// overflow.
func Parse(s string) (int64, error) {
	s = strings.TrimSpace(s)
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" && (!hasDot || frac == "") {
		return 0, fmt.Errorf("%q is not an amount such as 12.50", s)
	}
	if len(frac) > unitDigits {
		return 0, fmt.Errorf("%q has more than %d decimals", s, unitDigits)
	}
	var v int64
	for _, ch := range whole + frac + strings.Repeat("0", unitDigits-len(frac)) {
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

// Digits is how many decimals the currency shows (2 for USD, 0 for JPY).
func Digits(code string) int {
	unit, err := currency.ParseISO(code)
	if err != nil {
		return 2
	}
	scale, _ := currency.Standard.Rounding(unit)
	return scale
}

// Decimal writes v exactly, with at least the currency's digits:
// 125000 USD → "12.50", 125 → "0.0125".
func Decimal(v int64, code string) string {
	digits := Digits(code)
	sign := ""
	u := uint64(v)
	if v < 0 {
		sign, u = "-", uint64(-v) // -MinInt64 wraps to itself, which is its magnitude as uint64
	}
	whole, frac := u/Unit, u%Unit
	fs := fmt.Sprintf("%04d", frac)
	for len(fs) > digits && fs[len(fs)-1] == '0' {
		fs = fs[:len(fs)-1]
	}
	if fs == "" {
		return fmt.Sprintf("%s%d", sign, whole)
	}
	return fmt.Sprintf("%s%d.%s", sign, whole, fs)
}

// Round rounds v half-to-even to the currency's digits (in minor units).
func Round(v int64, code string) int64 {
	step := int64(math.Pow10(unitDigits - Digits(code)))
	if step <= 1 {
		return v
	}
	q, r := v/step, v%step
	if r < 0 {
		q, r = q-1, r+step
	}
	switch {
	case 2*r > step, 2*r == step && q%2 != 0:
		q++
	}
	return q * step
}

// Format is v for people: rounded half-to-even to the currency's digits,
// with thousands separators and the code: "1,234.50 USD".
func Format(v int64, code string) string { return FormatNumber(v, code) + " " + code }

// FormatNumber is Format without the currency code: "1,234.50".
func FormatNumber(v int64, code string) string { return Display{}.Text(v, code) }
