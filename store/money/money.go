// Package money owns amounts: int64 counts of 1/10,000 of a currency unit
// (so per-second rates stay exact), parsing decimal strings into them and
// writing them back, exactly for the API and rounded half-to-even to the
// currency's digits for people, and the one rule for arithmetic on them:
// every sum and product goes through Add, Sub, Mul or MulDivUp, which
// refuse (ErrOverflow) what int64 cannot hold instead of wrapping. No
// floats anywhere. It imports nothing of Portico's, so the store may use
// it too.
package money

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"

	"golang.org/x/text/currency"
)

// Unit is how many stored units make one currency unit.
const Unit = 10000

// unitDigits is log10(Unit).
const unitDigits = 4

// ErrOverflow means a result does not fit in an int64 amount: the
// operation is refused, never wrapped.
var ErrOverflow = errors.New("money: amount out of range")

// Add is a+b, or ErrOverflow.
func Add(a, b int64) (int64, error) {
	s := a + b
	if (s > a) != (b > 0) { // wrapped: the sum moved the wrong way
		return 0, ErrOverflow
	}
	return s, nil
}

// Sub is a−b, or ErrOverflow.
func Sub(a, b int64) (int64, error) {
	d := a - b
	if (d < a) != (b > 0) {
		return 0, ErrOverflow
	}
	return d, nil
}

// Mul is a·b, or ErrOverflow.
func Mul(a, b int64) (int64, error) {
	if a == 0 || b == 0 {
		return 0, nil
	}
	p := a * b
	if p/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		return 0, ErrOverflow
	}
	return p, nil
}

// MulDivUp is a·b/d rounded up, for non-negative a and b and positive d,
// with the product in 128 bits so that it cannot wrap; ErrOverflow when
// an operand is out of range or the result does not fit.
func MulDivUp(a, b, d int64) (int64, error) {
	if a < 0 || b < 0 || d <= 0 {
		return 0, ErrOverflow
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	lo, carry := bits.Add64(lo, uint64(d-1), 0)
	hi += carry // cannot wrap: a·b < 2^126
	if hi >= uint64(d) {
		return 0, ErrOverflow
	}
	q, _ := bits.Div64(hi, lo, uint64(d))
	if q > math.MaxInt64 {
		return 0, ErrOverflow
	}
	return int64(q), nil
}

// Percent is part as a share of whole in whole percent, rounded down and
// held to 0–100, for any int64s (0 when whole is not positive). It never
// multiplies in 64 bits, so large balances cannot wrap it.
func Percent(part, whole int64) int {
	if whole <= 0 || part <= 0 {
		return 0
	}
	if part >= whole {
		return 100
	}
	hi, lo := bits.Mul64(uint64(part), 100)
	q, _ := bits.Div64(hi, lo, uint64(whole)) // part < whole, so the quotient is < 100
	return int(q)
}

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
	var buf [24]byte // the longest is -922337203685477.5808
	return string(AppendDecimal(buf[:0], v, code))
}

// AppendDecimal appends Decimal(v, code) to b: the authorise reply writes
// two amounts per call, with no string to allocate for either.
func AppendDecimal(b []byte, v int64, code string) []byte {
	digits := Digits(code)
	u := uint64(v)
	if v < 0 {
		b = append(b, '-')
		u = uint64(-v) // -MinInt64 wraps to itself, which is its magnitude as uint64
	}
	b = strconv.AppendUint(b, u/Unit, 10)
	var frac [unitDigits]byte
	for i, f := unitDigits-1, u%Unit; i >= 0; i, f = i-1, f/10 {
		frac[i] = byte('0' + f%10)
	}
	n := unitDigits
	for n > digits && frac[n-1] == '0' {
		n--
	}
	if n == 0 {
		return b
	}
	return append(append(b, '.'), frac[:n]...)
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
