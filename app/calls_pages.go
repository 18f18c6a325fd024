package app

import (
	"bufio"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"portico/app/access"
	"portico/app/calls"
	"portico/app/csvx"
	"portico/app/dates"
	"portico/store"
	"portico/store/money"
)

// Client console pages of the calls module: the dashboard (figures from
// the daily usage aggregates only, never the CDRs), the call log with its
// CSV export, and "Block caller" on an inbound row.

// periodView is one period's figures on the dashboard.
type periodView struct {
	Calls, CallsIn, CallsOut       int64
	Minutes, MinutesIn, MinutesOut int64
	Answered, Qualified            int64
	Spend                          string
}

func periodOf(t calls.Totals, currency string) periodView {
	return periodView{Calls: t.Calls, CallsIn: t.CallsIn, CallsOut: t.CallsOut,
		Minutes: calls.Minutes(t.SecondsIn + t.SecondsOut), MinutesIn: calls.Minutes(t.SecondsIn), MinutesOut: calls.Minutes(t.SecondsOut),
		Answered: t.Answered, Qualified: t.Qualified, Spend: money.Format(t.Cost, currency)}
}

// dashboardData is the Data of views/console/client_home.html.
type dashboardData struct {
	Client      *store.Client
	Meter       Meter
	ThresholdS  int
	Today       periodView
	Month       periodView
	MonthName   string // "November 2026"
	DaysChart   BarChart
	MonthsChart BarChart
	// NoCalls: no call in the last 12 months (a new client): the page
	// explains where the figures will come from.
	NoCalls bool
	// CanCalls and CanThreshold link the call log and the Qualified Calls
	// tab for those who may open them.
	CanCalls, CanThreshold bool
}

// dashboardDayLabelEvery labels every 7th day of the 30-day chart (today
// included), so the labels never overlap.
const dashboardDayLabelEvery = 7

// showClientHome is the client's dashboard: credit meter, calls, minutes,
// qualified calls and spend today and this month, and two charts.
func (a *App) showClientHome(c *fiber.Ctx) error {
	tenant, user := tenantOf(c), userOf(c)
	d, err := a.calls.Dashboard(tenant.ID, user.ClientID, a.now()) // scope: the session's client
	if err != nil {
		return err
	}
	m := a.accessOf(c)
	data := dashboardData{Client: d.Client, Meter: meterOf(tenant, d.Credit), ThresholdS: d.ThresholdS,
		Today: periodOf(d.Today, tenant.Currency), Month: periodOf(d.Month, tenant.Currency),
		MonthName: dates.Month(d.Months[len(d.Months)-1].Month), NoCalls: true,
		CanCalls: m.Allows(access.Calls, access.View), CanThreshold: m.Allows(access.Usage, access.View)}
	for _, p := range d.Months {
		if p.Calls > 0 {
			data.NoCalls = false
		}
	}
	dayLabels := make([]string, len(d.Days))
	out, in := make([]int64, len(d.Days)), make([]int64, len(d.Days))
	for i, p := range d.Days {
		dayLabels[i], out[i], in[i] = p.Day.Format("2 Jan"), p.CallsOut, p.CallsIn
	}
	data.DaysChart = newBarChart("Calls per day, last 30 days", "calls", dayLabels,
		[]ChartSeries{{Name: "Outbound", Values: out}, {Name: "Inbound", Values: in}}, dashboardDayLabelEvery)
	monthLabels := make([]string, len(d.Months))
	out, in = make([]int64, len(d.Months)), make([]int64, len(d.Months))
	for i, p := range d.Months {
		monthLabels[i], out[i], in[i] = p.Month.Format("Jan"), calls.Minutes(p.SecondsOut), calls.Minutes(p.SecondsIn)
	}
	first, last := d.Months[0].Month, d.Months[len(d.Months)-1].Month
	data.MonthsChart = newBarChart("Minutes per month, "+first.Format("Jan 2006")+" – "+last.Format("Jan 2006"), "minutes", monthLabels,
		[]ChartSeries{{Name: "Outbound", Values: out}, {Name: "Inbound", Values: in}}, 1)
	return a.render(c, fiber.StatusOK, "console/client_home", "Dashboard", data)
}

// callLogPageSize is how many calls one page of the call log shows.
const callLogPageSize = 50

// callLogFilters are the call log's filters as typed, kept in the form.
type callLogFilters struct {
	From, To, Direction, Number, Disposition string
}

// values are the filters as query parameters (empty ones left out).
func (f callLogFilters) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"from": f.From, "to": f.To, "direction": f.Direction, "number": f.Number, "disposition": f.Disposition} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// maxNumberFilter is the longest number filter (characters).
const maxNumberFilter = 32

// readCallLogFilters reads the filters of the call log's GET form into a
// query, with a message for each filter that cannot be used.
func readCallLogFilters(c *fiber.Ctx) (callLogFilters, calls.CallLogQuery, map[string]string) {
	f := callLogFilters{From: strings.TrimSpace(c.Query("from")), To: strings.TrimSpace(c.Query("to")),
		Direction: c.Query("direction"), Number: strings.TrimSpace(c.Query("number")), Disposition: c.Query("disposition")}
	errs := map[string]string{}
	var q calls.CallLogQuery
	from, err := parseDay(f.From)
	if err != nil {
		errs["from"] = "Type a day such as " + dates.Example + "."
	}
	to, err := parseDay(f.To)
	if err != nil {
		errs["to"] = "Type a day such as " + dates.Example + "."
	}
	f.From, f.To = dayValue(from, f.From), dayValue(to, f.To)
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		errs["to"] = "The end date is before the start date."
	}
	q.From = from
	if !to.IsZero() {
		q.To = to.AddDate(0, 0, 1) // the end date is included
	}
	switch f.Direction {
	case "", store.Inbound, store.Outbound:
		q.Direction = f.Direction
	default:
		errs["direction"] = "Choose inbound, outbound or both."
	}
	if f.Disposition != "" && !slices.Contains(store.Dispositions, f.Disposition) {
		errs["disposition"] = "Choose a result from the list."
	} else {
		q.Disposition = f.Disposition
	}
	if f.Number != "" {
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, f.Number)
		if digits == "" || len(f.Number) > maxNumberFilter {
			errs["number"] = "Enter some digits of the number, such as 4155550100."
		}
		q.Number = digits
	}
	return f, q, errs
}

// callRowView is one row of the call log.
type callRowView struct {
	calls.CallRow
	Duration string // 1:05, 1:02:03
	Result   string // the disposition for people
	Cost     string
	// Blockable: an inbound call with a caller number the viewer may
	// block; Blocked: that number is blocked already.
	Blockable, Blocked bool
}

// option is one choice of a select.
type option struct{ Value, Label string }

// callLogData is the Data of views/calls/list.html.
type callLogData struct {
	Form       *Form
	Rows       []callRowView
	ThresholdS int
	Currency   string
	CanBlock   bool
	Filtered   bool
	// Paged: this is not the first page.
	Paged                        bool
	NextURL, FirstURL, ExportURL string
	// Back is this page's address, where Block caller returns to.
	Back                     string
	Directions, Dispositions []option
}

var (
	directionOptions   = []option{{"", "Both directions"}, {store.Inbound, "Inbound"}, {store.Outbound, "Outbound"}}
	dispositionOptions = []option{{"", "Any result"}, {store.Answered, "Answered"}, {store.NoAnswer, "No answer"},
		{store.Busy, "Busy"}, {store.Failed, "Failed"}}
)

// dispositionLabel names a disposition for people.
func dispositionLabel(d string) string {
	for _, o := range dispositionOptions {
		if o.Value == d {
			return o.Label
		}
	}
	return d
}

// listCalls is the call log: the client's calls newest first, filtered,
// a page at a time with an opaque cursor.
func (a *App) listCalls(c *fiber.Ctx) error {
	tenant, user := tenantOf(c), userOf(c)
	filters, q, errs := readCallLogFilters(c)
	form := newForm()
	form.Values = map[string]string{"from": filters.From, "to": filters.To, "direction": filters.Direction,
		"number": filters.Number, "disposition": filters.Disposition}
	form.Errors = errs
	v := filters.values()
	data := callLogData{Form: form, Currency: tenant.Currency, Directions: directionOptions, Dispositions: dispositionOptions,
		CanBlock: a.accessOf(c).Allows(access.Settings, access.Edit), Filtered: len(v) > 0,
		FirstURL: "/calls?" + v.Encode(), ExportURL: "/calls.csv?" + v.Encode()}
	data.Back = strings.TrimSuffix(data.FirstURL, "?")
	if form.invalid() {
		form.Error = "Please correct the filters marked below."
		return a.render(c, fiber.StatusBadRequest, "calls/list", "Calls", data)
	}
	q.Cursor, q.Limit = c.Query("cursor"), callLogPageSize
	data.Paged = q.Cursor != ""
	if data.Paged {
		data.Back = "/calls?" + merge(v, "cursor", q.Cursor).Encode()
	}
	page, err := a.calls.CallLog(tenant.ID, user.ClientID, q) // scope: the session's client
	if errors.Is(err, calls.ErrCursor) {
		form.Error = "This page link is out of date or damaged. Start again from the first page."
		return a.render(c, fiber.StatusBadRequest, "calls/list", "Calls", data)
	}
	if err != nil {
		return err
	}
	data.ThresholdS = page.ThresholdS
	if page.Next != "" {
		data.NextURL = "/calls?" + merge(v, "cursor", page.Next).Encode()
	}
	var blocked map[string]bool
	if data.CanBlock {
		if blocked, err = a.blockedSet(tenant.ID, user.ClientID); err != nil {
			return err
		}
	}
	// exact, since a call often costs a fraction of a cent, and with one
	// number of decimals down the column
	costs := make([]int64, len(page.Rows))
	for i, r := range page.Rows {
		costs[i] = r.Cost
	}
	cost := money.Display{Exact: true, Places: money.ExactPlaces(tenant.Currency, costs...)}
	data.Rows = make([]callRowView, len(page.Rows))
	for i, r := range page.Rows {
		row := callRowView{CallRow: r, Duration: formatDuration(r.DurationS), Result: dispositionLabel(r.Disposition), Cost: cost.Text(r.Cost, tenant.Currency)}
		if data.CanBlock && r.Direction == store.Inbound && r.From != store.Anonymous && r.From != "" {
			row.Blocked = blocked[r.From]
			row.Blockable = !row.Blocked
		}
		data.Rows[i] = row
	}
	return a.render(c, fiber.StatusOK, "calls/list", "Calls", data)
}

// merge returns a copy of v with key set to value.
func merge(v url.Values, key, value string) url.Values {
	out := url.Values{}
	for k, s := range v {
		out[k] = s
	}
	out.Set(key, value)
	return out
}

// blockedSet is the client's blocked numbers.
func (a *App) blockedSet(rid, cid uint64) (map[string]bool, error) {
	set := map[string]bool{}
	err := a.store.View(func(tx *store.Tx) error {
		list, err := tx.BlockedCallers(rid, cid)
		for _, b := range list {
			set[b.Number] = true
		}
		return err
	})
	return set, err
}

// formatDuration shows seconds as m:ss, or h:mm:ss from an hour.
func formatDuration(s int) string {
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// csvExact writes per-call amounts in CSV files: every stored decimal, the
// same four in every line, no thousands separators.
var csvExact = money.Display{Exact: true, Plain: true}

// callLogCSVColumns are the columns of the call log's CSV export.
var callLogCSVColumns = []string{"started_at", "direction", "from", "to", "duration_s", "billable_s", "disposition", "qualified",
	"rate_prefix", "rate_per_minute", "cost", "currency", "package", "call_id"}

// exportCalls sends every call the filters select (all pages, newest
// first) as CSV. It streams: a long history is never held in memory.
func (a *App) exportCalls(c *fiber.Ctx) error {
	tenant, user := tenantOf(c), userOf(c)
	_, q, errs := readCallLogFilters(c)
	if len(errs) > 0 {
		return fiber.NewError(fiber.StatusBadRequest, "The filters of this export are not valid; set them again on the call log.")
	}
	rid, cid, currency := tenant.ID, user.ClientID, tenant.Currency // scope: the session's client
	// the first page is read before the reply starts, so that a failure
	// is still an error page rather than a cut-off file
	q.Limit = 500
	first, err := a.calls.CallLog(rid, cid, q)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="calls-`+a.now().UTC().Format("2006-01-02")+`.csv"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	requestID := requestIDOf(c)
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		if err := a.writeCallLogCSV(w, rid, cid, q, first, currency); err != nil {
			a.log.Error("calls: csv export", "request_id", requestID, "err", err)
		}
	})
	return nil
}

// writeCallLogCSV writes page and the pages after it through the export
// writer (app/csvx), so text that others chose (the PBX's call id, a
// package name) never runs as a spreadsheet formula.
func (a *App) writeCallLogCSV(w *bufio.Writer, rid, cid uint64, q calls.CallLogQuery, page *calls.CallLogPage, currency string) error {
	cw := csvx.NewWriter(w)
	if err := cw.Write(callLogCSVColumns...); err != nil {
		return err
	}
	for {
		for _, r := range page.Rows {
			err := cw.Write(r.StartedAt.UTC().Format(time.RFC3339), r.Direction, r.From, r.To, strconv.Itoa(r.DurationS),
				strconv.Itoa(r.BillableS), r.Disposition, strconv.FormatBool(r.Qualified), r.RatePrefix,
				csvExact.Text(r.RatePerMinute, currency), csvExact.Text(r.Cost, currency), currency, r.Package, r.CallID)
			if err != nil {
				return err
			}
		}
		if err := cw.Flush(); err != nil {
			return err
		}
		if page.Next == "" {
			return nil
		}
		q.Cursor = page.Next
		var err error
		if page, err = a.calls.CallLog(rid, cid, q); err != nil {
			return err
		}
	}
}

// blockCallerFromLog blocks the caller of one of the client's inbound
// calls, named by its call id: the number is the one stored with the
// call, so nothing but a real caller of this client can be blocked from
// here. Another client's call is not found.
func (a *App) blockCallerFromLog(c *fiber.Ctx) error {
	tenant, user := tenantOf(c), userOf(c)
	callID := c.FormValue("call_id")
	var cdr *store.CDR
	err := a.store.View(func(tx *store.Tx) (err error) {
		cdr, err = tx.CDRByCallID(tenant.ID, user.ClientID, callID) // scope: the session's client
		return err
	})
	if err != nil {
		return err // store.ErrNotFound is 404
	}
	if cdr.Direction != store.Inbound || cdr.From == store.Anonymous || cdr.From == "" {
		return fiber.NewError(fiber.StatusBadRequest, "Only the caller of an inbound call with a caller number can be blocked.")
	}
	back := safeNext(c.FormValue("back"))
	if back != "/calls" && !strings.HasPrefix(back, "/calls?") {
		back = "/calls"
	}
	note := "From the call log: call of " + dates.DayTime(cdr.StartedAt)
	_, err = a.calls.Block(tenant, user.ClientID, cdr.From, note, a.actor(c))
	switch {
	case errors.Is(err, calls.ErrAlreadyBlocked):
		a.setFlash(c, "info", cdr.From+" was already blocked.")
	case err != nil:
		return err
	default:
		a.setFlash(c, "success", cdr.From+" is blocked: calls from it are refused from now on. Settings → Blocked Callers lists it and can unblock it.")
	}
	return c.Redirect(back, fiber.StatusSeeOther)
}
