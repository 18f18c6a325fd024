// Package dates writes and reads the dates that people see and type. The
// portal speaks English and writes a day one way everywhere, in tables,
// messages and date filters alike: "4 Mar 2027" (day, month name, year),
// which no English-speaking reader takes for another day, as they would
// 03/04/2027. Times of day go with it in 24-hour form and name their zone.
// Machine formats (RFC 3339 in CSV files and the API) are not here. It
// imports nothing of Portico's.
package dates

import (
	"errors"
	"strings"
	"time"
)

// Layouts of the formats, in Go's reference time.
const (
	DayLayout     = "2 Jan 2006"
	DayTimeLayout = "2 Jan 2006, 15:04 MST"
	MonthLayout   = "January 2006"
)

// Example is what a date filter's hint shows people to type.
const Example = "4 Mar 2027"

// Day is the calendar day of t in UTC: "4 Mar 2027".
func Day(t time.Time) string { return t.UTC().Format(DayLayout) }

// DayTime is t to the minute in UTC: "4 Mar 2027, 14:05 UTC".
func DayTime(t time.Time) string { return t.UTC().Format(DayTimeLayout) }

// Clock is t's time of day in UTC, for a column that names the zone in
// its heading: "14:05".
func Clock(t time.Time) string { return t.UTC().Format("15:04") }

// Month is t's month in UTC: "March 2027".
func Month(t time.Time) string { return t.UTC().Format(MonthLayout) }

// ErrDay is ParseDay's refusal.
var ErrDay = errors.New("dates: not a day such as " + Example)

// ParseDay reads a day as people type it: "4 Mar 2027", "4 March 2027",
// "04 mar 2027", or the ISO form "2027-03-04" that links and older
// bookmarks carry. It is the UTC midnight that starts the day; "" is the
// zero time.
func ParseDay(s string) (time.Time, error) {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	day, rest, _ := strings.Cut(s, " ")
	month, year, _ := strings.Cut(rest, " ")
	for _, layout := range []string{"2 Jan 2006", "2 January 2006"} {
		// Go matches month names case-sensitively: write the name as Go does.
		name := strings.ToUpper(month[:min(1, len(month))]) + strings.ToLower(month[min(1, len(month)):])
		if t, err := time.Parse(layout, day+" "+name+" "+year); err == nil {
			return t, nil
		}
	}
	return time.Time{}, ErrDay
}
