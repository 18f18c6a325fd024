package calls

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"portico/store"
)

func TestBillable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ d, first, next, want int }{
		{0, 60, 60, 0}, {1, 60, 60, 60}, {60, 60, 60, 60}, {61, 60, 60, 120}, {121, 60, 60, 180},
		{0, 1, 1, 0}, {1, 1, 1, 1}, {59, 1, 1, 59}, {3601, 1, 1, 3601},
		{1, 30, 6, 30}, {30, 30, 6, 30}, {31, 30, 6, 36}, {36, 30, 6, 36}, {37, 30, 6, 42},
		{5, 60, 1, 60}, {61, 60, 1, 61}, {-3, 60, 60, 0},
	} {
		if got := Billable(tc.d, tc.first, tc.next); got != tc.want {
			t.Errorf("Billable(%d, %d/%d) = %d, want %d", tc.d, tc.first, tc.next, got, tc.want)
		}
	}
}

func TestCostRoundsUpAndNeverOverflows(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rate     int64
		billable int
		want     int64
	}{
		{100, 60, 100}, // 0.01/min for a minute
		{100, 1, 2},    // 1.67 units → 2: never undercharge
		{100, 30, 50},  // half a minute
		{1, 1, 1},      // 1/60 of a unit → 1
		{60, 1, 1},     // exactly 1
		{61, 1, 2},     // just over 1
		{0, 3600, 0},   // free
		{125, 36, 75},  // 0.0125/min, 36 s
		{MaxRatePerMinute, 7 * 24 * 3600, MaxRatePerMinute * 7 * 24 * 3600 / 60},
	} {
		got, err := Cost(tc.rate, tc.billable)
		if err != nil || got != tc.want {
			t.Errorf("Cost(%d, %d) = %d, %v; want %d", tc.rate, tc.billable, got, err, tc.want)
		}
	}
	if _, err := Cost(math.MaxInt64, math.MaxInt32); !errors.Is(err, ErrOverflow) {
		t.Errorf("overflow: %v", err)
	}
	if _, err := Cost(-1, 1); !errors.Is(err, ErrOverflow) {
		t.Errorf("negative rate: %v", err)
	}
}

func TestMaxAffordable(t *testing.T) {
	t.Parallel()
	r6060 := &store.Rate{RatePerMinute: 600, First: 60, Next: 60} // 10 units a second
	r11 := &store.Rate{RatePerMinute: 600, First: 1, Next: 1}
	r306 := &store.Rate{RatePerMinute: 600, First: 30, Next: 6}
	free := &store.Rate{RatePerMinute: 0, First: 60, Next: 60}
	for _, tc := range []struct {
		name      string
		rate      *store.Rate
		available int64
		cap       int
		duration  int
		cost      int64
		ok        bool
	}{
		{"one minute of 60/60", r6060, 1000, 14400, 60, 600, true},
		{"not a whole first increment", r6060, 599, 14400, 0, 0, false},
		{"exactly one increment", r6060, 600, 14400, 60, 600, true},
		{"per second", r11, 1000, 14400, 100, 1000, true},
		{"30/6", r306, 1000, 14400, 96, 960, true},
		{"capped by the maximum call length", r11, 1_000_000_000, 14400, 14400, 144000, true},
		{"free destination still needs credit", free, 0, 14400, 0, 0, false},
		{"free destination", free, 1, 14400, 14400, 0, true},
		{"negative wallet", r11, -5, 14400, 0, 0, false},
		{"huge credit does not overflow", r11, math.MaxInt64, 14400, 14400, 144000, true},
	} {
		d, cost, ok := MaxAffordable(tc.rate, tc.available, tc.cap)
		if d != tc.duration || cost != tc.cost || ok != tc.ok {
			t.Errorf("%s: got %d s, %d, %v; want %d s, %d, %v", tc.name, d, cost, ok, tc.duration, tc.cost, tc.ok)
		}
	}
	// Property: the duration is affordable, and one more increment is not
	// (unless the cap stopped it).
	rng := rand.New(rand.NewPCG(1, 2))
	incs := [][2]int{{60, 60}, {1, 1}, {30, 6}, {6, 6}, {60, 1}}
	for range 20000 {
		inc := incs[rng.IntN(len(incs))]
		r := &store.Rate{RatePerMinute: rng.Int64N(50000), First: inc[0], Next: inc[1]}
		available := rng.Int64N(200000) - 1000
		capS := 1 + rng.IntN(20000)
		d, cost, ok := MaxAffordable(r, available, capS)
		if !ok {
			if _, c, _ := CallCost(r, 1); available > 0 && c <= available && capS > 0 {
				t.Fatalf("refused %+v with %d available (first increment costs %d)", r, available, c)
			}
			continue
		}
		_, check, _ := CallCost(r, d)
		if check != cost || cost > available || d > capS {
			t.Fatalf("%+v avail %d cap %d: %d s costs %d (reported %d)", r, available, capS, d, check, cost)
		}
		if d < capS {
			if _, next, _ := CallCost(r, d+1); next <= available {
				t.Fatalf("%+v avail %d: %d s affordable but %d s too (%d)", r, available, d, d+1, next)
			}
		}
	}
}

func testDeck() *Deck {
	return Compile(&store.RateDeck{Info: store.RateDeckInfo{Version: 7}, Rates: []store.Rate{
		{Prefix: "1", Description: "USA", RatePerMinute: 100, First: 60, Next: 60},
		{Prefix: "1415", Description: "San Francisco", RatePerMinute: 90, First: 1, Next: 1},
		{Prefix: "14155", Description: "SF mobile", RatePerMinute: 80, First: 30, Next: 6},
		{Prefix: "1900", Description: "USA premium", RatePerMinute: 50000, First: 60, Next: 60, Premium: true},
		{Prefix: "44", Description: "UK", RatePerMinute: 200, First: 60, Next: 60},
		{Prefix: "447", Description: "UK mobile", RatePerMinute: 900, First: 60, Next: 1},
	}})
}

func TestLongestPrefix(t *testing.T) {
	t.Parallel()
	d := testDeck()
	for number, want := range map[string]string{
		"+14155550100": "14155", "+14150000000": "1415", "14165550100": "1", "+19005550100": "1900",
		"+447911123456": "447", "+442071234567": "44", "+4": "", "+33123456789": "", "+1": "1", "": "",
	} {
		r, ok := d.Lookup(number)
		switch {
		case want == "" && ok:
			t.Errorf("%s matched %s, want none", number, r.Prefix)
		case want != "" && (!ok || r.Prefix != want):
			t.Errorf("%s: got %v, want %s", number, r, want)
		}
	}
	if r, _ := d.Lookup("+19005550100"); !r.Premium {
		t.Error("premium flag lost")
	}
	page, more := d.Rates("14", "", 2)
	if len(page) != 2 || page[0].Prefix != "1415" || page[1].Prefix != "14155" || more {
		t.Errorf("prefix 14: %+v %v", page, more)
	}
	page, more = d.Rates("", "1415", 2)
	if len(page) != 2 || page[0].Prefix != "14155" || !more {
		t.Errorf("after 1415: %+v %v", page, more)
	}
}

func TestParseRates(t *testing.T) {
	t.Parallel()
	good := "\xef\xbb\xbfPrefix,Description,Rate_Per_Minute,Increment,Premium\n" +
		"44,UK,0.02,60/60,no\n+1,\"USA, all\",0.0100,1/1,\n1900,Premium,5,60/60,yes\n\n447,UK mobile,0.09,30/6,0\n"
	rates, err := ParseRates([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Rate{
		{Prefix: "1", Description: "USA, all", RatePerMinute: 100, First: 1, Next: 1},
		{Prefix: "1900", Description: "Premium", RatePerMinute: 50000, First: 60, Next: 60, Premium: true},
		{Prefix: "44", Description: "UK", RatePerMinute: 200, First: 60, Next: 60},
		{Prefix: "447", Description: "UK mobile", RatePerMinute: 900, First: 30, Next: 6},
	}
	if len(rates) != len(want) {
		t.Fatalf("rates %+v", rates)
	}
	for i := range want {
		if rates[i] != want[i] {
			t.Errorf("rate %d: %+v, want %+v", i, rates[i], want[i])
		}
	}
	// Export, then import again: the same deck.
	var buf []byte
	w := &sliceWriter{b: &buf}
	if err := WriteRatesCSV(w, rates); err != nil {
		t.Fatal(err)
	}
	again, err := ParseRates(buf)
	if err != nil || len(again) != len(rates) || again[3] != rates[3] || again[0] != rates[0] {
		t.Fatalf("round trip: %v\n%s", err, buf)
	}

	bad := "prefix,description,rate_per_minute,increment\n" +
		"44,UK,0.02,60/60\n" + // line 2 fine
		"x44,Bad,0.02,60/60\n" + // 3 prefix
		"45,Denmark,-1,60/60\n" + // 4 rate
		"46,Sweden,0.01,60\n" + // 5 increment
		"44,UK again,0.03,1/1\n" + // 6 duplicate
		"47,Norway,0.01\n" + // 7 field count
		"0044,Zero,0.01,1/1\n" + // 8 leading zero
		"48,Poland,0.123456,0/1\n" // 9 rate decimals and increment
	_, err = ParseRates([]byte(bad))
	var errs RateErrors
	if !errors.As(err, &errs) {
		t.Fatalf("bad file: %v", err)
	}
	got := map[int]string{}
	for _, e := range errs {
		got[e.Line] += e.Field + ";"
	}
	wantErrs := map[int]string{3: "prefix;", 4: "rate_per_minute;", 5: "increment;", 6: "prefix;", 7: "line;", 8: "prefix;", 9: "rate_per_minute;increment;"}
	if len(got) != len(wantErrs) {
		t.Errorf("errors %+v", errs)
	}
	for line, fields := range wantErrs {
		if got[line] != fields {
			t.Errorf("line %d: %q, want %q (%+v)", line, got[line], fields, errs)
		}
	}
	for name, data := range map[string]string{
		"empty": "", "wrong header": "a,b,c,d\n44,UK,0.02,60/60\n", "no rates": "prefix,description,rate_per_minute,increment\n",
		"not utf-8": "prefix,description,rate_per_minute,increment\n44,\xff,1,1/1\n",
	} {
		if _, err := ParseRates([]byte(data)); !errors.As(err, &errs) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

type sliceWriter struct{ b *[]byte }

func (w *sliceWriter) Write(p []byte) (int, error) { *w.b = append(*w.b, p...); return len(p), nil }

func TestNormalizeNumber(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, region, want string }{
		{"+14155550100", "", "+14155550100"},
		{" +1 (415) 555-0100 ", "", "+14155550100"},
		{"(415) 555-0100", "US", "+14155550100"},
		{"020 7946 0958", "GB", "+442079460958"},
		{"0044 20 7946 0958", "", "+442079460958"},
		{"00442079460958", "GB", "+442079460958"},
		{"4155550100", "", ""},
		{"+0123", "", ""},
		{"hello", "US", ""},
		{"+1", "", ""},
	} {
		got, err := NormalizeNumber(tc.in, tc.region)
		if (tc.want == "") != (err != nil) || got != tc.want {
			t.Errorf("NormalizeNumber(%q, %q) = %q, %v; want %q", tc.in, tc.region, got, err, tc.want)
		}
	}
	if _, err := NormalizeBlockedNumber("+1 555 0100", ""); err == nil {
		t.Error("an invalid number was accepted for blocking")
	}
	if got, _ := callerNumber("Anonymous", "US"); got != store.Anonymous {
		t.Errorf("withheld caller: %q", got)
	}
}
