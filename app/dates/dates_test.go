package dates

import (
	"testing"
	"time"
)

func TestFormats(t *testing.T) {
	t.Parallel()
	berlin := time.FixedZone("CET", 3600)
	cases := []struct {
		name string
		got  string
		want string
	}{
		{"day", Day(time.Date(2027, 3, 4, 9, 30, 0, 0, time.UTC)), "4 Mar 2027"},
		{"day: two digits", Day(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)), "22 Nov 2026"},
		{"day: in UTC whatever the zone", Day(time.Date(2027, 3, 5, 0, 30, 0, 0, berlin)), "4 Mar 2027"},
		{"day and time", DayTime(time.Date(2026, 11, 2, 14, 5, 59, 0, time.UTC)), "2 Nov 2026, 14:05 UTC"},
		{"day and time: converted to UTC", DayTime(time.Date(2026, 11, 2, 0, 5, 0, 0, berlin)), "1 Nov 2026, 23:05 UTC"},
		{"clock", Clock(time.Date(2026, 11, 2, 9, 5, 59, 0, berlin)), "08:05"},
		{"month", Month(time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)), "November 2026"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestParseDay(t *testing.T) {
	t.Parallel()
	want := time.Date(2027, 3, 4, 0, 0, 0, 0, time.UTC)
	for _, in := range []string{"4 Mar 2027", "4 March 2027", "04 mar 2027", " 4  MAR 2027 ", "2027-03-04", Day(want)} {
		got, err := ParseDay(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseDay(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if got, err := ParseDay(""); err != nil || !got.IsZero() {
		t.Errorf("ParseDay(\"\") = %v, %v; want the zero time", got, err)
	}
	for _, bad := range []string{"03/04/2027", "4 Mrz 2027", "31 Feb 2027", "2027-3-4", "yesterday", "4 Mar", "Mar"} {
		if got, err := ParseDay(bad); err == nil {
			t.Errorf("ParseDay(%q) = %v, want an error", bad, got)
		}
	}
}
