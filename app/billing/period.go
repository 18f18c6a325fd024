package billing

import (
	"fmt"
	"time"
)

// Period is one billing period: a calendar month in the reseller's time
// zone, [Start, End).
type Period struct {
	Name       string // "2026-12"
	Start, End time.Time
}

// PeriodOf is the period that contains t in loc.
func PeriodOf(t time.Time, loc *time.Location) Period {
	y, m, _ := t.In(loc).Date()
	return periodFrom(y, m, loc)
}

func periodFrom(y int, m time.Month, loc *time.Location) Period {
	start := time.Date(y, m, 1, 0, 0, 0, 0, loc)
	return Period{Name: start.Format("2006-01"), Start: start, End: start.AddDate(0, 1, 0)}
}

// ParsePeriod reads "YYYY-MM" as a period of loc.
func ParsePeriod(name string, loc *time.Location) (Period, error) {
	t, err := time.Parse("2006-01", name)
	if err != nil || t.Year() < 2000 || t.Year() > 9999 {
		return Period{}, fmt.Errorf("billing: period %q is not YYYY-MM", name)
	}
	return periodFrom(t.Year(), t.Month(), loc), nil
}

// Next is the period after p.
func (p Period) Next() Period {
	y, m, _ := p.Start.Date()
	return periodFrom(y, m+1, p.Start.Location())
}

// Days is the number of days of the period (28 to 31).
func (p Period) Days() int {
	y, m, _ := p.Start.Date()
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// DaysFrom is how many days of p remain from the day of t on, that day
// included (p.Days() for a t before the period, 0 for one after it).
// Days are counted by calendar date in the period's zone, so a 23- or
// 25-hour day at a daylight-saving change is one day.
func (p Period) DaysFrom(t time.Time) int {
	if !t.After(p.Start) {
		return p.Days()
	}
	if !t.Before(p.End) {
		return 0
	}
	return p.Days() - t.In(p.Start.Location()).Day() + 1
}

// Begun reports whether the period has begun at now.
func (p Period) Begun(now time.Time) bool { return !now.Before(p.Start) }
