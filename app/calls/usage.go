package calls

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"portico/app/fault"
	"portico/store"
	"portico/store/money"
)

// Totals are a period's calls, from the daily usage records.
type Totals struct {
	Calls      int64
	CallsIn    int64
	CallsOut   int64
	SecondsIn  int64
	SecondsOut int64
	Answered   int64
	// Qualified is the calls of at least the client's threshold.
	Qualified int64
	// Cost is the period's spend (minor units).
	Cost int64
}

// Minutes rounds seconds to whole minutes, half up (for any int64: it
// never adds before dividing).
func Minutes(seconds int64) int64 {
	m, r := seconds/60, seconds%60
	switch {
	case r >= 30:
		m++
	case r <= -30:
		m--
	}
	return m
}

// add counts a day into the totals; money.ErrOverflow when a sum would
// not fit (only a corrupt store has such figures: verify reports them).
func (t *Totals) add(u *store.DayUsage, threshold int) error {
	var err error
	for _, f := range [...]struct {
		dst *int64
		v   int64
	}{
		{&t.CallsIn, u.CallsIn}, {&t.CallsOut, u.CallsOut}, {&t.SecondsIn, u.SecondsIn}, {&t.SecondsOut, u.SecondsOut},
		{&t.Answered, u.Answered}, {&t.Cost, u.Cost},
	} {
		if *f.dst, err = money.Add(*f.dst, f.v); err != nil {
			return fmt.Errorf("calls: usage of %s: %w", u.Day.Format(time.DateOnly), err)
		}
	}
	if t.Calls, err = money.Add(t.CallsIn, t.CallsOut); err != nil {
		return fmt.Errorf("calls: usage of %s: %w", u.Day.Format(time.DateOnly), err)
	}
	if u.Hist != nil {
		if t.Qualified, err = money.Add(t.Qualified, u.Hist.AtLeast(threshold)); err != nil {
			return fmt.Errorf("calls: usage of %s: %w", u.Day.Format(time.DateOnly), err)
		}
	}
	return nil
}

// MonthUsage is GET /usage: one calendar month (UTC) of a client.
type MonthUsage struct {
	Month      time.Time // first day, UTC
	ThresholdS int
	Totals
}

// Usage sums the client's calls in the month that contains month (UTC),
// reading at most 31 day records.
func (s *Service) Usage(rid, cid uint64, month time.Time) (*MonthUsage, error) {
	first := time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, time.UTC)
	out := &MonthUsage{Month: first}
	err := s.store.View(func(tx *store.Tx) error {
		c, err := tx.Client(rid, cid) // tenant scope
		if err != nil {
			return err
		}
		out.ThresholdS = c.QualifiedThreshold()
		days, err := tx.UsageDays(rid, cid, first, first.AddDate(0, 1, -1), true)
		if err != nil {
			return err
		}
		for i := range days {
			if err := out.add(&days[i], out.ThresholdS); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, noClient(err)
	}
	return out, nil
}

// DayPoint is one bar of the 30-day chart.
type DayPoint struct {
	Day        time.Time
	Calls      int64
	CallsIn    int64
	CallsOut   int64
	SecondsIn  int64
	SecondsOut int64
}

// MonthPoint is one bar of the 12-month chart.
type MonthPoint struct {
	Month      time.Time
	Calls      int64
	SecondsIn  int64
	SecondsOut int64
	Cost       int64
}

// add counts a day into the month's bar; money.ErrOverflow when a sum
// would not fit.
func (p *MonthPoint) add(u *store.DayUsage) error {
	calls, err := money.Add(u.CallsIn, u.CallsOut)
	if err == nil {
		p.Calls, err = money.Add(p.Calls, calls)
	}
	if err == nil {
		p.SecondsIn, err = money.Add(p.SecondsIn, u.SecondsIn)
	}
	if err == nil {
		p.SecondsOut, err = money.Add(p.SecondsOut, u.SecondsOut)
	}
	if err == nil {
		p.Cost, err = money.Add(p.Cost, u.Cost)
	}
	if err != nil {
		return fmt.Errorf("calls: usage of %s: %w", u.Day.Format(time.DateOnly), err)
	}
	return nil
}

// Dashboard is everything the client's dashboard shows, from the daily
// usage records only (never the CDRs), so its cost does not grow with
// the number of calls.
type Dashboard struct {
	Client *store.Client
	Credit store.Credit
	// ThresholdS is the qualified-call threshold the figures use.
	ThresholdS int
	Today      Totals
	Month      Totals       // the current calendar month (UTC)
	Days       []DayPoint   // the last 30 days, oldest first, today last
	Months     []MonthPoint // the last 12 months, oldest first, this month last
}

// Dashboard reads the client's dashboard figures at now (UTC dates).
func (s *Service) Dashboard(rid, cid uint64, now time.Time) (*Dashboard, error) {
	now = now.UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	monthStart := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	yearStart := monthStart.AddDate(0, -11, 0)
	daysStart := today.AddDate(0, 0, -29)
	d := &Dashboard{Days: make([]DayPoint, 30), Months: make([]MonthPoint, 12)}
	for i := range d.Days {
		d.Days[i].Day = daysStart.AddDate(0, 0, i)
	}
	for i := range d.Months {
		d.Months[i].Month = yearStart.AddDate(0, i, 0)
	}
	err := s.store.View(func(tx *store.Tx) error {
		c, err := tx.Client(rid, cid) // tenant scope
		if err != nil {
			return err
		}
		d.Client, d.Credit, d.ThresholdS = c, tx.Credit(c), c.QualifiedThreshold()
		recent, err := tx.UsageDays(rid, cid, earlier(monthStart, daysStart), today, true)
		if err != nil {
			return err
		}
		for i := range recent {
			u := &recent[i]
			if !u.Day.Before(monthStart) {
				if err := d.Month.add(u, d.ThresholdS); err != nil {
					return err
				}
			}
			if u.Day.Equal(today) {
				if err := d.Today.add(u, d.ThresholdS); err != nil {
					return err
				}
			}
			if n := int(u.Day.Sub(daysStart).Hours() / 24); n >= 0 && n < 30 {
				p := &d.Days[n]
				p.Calls, p.CallsIn, p.CallsOut, p.SecondsIn, p.SecondsOut = u.Calls(), u.CallsIn, u.CallsOut, u.SecondsIn, u.SecondsOut
			}
		}
		year, err := tx.UsageDays(rid, cid, yearStart, today, false)
		if err != nil {
			return err
		}
		for i := range year {
			u := &year[i]
			n := (u.Day.Year()-yearStart.Year())*12 + int(u.Day.Month()) - int(yearStart.Month())
			if n >= 0 && n < 12 {
				if err := d.Months[n].add(u); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, noClient(err)
	}
	return d, nil
}

// earlier is the earlier of two times.
func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// CallRow is one CDR as the call log shows it.
type CallRow struct {
	*store.CDR
	// Qualified: the call lasted at least the client's threshold.
	Qualified bool
	// Package names the included calling package that covered the call
	// ("" when none did).
	Package string
}

// CallLogQuery filters the call log; zero fields do not filter.
type CallLogQuery struct {
	// From and To bound the start time: From ≤ started < To.
	From, To time.Time
	// Direction is inbound or outbound; Disposition one of
	// store.Dispositions.
	Direction, Disposition string
	// Number matches calls from or to a number containing these digits.
	Number string
	// Cursor is the Next of the previous page.
	Cursor string
	Limit  int
	// Ascending lists oldest first (the API); the call log is newest first.
	Ascending bool
}

// CallLogPage is a page of the call log; Next is "" on the last page.
type CallLogPage struct {
	Rows       []CallRow
	Next       string
	ThresholdS int
}

// callLogMaxScan bounds the CDRs one page may look at when a filter
// matches few (the page then comes back short, with Next to go on).
const callLogMaxScan = 50_000

// CallLog lists the client's CDRs a page at a time, newest first unless
// Ascending, with the qualified flag worked out from the current
// threshold. A cursor from another client or query shape is ErrCursor.
func (s *Service) CallLog(rid, cid uint64, q CallLogQuery) (*CallLogPage, error) {
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, q.Number)
	var match func(*store.CDR) bool
	if q.Direction != "" || q.Disposition != "" || digits != "" {
		match = func(c *store.CDR) bool {
			return (q.Direction == "" || c.Direction == q.Direction) && (q.Disposition == "" || c.Disposition == q.Disposition) &&
				(digits == "" || strings.Contains(c.From, digits) || strings.Contains(c.To, digits))
		}
	}
	out := &CallLogPage{}
	err := s.store.View(func(tx *store.Tx) error {
		c, err := tx.Client(rid, cid) // tenant scope
		if err != nil {
			return err
		}
		out.ThresholdS = c.QualifiedThreshold()
		page, err := tx.CDRs(rid, cid, store.CDRQuery{Since: q.From, Until: q.To, Desc: !q.Ascending, After: q.Cursor,
			Limit: q.Limit, Match: match, MaxScan: callLogMaxScan})
		if err != nil {
			return err
		}
		out.Next = page.Next
		out.Rows = make([]CallRow, len(page.CDRs))
		var names map[uint64]string
		for i, cdr := range page.CDRs {
			out.Rows[i] = CallRow{CDR: cdr, Qualified: cdr.DurationS >= out.ThresholdS}
			if cdr.PackageID != 0 {
				if names == nil {
					names = map[uint64]string{}
				}
				out.Rows[i].Package = packageName(tx, rid, cdr.PackageID, names)
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrInvalid) {
		return nil, ErrCursor
	}
	if err != nil {
		return nil, noClient(err)
	}
	return out, nil
}

// packageName is the name of one of the reseller's packages, remembered
// in names; a package no longer in the catalogue is named by its id.
func packageName(tx *store.Tx, rid, id uint64, names map[uint64]string) string {
	if name, ok := names[id]; ok {
		return name
	}
	name := fmt.Sprintf("Package %d", id)
	if p, err := store.Catalog[*store.CallingPackage](tx, rid, id); err == nil {
		name = p.Name
	}
	names[id] = name
	return name
}

// ErrCursor refuses a page cursor that was not given out for this list
// (another client's, another query's, or made up). Every list of the API
// refuses a bad cursor in these words.
var ErrCursor = fault.New(fault.BadRequest, "The cursor is not one this API gave out; start again without it.")
