package money

import "strings"

// Display says how Text writes an amount. The zero value is the format
// for people: rounded half-to-even to the currency's digits, thousands
// grouped ("1,234.50"). Every page, CSV file and message writes amounts
// through it, so the same amount reads the same everywhere.
type Display struct {
	// Exact writes the stored amount without rounding, for figures where
	// a fraction of a cent matters (the cost of one call, a rate per
	// minute). It writes Places decimals: 0 means all four stored ones;
	// fewer than the currency's digits are raised to them, and fewer than
	// the amount needs to the amount's (Exact never hides a digit). Give a
	// column the Places of ExactPlaces over its amounts, so that every
	// line shows the same number of decimals.
	Exact  bool
	Places int
	// Plain leaves the thousands unseparated, for files that programs
	// read (CSV).
	Plain bool
}

// Text writes v in the currency code as d says.
func (d Display) Text(v int64, code string) string {
	places := Digits(code)
	if d.Exact {
		p := d.Places
		if p == 0 {
			p = unitDigits
		}
		places = min(unitDigits, max(p, places, needed(v)))
	} else {
		v = Round(v, code)
		places = min(places, unitDigits)
	}
	neg := v < 0
	u := uint64(v)
	if neg {
		u = uint64(-v) // -MinInt64 wraps to itself, which is its magnitude as uint64
	}
	whole, frac := u/Unit, u%Unit
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	digits := uitoa(whole)
	for i := range len(digits) {
		if i > 0 && (len(digits)-i)%3 == 0 && !d.Plain {
			b.WriteByte(',')
		}
		b.WriteByte(digits[i])
	}
	if places > 0 {
		f := uitoa(frac + Unit)[1:] // four digits with leading zeros
		b.WriteByte('.')
		b.WriteString(f[:places])
	}
	return b.String()
}

// ExactPlaces is how many decimals show every amount of vs exactly, at
// least the currency's digits: the Places of an Exact column.
func ExactPlaces(code string, vs ...int64) int {
	places := Digits(code)
	for _, v := range vs {
		places = max(places, needed(v))
	}
	return min(places, unitDigits)
}

// needed is how many decimals v has (0 to 4).
func needed(v int64) int {
	frac := v % Unit
	if frac == 0 {
		return 0
	}
	n := unitDigits
	for frac%10 == 0 {
		frac /= 10
		n--
	}
	return n
}

func uitoa(u uint64) string {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			return string(buf[i:])
		}
	}
}
