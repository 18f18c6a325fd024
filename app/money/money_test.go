package money

import (
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
