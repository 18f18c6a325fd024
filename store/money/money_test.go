package money

import (
	"errors"
	"fmt"
	"math"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"12.50": 125000, "0.0125": 125, "7": 70000, ".5": 5000, " 3.1 ": 31000} {
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", ".", "-1", "+1", "1e3", "1.00001", "abc", "1,000", "99999999999999999999"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestDecimalAndFormat(t *testing.T) {
	t.Parallel()
	cases := []struct {
		v          int64
		code       string
		dec, human string
	}{
		{125000, "USD", "12.50", "12.50 USD"},
		{125, "USD", "0.0125", "0.01 USD"},
		{250, "USD", "0.025", "0.02 USD"},    // half to even: down
		{350, "USD", "0.035", "0.04 USD"},    // half to even: up
		{-350, "USD", "-0.035", "-0.04 USD"}, // symmetric
		{12345678_0000, "EUR", "12345678.00", "12,345,678.00 EUR"},
		{15000, "JPY", "1.5", "2 JPY"},
		{0, "USD", "0.00", "0.00 USD"},
		{1_0000, "BHD", "1.000", "1.000 BHD"},
	}
	for _, c := range cases {
		if got := Decimal(c.v, c.code); got != c.dec {
			t.Errorf("Decimal(%d, %s) = %q, want %q", c.v, c.code, got, c.dec)
		}
		if got := Format(c.v, c.code); got != c.human {
			t.Errorf("Format(%d, %s) = %q, want %q", c.v, c.code, got, c.human)
		}
	}
	if got := Decimal(math.MinInt64, "USD"); got != "-922337203685477.5808" {
		t.Errorf("MinInt64: %q", got)
	}
	// Decimal then Parse is the identity for non-negative amounts
	for _, v := range []int64{0, 1, 125, 10000, 123456789} {
		if back, err := Parse(Decimal(v, "USD")); err != nil || back != v {
			t.Errorf("round trip %d → %q → %d", v, Decimal(v, "USD"), back)
		}
	}
}

func TestCheckedArithmetic(t *testing.T) {
	t.Parallel()
	const max, min = math.MaxInt64, math.MinInt64
	type op struct {
		name string
		fn   func(a, b int64) (int64, error)
	}
	add, sub, mul := op{"Add", Add}, op{"Sub", Sub}, op{"Mul", Mul}
	for _, tc := range []struct {
		op       op
		a, b     int64
		want     int64
		overflow bool
	}{
		{add, 2, 3, 5, false},
		{add, -2, 3, 1, false},
		{add, max, 0, max, false},
		{add, max - 1, 1, max, false},
		{add, max, 1, 0, true},
		{add, max, max, 0, true},
		{add, min, -1, 0, true},
		{add, min, 0, min, false},
		{add, min, max, -1, false},
		{add, min + 1, -1, min, false},
		// the probe: 91,501 calls of 7 days at the highest rate, then one more
		{add, 91_501 * 100_800_000_000_000, 100_800_000_000_000, 0, true},
		{sub, 5, 3, 2, false},
		{sub, 0, max, -max, false},
		{sub, -1, max, min, false},
		{sub, -2, max, 0, true},
		{sub, min, 1, 0, true},
		{sub, 0, min, 0, true},
		{sub, max, -1, 0, true},
		{sub, -1, min, max, false},
		{sub, max, max, 0, false},
		{mul, 6, 7, 42, false},
		{mul, 0, max, 0, false},
		{mul, min, 0, 0, false},
		{mul, -3, 4, -12, false},
		{mul, max, 1, max, false},
		{mul, max, 2, 0, true},
		{mul, min, -1, 0, true},
		{mul, -1, min, 0, true},
		{mul, min, 1, min, false},
		{mul, 1 << 32, 1 << 31, 0, true},
		{mul, 1 << 31, 1 << 31, 1 << 62, false},
		{mul, 3_037_000_500, 3_037_000_500, 0, true}, // just over √MaxInt64
		{mul, -3_037_000_499, 3_037_000_499, -9_223_372_030_926_249_001, false},
	} {
		got, err := tc.op.fn(tc.a, tc.b)
		switch {
		case tc.overflow && !errors.Is(err, ErrOverflow):
			t.Errorf("%s(%d, %d) = %d, %v; want ErrOverflow", tc.op.name, tc.a, tc.b, got, err)
		case !tc.overflow && (err != nil || got != tc.want):
			t.Errorf("%s(%d, %d) = %d, %v; want %d", tc.op.name, tc.a, tc.b, got, err, tc.want)
		}
	}
}

func TestMulDivUp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b, d  int64
		want     int64
		overflow bool
	}{
		{100, 60, 60, 100, false},
		{100, 1, 60, 2, false}, // 1.67 → 2: never undercharge
		{1, 1, 60, 1, false},
		{0, 3600, 60, 0, false},
		{60, 1, 60, 1, false},
		{math.MaxInt64, 60, 60, math.MaxInt64, false}, // the product needs 128 bits, the result does not
		{math.MaxInt64, 61, 60, 0, true},
		{math.MaxInt64, math.MaxInt64, 1, 0, true},
		{10_000_000_000, 604_800, 60, 100_800_000_000_000, false},
		{-1, 1, 60, 0, true},
		{1, -1, 60, 0, true},
		{1, 1, 0, 0, true},
		{1, 1, -60, 0, true},
	} {
		got, err := MulDivUp(tc.a, tc.b, tc.d)
		switch {
		case tc.overflow && !errors.Is(err, ErrOverflow):
			t.Errorf("MulDivUp(%d, %d, %d) = %d, %v; want ErrOverflow", tc.a, tc.b, tc.d, got, err)
		case !tc.overflow && (err != nil || got != tc.want):
			t.Errorf("MulDivUp(%d, %d, %d) = %d, %v; want %d", tc.a, tc.b, tc.d, got, err, tc.want)
		}
	}
}

func TestPercent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		part, whole int64
		want        int
	}{
		{25, 100, 25},
		{1, 3, 33},
		{99, 100, 99},
		{100, 100, 100},
		{250, 100, 100},
		{-5, 100, 0},
		{5, 0, 0},
		{5, -100, 0},
		{math.MaxInt64 / 2, math.MaxInt64, 49}, // part·100 would wrap in 64 bits
		{math.MaxInt64 - 1, math.MaxInt64, 99},
		{math.MinInt64, math.MaxInt64, 0},
	} {
		if got := Percent(tc.part, tc.whole); got != tc.want {
			t.Errorf("Percent(%d, %d) = %d, want %d", tc.part, tc.whole, got, tc.want)
		}
	}
}

// decimalFmt is Decimal as it was written with fmt, kept as the reference
// for AppendDecimal.
func decimalFmt(v int64, code string) string {
	digits := Digits(code)
	sign := ""
	u := uint64(v)
	if v < 0 {
		sign, u = "-", uint64(-v)
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

// FuzzAppendDecimalMatchesFmt holds AppendDecimal (and Decimal, written
// with it) to the fmt-based reference, for any amount and currency code.
//
//	go test ./store/money -run '^$' -fuzz FuzzAppendDecimalMatchesFmt -fuzztime 30s
func FuzzAppendDecimalMatchesFmt(f *testing.F) {
	for _, code := range []string{"USD", "JPY", "BHD", "EUR", "CLF", "", "xyz"} {
		for _, v := range []int64{0, 1, 10, 125, 1000, 9999, 10000, 125000, -350, math.MaxInt64, math.MinInt64, -1} {
			f.Add(v, code)
		}
	}
	f.Fuzz(func(t *testing.T, v int64, code string) {
		want := decimalFmt(v, code)
		if got := string(AppendDecimal([]byte("x"), v, code)); got != "x"+want {
			t.Fatalf("AppendDecimal(%d, %q) = %q, want x%q", v, code, got, want)
		}
		if got := Decimal(v, code); got != want {
			t.Fatalf("Decimal(%d, %q) = %q, want %q", v, code, got, want)
		}
	})
}
