package billing

import (
	"testing"
	"time"

	"portico/store"
	"portico/store/money"
)

const u = money.Unit

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestPeriodDays: periods are calendar months of the reseller's zone; the
// days left count the day of the change, whatever the zone's offset.
func TestPeriodDays(t *testing.T) {
	ny, tokyo := mustLoc(t, "America/New_York"), mustLoc(t, "Asia/Tokyo")
	for _, tc := range []struct {
		name       string
		at         time.Time
		loc        *time.Location
		period     string
		days, left int
	}{
		{"first day", time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), time.UTC, "2026-03", 31, 31},
		{"mid month", time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC), time.UTC, "2026-03", 31, 17},
		{"last day", time.Date(2026, 3, 31, 23, 0, 0, 0, time.UTC), time.UTC, "2026-03", 31, 1},
		{"leap February", time.Date(2028, 2, 15, 0, 0, 0, 0, time.UTC), time.UTC, "2028-02", 29, 15},
		{"plain February", time.Date(2027, 2, 15, 0, 0, 0, 0, time.UTC), time.UTC, "2027-02", 28, 14},
		// 1 April 03:00 UTC is still 31 March in New York
		{"west of UTC", time.Date(2026, 4, 1, 3, 0, 0, 0, time.UTC), ny, "2026-03", 31, 1},
		// 31 March 20:00 UTC is already 1 April in Tokyo
		{"east of UTC", time.Date(2026, 3, 31, 20, 0, 0, 0, time.UTC), tokyo, "2026-04", 30, 30},
		// the day of the DST change (8 March 2026 in New York) is one day
		{"DST change day", time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC), ny, "2026-03", 31, 24},
	} {
		p := PeriodOf(tc.at, tc.loc)
		if p.Name != tc.period || p.Days() != tc.days || p.DaysFrom(tc.at) != tc.left {
			t.Errorf("%s: period %s of %d days, %d left; want %s, %d, %d", tc.name, p.Name, p.Days(), p.DaysFrom(tc.at), tc.period, tc.days, tc.left)
		}
	}
	if p := PeriodOf(time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC), time.UTC).Next(); p.Name != "2027-01" {
		t.Errorf("next of December: %s", p.Name)
	}
}

// TestProrationLines: an upgrade credits the unused days of the old plan
// and charges the new one for the same days; added seats are charged for
// the days left; amounts round half-to-even to cents.
func TestProrationLines(t *testing.T) {
	basic := &store.Plan{ID: 1, Name: "Basic", MonthlyFee: 10 * u, IncludedSeats: 2, SeatFee: 5 * u}
	pro := &store.Plan{ID: 2, Name: "Pro", MonthlyFee: 31 * u, IncludedSeats: 5, SeatFee: 4 * u}
	march := PeriodOf(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.UTC)
	feb28 := PeriodOf(time.Date(2028, 2, 1, 0, 0, 0, 0, time.UTC), time.UTC)
	for _, tc := range []struct {
		name     string
		old, new Config
		p        Period
		day      int
		want     []int64 // line amounts
	}{
		{"upgrade on day 1", Config{Plan: basic, Seats: 2}, Config{Plan: pro, Seats: 2}, march, 1, []int64{-10 * u, 31 * u}},
		// 17 of 31 days: 10 × 17/31 = 5.4838 → 5.48; 31 × 17/31 = 17
		{"upgrade on day 15", Config{Plan: basic, Seats: 2}, Config{Plan: pro, Seats: 2}, march, 15, []int64{-54800, 17 * u}},
		// 1 of 31: 0.3225 → 0.32; 1.00
		{"upgrade on the last day", Config{Plan: basic, Seats: 2}, Config{Plan: pro, Seats: 2}, march, 31, []int64{-3200, 1 * u}},
		// 2 extra seats × 5.00 × 17/31 = 2 × 2.74
		{"seats added on day 15", Config{Plan: basic, Seats: 3}, Config{Plan: basic, Seats: 5}, march, 15, []int64{2 * 27400}},
		// leap February: 15 of 29 days of 10.00 = 5.1724 → 5.17
		{"upgrade in leap February", Config{Plan: basic, Seats: 1}, Config{Plan: pro, Seats: 1}, feb28, 15, []int64{-51700, 160300}},
		{"nothing changes", Config{Plan: basic, Seats: 2}, Config{Plan: basic, Seats: 2}, march, 10, nil},
	} {
		at := tc.p.Start.AddDate(0, 0, tc.day-1)
		lines, err := changeLines(tc.old, tc.new, tc.p, tc.p.DaysFrom(at), "USD")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got []int64
		for _, l := range lines {
			if l.Quantity*l.UnitPrice != l.Amount {
				t.Errorf("%s: line %q: %d × %d ≠ %d", tc.name, l.Description, l.Quantity, l.UnitPrice, l.Amount)
			}
			got = append(got, l.Amount)
		}
		if len(got) != len(tc.want) {
			t.Fatalf("%s: lines %v, want %v (%+v)", tc.name, got, tc.want, lines)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: line %d = %d, want %d (%s)", tc.name, i, got[i], tc.want[i], lines[i].Description)
			}
		}
	}
}

// TestTaxFor: domestic rate, a default rate, the EU reverse charge only
// for a business buyer (VAT number) in another EU country, and a buyer
// outside the EU.
func TestTaxFor(t *testing.T) {
	seller := store.SellerDetails{Country: "DE", TaxRates: map[string]int{"DE": 1900, "FR": 2000, "*": 0}}
	for _, tc := range []struct {
		name  string
		buyer store.BillingDetails
		rate  int
		note  bool
	}{
		{"domestic", store.BillingDetails{Country: "DE", VATNumber: "DE123456789"}, 1900, false},
		{"EU business: reverse charge", store.BillingDetails{Country: "FR", VATNumber: "FR12345678901"}, 0, true},
		{"EU consumer: no VAT number", store.BillingDetails{Country: "FR"}, 2000, false},
		{"outside the EU", store.BillingDetails{Country: "US", VATNumber: "X"}, 0, false},
		{"no country: taxed as domestic", store.BillingDetails{}, 1900, false},
	} {
		got := TaxFor(seller, tc.buyer)
		if got.Rate != tc.rate || (got.Note != "") != tc.note {
			t.Errorf("%s: %+v, want rate %d, note %v", tc.name, got, tc.rate, tc.note)
		}
	}
	// a seller outside the EU never reverse-charges
	if got := TaxFor(store.SellerDetails{Country: "GB", TaxRates: map[string]int{"*": 2000}}, store.BillingDetails{Country: "FR", VATNumber: "FR1"}); got.Rate != 2000 || got.Note != "" {
		t.Errorf("GB seller: %+v", got)
	}
	// 19 % of 10.01 = 1.9019 → 1.90; half-to-even: 0.125 → 0.12
	if v, _ := taxAmount(100100, 1900, "USD"); v != 19000 {
		t.Errorf("tax of 10.01 at 19%%: %d", v)
	}
	if v, _ := taxAmount(12500, 1000, "USD"); v != 1200 {
		t.Errorf("tax of 1.25 at 10%%: %d, want 0.12 (half to even)", v)
	}
	if _, err := mulDivRound(1<<62, 1<<40, 1, "USD"); err != money.ErrOverflow {
		t.Errorf("overflow: %v", err)
	}
}
