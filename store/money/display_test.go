package money

import (
	"math"
	"testing"
)

func TestDisplayText(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		d    Display
		v    int64
		code string
		want string
	}{
		{"people: currency digits", Display{}, 125000, "USD", "12.50"},
		{"people: half to even, down", Display{}, 250, "USD", "0.02"},
		{"people: half to even, up", Display{}, 350, "USD", "0.04"},
		{"people: below half", Display{}, 385, "USD", "0.04"},
		{"people: negative, symmetric", Display{}, -460080, "USD", "-46.01"},
		{"people: thousands grouped", Display{}, 12345678_0000, "EUR", "12,345,678.00"},
		{"people: no decimals in yen", Display{}, 15000, "JPY", "2"},
		{"people: three decimals in dinar", Display{}, 1_2345, "BHD", "1.234"},
		{"people: zero", Display{}, 0, "USD", "0.00"},
		{"people: a million", Display{}, 1_000_000_0000, "USD", "1,000,000.00"},
		{"csv: plain", Display{Plain: true}, 12345678_0000, "EUR", "12345678.00"},
		{"exact: all four places", Display{Exact: true}, 385, "USD", "0.0385"},
		{"exact: a whole amount keeps four", Display{Exact: true}, 1000, "USD", "0.1000"},
		{"exact: column of three", Display{Exact: true, Places: 3}, 250, "USD", "0.025"},
		{"exact: never below the currency's digits", Display{Exact: true, Places: 1}, 1000, "USD", "0.10"},
		{"exact: never hides a digit", Display{Exact: true, Places: 2}, 385, "USD", "0.0385"},
		{"exact: yen keeps its fraction", Display{Exact: true, Places: 0}, 15000, "JPY", "1.5000"},
		{"exact: negative", Display{Exact: true}, -460080, "USD", "-46.0080"},
		{"exact plain", Display{Exact: true, Plain: true}, 12345_6789, "USD", "12345.6789"},
		{"exact: the smallest amount", Display{Exact: true}, math.MinInt64, "USD", "-922,337,203,685,477.5808"},
	}
	for _, c := range cases {
		if got := c.d.Text(c.v, c.code); got != c.want {
			t.Errorf("%s: %+v.Text(%d, %s) = %q, want %q", c.name, c.d, c.v, c.code, got, c.want)
		}
	}
}

// TestExactPlaces: a column of costs shows as few decimals as show every
// cost exactly, and never fewer than the currency's.
func TestExactPlaces(t *testing.T) {
	t.Parallel()
	cases := []struct {
		code string
		vs   []int64
		want int
	}{
		{"USD", nil, 2},
		{"USD", []int64{1000, 400, 0}, 2},        // 0.10, 0.04, 0.00
		{"USD", []int64{250, 400, 385, 1000}, 4}, // 0.025, 0.04, 0.0385, 0.10 → 0.0250 0.0400 0.0385 0.1000
		{"USD", []int64{250, 400, 1000}, 3},      // 0.025 0.040 0.100
		{"USD", []int64{-250, 10000}, 3},         // signs do not matter
		{"JPY", []int64{10000, 20000}, 0},        // 1, 2
		{"JPY", []int64{15000}, 1},               // 1.5
		{"BHD", []int64{10000}, 3},               // 1.000
		{"USD", []int64{math.MinInt64, math.MaxInt64}, 4},
	}
	for _, c := range cases {
		if got := ExactPlaces(c.code, c.vs...); got != c.want {
			t.Errorf("ExactPlaces(%s, %v) = %d, want %d", c.code, c.vs, got, c.want)
		}
	}
	// a column written with its places lines up: every value has them
	col := []int64{250, 400, 385, 1000}
	d := Display{Exact: true, Places: ExactPlaces("USD", col...)}
	for _, v := range col {
		if got := d.Text(v, "USD"); len(got) != len("0.0385") {
			t.Errorf("column value %d = %q, want 4 places", v, got)
		}
	}
}
