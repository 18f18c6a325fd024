package app

import (
	"bytes"
	"encoding/base64"
	"errors"
	"mime"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"portico/app/calls"
	"portico/app/fault"
	"portico/store"
	"portico/store/jsonfast"
	"portico/store/money"
)

// isCallEndpoint: the PBX's per-call requests, with their own rate limit.
func isCallEndpoint(c *fiber.Ctx) bool {
	if c.Method() != fiber.MethodPost {
		return false
	}
	p := c.Path()
	return strings.HasSuffix(p, "/calls/authorize") || strings.HasSuffix(p, "/cdrs")
}

// keyLimiter is a fixed-window counter per API key id: the call
// endpoints' limiter, on the hot path, so it allocates nothing per
// request once a key has a window.
type keyLimiter struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	now    func() time.Time
	counts map[uint64]*windowCount
}

func newKeyLimiter(limit int, window time.Duration, now func() time.Time) *keyLimiter {
	return &keyLimiter{limit: limit, window: window, now: now, counts: map[uint64]*windowCount{}}
}

// allow counts one request of key and says whether it is within the
// limit, and if not how long until it will be.
func (l *keyLimiter) allow(key uint64) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	w := l.counts[key]
	if w == nil {
		if len(l.counts) > 100_000 { // keys are few; never let the map grow without bound
			clear(l.counts)
		}
		w = &windowCount{start: now}
		l.counts[key] = w
	}
	if now.Sub(w.start) >= l.window {
		w.start, w.n = now, 0
	}
	if w.n >= l.limit {
		return false, w.start.Add(l.window).Sub(now)
	}
	w.n++
	return true, 0
}

// apiTarget is the client a call endpoint acts for: the key's own client
// (read by the key check of this request, so no second read), or the
// {client} of the path for a reseller key. Another reseller's client is
// 404.
func (a *App) apiTarget(c *fiber.Ctx) (*store.Client, error) {
	if cl := callerOf(c).client; cl != nil {
		return cl, nil // scope: a client key only ever acts for its own client
	}
	cl, _, err := a.loadAPIClient(c)
	return cl, err
}

// authorizeAPICall answers POST /calls/authorize: 200 with allow true and
// the reservation, or allow false and the reason. The same call id again
// answers the same reservation; the decision and the reservation are on
// disk before the reply.
func (a *App) authorizeAPICall(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	// A PBX asks for every call: its plain body is read without reflection
	// (calls.DecodeAuthorizeFast); anything else gets decodeJSON's checks
	// and messages.
	req, ok := calls.AuthorizeRequest{}, false
	if c.Get(fiber.HeaderContentType) == fiber.MIMEApplicationJSON {
		req, ok = calls.DecodeAuthorizeFast(bytes.TrimSpace(c.Body()))
	}
	if !ok {
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	}
	cl, err := a.apiTarget(c)
	if err != nil {
		return err
	}
	res, err := a.calls.Authorize(tenant, cl, req, apiActor(c).Name)
	if err != nil {
		return err
	}
	var buf [256]byte
	c.Response().SetBody(appendAuthorizeReply(buf[:0], res, tenant.Currency)) // a copy into the response's own buffer
	c.Response().Header.SetContentType(fiber.MIMEApplicationJSON)
	return nil
}

// appendAuthorizeReply appends the reply to an authorisation: allowed,
// {"allow":true,"call_id","max_duration_s","rate_per_minute","reserved",
// "currency"} and "package" when one covers the call; refused,
// {"allow":false,"call_id","reason"}. It writes exactly what json.Marshal
// wrote for the structs these replies used to be (FuzzAuthorizeReplyMatchesStd
// holds it to them): a PBX asks for every call, and encoding/json took about
// 1 µs and four allocations for it, this a quarter of that and none
// (BenchmarkAuthorizeReply).
func appendAuthorizeReply(b []byte, res *calls.Authorization, currency string) []byte {
	if !res.Allow {
		b = append(b, `{"allow":false,"call_id":`...)
		b = jsonfast.AppendString(b, res.CallID)
		b = append(b, `,"reason":`...)
		b = jsonfast.AppendString(b, res.Reason)
		return append(b, '}')
	}
	b = append(b, `{"allow":true,"call_id":`...)
	b = jsonfast.AppendString(b, res.CallID)
	b = append(b, `,"max_duration_s":`...)
	b = strconv.AppendInt(b, int64(res.MaxDurationS), 10)
	b = append(b, `,"rate_per_minute":"`...) // a decimal is digits, '-' and '.': nothing to escape
	b = money.AppendDecimal(b, res.RatePerMinute, currency)
	b = append(b, `","reserved":"`...)
	b = money.AppendDecimal(b, res.Reserved, currency)
	b = append(b, `","currency":`...)
	b = jsonfast.AppendString(b, currency)
	if res.Package != 0 {
		b = append(b, `,"package":`...)
		b = strconv.AppendUint(b, res.Package, 10)
	}
	return append(b, '}')
}

// apiIngest is the reply of POST /cdrs.
type apiIngest struct {
	Accepted   int                 `json:"accepted"`
	Duplicates int                 `json:"duplicates"`
	Errors     []calls.RecordError `json:"errors"`
}

// ingestAPICDRs answers POST /cdrs: up to 1,000 records; the valid ones
// are rated, charged and counted, durable before the reply; the others
// are listed by index. A malformed body or an unknown field is 400,
// more than 1,000 records 422.
func (a *App) ingestAPICDRs(c *fiber.Ctx) error {
	if err := requireJSON(c); err != nil {
		return err
	}
	records, decodeErrs, err := calls.DecodeCDRs(c.Body())
	if err != nil {
		return err
	}
	cl, err := a.apiTarget(c)
	if err != nil {
		return err
	}
	res, err := a.calls.Ingest(tenantOf(c), cl, records, decodeErrs, apiActor(c).Name)
	if err != nil {
		return err
	}
	out := apiIngest{Accepted: res.Accepted, Duplicates: res.Duplicates, Errors: res.Errors}
	if out.Errors == nil {
		out.Errors = []calls.RecordError{}
	}
	return c.JSON(out)
}

// requireJSON refuses bodies that are not JSON (415): application/json or
// any application/*+json. decodeJSON checks with it too.
func requireJSON(c *fiber.Ctx) error {
	media, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || (media != fiber.MIMEApplicationJSON && !(strings.HasPrefix(media, "application/") && strings.HasSuffix(media, "+json"))) {
		return fault.New(fault.UnsupportedMedia, "Send the body as application/json.")
	}
	return nil
}

// apiCDR is a rated CDR as GET /cdrs lists it.
type apiCDR struct {
	CallID        string  `json:"call_id"`
	Direction     string  `json:"direction"`
	From          string  `json:"from"`
	To            string  `json:"to"`
	StartedAt     string  `json:"started_at"`
	DurationS     int     `json:"duration_s"`
	BillableS     int     `json:"billable_s"`
	Disposition   string  `json:"disposition"`
	Qualified     bool    `json:"qualified"`
	RatePrefix    string  `json:"rate_prefix,omitempty"`
	RatePerMinute string  `json:"rate_per_minute"`
	Cost          string  `json:"cost"`
	Currency      string  `json:"currency"`
	Package       *uint64 `json:"package"` // the covering package's id, or null
	LedgerEntryID uint64  `json:"ledger_entry_id,omitempty"`
}

// listAPICDRs answers GET /cdrs: the client's rated CDRs, oldest first,
// started since ≤ t < until, a page at a time.
func (a *App) listAPICDRs(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	var errs fault.Fields
	limit := queryLimit(c, &errs)
	since, until := queryTime(c, "since", &errs), queryTime(c, "until", &errs)
	if err := errs.Err(); err != nil {
		return err
	}
	cursor, ok := decodeCursor(c.Query("cursor"), "cdrs")
	if !ok {
		return badCursor()
	}
	cl, err := a.apiTarget(c)
	if err != nil {
		return err
	}
	page, err := a.calls.CallLog(tenant.ID, cl.ID, calls.CallLogQuery{From: since, To: until, Cursor: cursor, Limit: limit, Ascending: true})
	if err != nil {
		return err // a cursor not given out for this list is calls.ErrCursor
	}
	list := apiList[apiCDR]{Data: make([]apiCDR, len(page.Rows))}
	for i, r := range page.Rows {
		list.Data[i] = apiCDR{CallID: r.CallID, Direction: r.Direction, From: r.From, To: r.To, StartedAt: apiTime(r.StartedAt),
			DurationS: r.DurationS, BillableS: r.BillableS, Disposition: r.Disposition, Qualified: r.Qualified,
			RatePrefix: r.RatePrefix, RatePerMinute: money.Decimal(r.RatePerMinute, tenant.Currency),
			Cost: money.Decimal(r.Cost, tenant.Currency), Currency: tenant.Currency, Package: packageRef(r.PackageID), LedgerEntryID: r.LedgerID}
	}
	if page.Next != "" {
		list.NextCursor = encodeCursor("cdrs", page.Next)
	}
	return c.JSON(list)
}

// packageRef is a package id as the API writes a reference: null for none.
func packageRef(id uint64) *uint64 {
	if id == 0 {
		return nil
	}
	return &id
}

// badCursor refuses a cursor that this API did not give out, in the
// words of every list (calls.ErrCursor, which the call log's own check
// answers too).
func badCursor() error { return calls.ErrCursor }

// queryLimit reads ?limit= (default 50, 1–500).
func queryLimit(c *fiber.Ctx, errs *fault.Fields) int {
	s := c.Query("limit")
	if s == "" {
		return apiDefaultLimit
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > apiMaxLimit {
		errs.Add("limit", "Use a whole number from 1 to 500.")
	}
	return n
}

// queryTime reads an optional RFC 3339 time from the query.
func queryTime(c *fiber.Ctx, name string, errs *fault.Fields) time.Time {
	s := c.Query(name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		errs.Add(name, "Use an RFC 3339 time such as 2026-11-01T00:00:00Z.")
	}
	return t
}

// apiUsage is the reply of GET /usage.
type apiUsage struct {
	Month               string `json:"month"`
	Calls               int64  `json:"calls"`
	CallsInbound        int64  `json:"calls_inbound"`
	CallsOutbound       int64  `json:"calls_outbound"`
	MinutesInbound      int64  `json:"minutes_inbound"`
	MinutesOutbound     int64  `json:"minutes_outbound"`
	SecondsInbound      int64  `json:"seconds_inbound"`
	SecondsOutbound     int64  `json:"seconds_outbound"`
	QualifiedCalls      int64  `json:"qualified_calls"`
	QualifiedThresholdS int    `json:"qualified_threshold_s"`
	Cost                string `json:"cost"`
	Currency            string `json:"currency"`
}

// showAPIUsage answers GET /usage?month=YYYY-MM (the current UTC month
// when absent), from the daily aggregates.
func (a *App) showAPIUsage(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	month := a.now().UTC()
	if s := c.Query("month"); s != "" {
		m, err := time.Parse("2006-01", s)
		if err != nil {
			return fault.InvalidField("month", "Use YYYY-MM, such as 2026-11.")
		}
		month = m
	}
	cl, err := a.apiTarget(c)
	if err != nil {
		return err
	}
	u, err := a.calls.Usage(tenant.ID, cl.ID, month)
	if err != nil {
		return err
	}
	return c.JSON(apiUsage{Month: u.Month.Format("2006-01"), Calls: u.Calls, CallsInbound: u.CallsIn, CallsOutbound: u.CallsOut,
		MinutesInbound: calls.Minutes(u.SecondsIn), MinutesOutbound: calls.Minutes(u.SecondsOut),
		SecondsInbound: u.SecondsIn, SecondsOutbound: u.SecondsOut, QualifiedCalls: u.Qualified,
		QualifiedThresholdS: u.ThresholdS, Cost: money.Decimal(u.Cost, tenant.Currency), Currency: tenant.Currency})
}

// apiBlockedCaller is a blocked number as the API shows it.
type apiBlockedCaller struct {
	Number            string `json:"number"`
	Note              string `json:"note"`
	CreatedAt         string `json:"created_at"`
	BlockedLast30Days int64  `json:"blocked_last_30_days"`
}

// listAPIBlockedCallers answers GET /blocked-callers, in number order; the
// cursor is the last number of the previous page.
func (a *App) listAPIBlockedCallers(c *fiber.Ctx) error {
	var errs fault.Fields
	limit := queryLimit(c, &errs)
	if err := errs.Err(); err != nil {
		return err
	}
	after, ok := decodeCursor(c.Query("cursor"), "blocked")
	if !ok {
		return badCursor()
	}
	cl, err := a.apiTarget(c)
	if err != nil {
		return err
	}
	all, err := a.calls.BlockedCallers(tenantOf(c).ID, cl.ID, a.now())
	if err != nil {
		return err
	}
	list := apiList[apiBlockedCaller]{Data: []apiBlockedCaller{}}
	for _, b := range all {
		if b.Number <= after {
			continue
		}
		if len(list.Data) == limit {
			list.NextCursor = encodeCursor("blocked", list.Data[limit-1].Number)
			break
		}
		list.Data = append(list.Data, apiBlockedCaller{Number: b.Number, Note: b.Note, CreatedAt: apiTime(b.CreatedAt), BlockedLast30Days: b.BlockedLast30Days})
	}
	return c.JSON(list)
}

// apiBlockRequest is the body of POST /blocked-callers.
type apiBlockRequest struct {
	Number string `json:"number"`
	Note   string `json:"note"`
}

// blockAPICaller answers POST /blocked-callers: 201 with the entry; 422
// for a number that is not valid, 409 when it is blocked already.
func (a *App) blockAPICaller(c *fiber.Ctx) error {
	var body apiBlockRequest
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	cl, err := a.apiTarget(c)
	if err != nil {
		return err
	}
	b, err := a.calls.Block(tenantOf(c), cl.ID, body.Number, body.Note, apiActor(c))
	if err != nil {
		return err // blocked already: 409 (calls.ErrAlreadyBlocked)
	}
	return c.Status(fiber.StatusCreated).JSON(apiBlockedCaller{Number: b.Number, Note: b.Note, CreatedAt: apiTime(b.CreatedAt)})
}

// unblockAPICaller answers DELETE /blocked-callers/{number} (E.164, the
// + written as is or as %2B): 204, or 404 when it is not blocked.
func (a *App) unblockAPICaller(c *fiber.Ctx) error {
	number, err := url.PathUnescape(c.Params("number"))
	if err != nil {
		return fault.New(fault.NotFound, "This number is not blocked.")
	}
	cl, err := a.apiTarget(c)
	if err != nil {
		return err
	}
	if err := a.calls.Unblock(tenantOf(c), cl.ID, strings.Clone(number), apiActor(c)); err != nil {
		return err // not on the list: 404
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// apiRateImport is the reply of PUT /rates.
type apiRateImport struct {
	Imported int               `json:"imported"`
	Errors   []calls.RateError `json:"errors"`
}

// apiRateProblem is the 422 of PUT /rates: a problem document that also
// carries imported (0) and every line at fault.
type apiRateProblem struct {
	Type     string            `json:"type"`
	Title    string            `json:"title"`
	Status   int               `json:"status"`
	Detail   string            `json:"detail"`
	Imported int               `json:"imported"`
	Errors   []calls.RateError `json:"errors"`
}

// importAPIRates answers PUT /rates (text/csv): the reseller's deck is
// replaced atomically, or, when any line is wrong, nothing is imported
// and 422 lists every problem by line.
func (a *App) importAPIRates(c *fiber.Ctx) error {
	media, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || (media != "text/csv" && media != "text/plain") {
		return fault.New(fault.UnsupportedMedia, "Send the rate deck as text/csv.")
	}
	n, err := a.calls.ImportRates(tenantOf(c), bytes.Clone(c.Body()), apiActor(c))
	var rateErrs calls.RateErrors
	if errors.As(err, &rateErrs) {
		c.Set(fiber.HeaderContentType, "application/problem+json")
		return c.Status(fiber.StatusUnprocessableEntity).JSON(apiRateProblem{Type: "about:blank", Title: utilsStatus(fiber.StatusUnprocessableEntity),
			Status: fiber.StatusUnprocessableEntity, Detail: "The rate deck has errors; nothing was imported. See errors, by line (1 is the header).",
			Errors: rateErrs}, "application/problem+json")
	}
	if err != nil {
		return err
	}
	return c.JSON(apiRateImport{Imported: n, Errors: []calls.RateError{}})
}

// apiRate is one rate as GET /rates lists it.
type apiRate struct {
	Prefix        string `json:"prefix"`
	Description   string `json:"description"`
	RatePerMinute string `json:"rate_per_minute"`
	Currency      string `json:"currency"`
	Increment     string `json:"increment"`
	Premium       bool   `json:"premium"`
}

// listAPIRates answers GET /rates: the reseller's deck in prefix order,
// only prefixes starting with ?prefix= when given; ?format=csv exports
// the whole (filtered) deck in the import format.
func (a *App) listAPIRates(c *fiber.Ctx) error {
	tenant := tenantOf(c)
	prefix := strings.TrimPrefix(c.Query("prefix"), "+")
	var errs fault.Fields
	if strings.Trim(prefix, "0123456789") != "" || len(prefix) > calls.MaxPrefixLength {
		errs.Add("prefix", "Use digits of an international number, such as 44.")
	}
	format := c.Query("format")
	if format != "" && format != "csv" && format != "json" {
		errs.Add("format", "Use csv or json.")
	}
	if format == "csv" {
		if err := errs.Err(); err != nil {
			return err
		}
		d, err := a.calls.Deck(tenant.ID)
		if err != nil {
			return err
		}
		page, _ := d.Rates(prefix, "", d.Len())
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="rates.csv"`)
		return calls.WriteRatesCSV(c.Response().BodyWriter(), page)
	}
	limit := queryLimit(c, &errs)
	if err := errs.Err(); err != nil {
		return err
	}
	after, ok := decodeCursor(c.Query("cursor"), "rates")
	if !ok {
		return badCursor()
	}
	page, more, err := a.calls.RatesPage(tenant.ID, prefix, after, limit)
	if err != nil {
		return err
	}
	list := apiList[apiRate]{Data: make([]apiRate, len(page))}
	for i, r := range page {
		list.Data[i] = apiRate{Prefix: r.Prefix, Description: r.Description, RatePerMinute: money.Decimal(r.RatePerMinute, tenant.Currency),
			Currency: tenant.Currency, Increment: strconv.Itoa(r.First) + "/" + strconv.Itoa(r.Next), Premium: r.Premium}
	}
	if more {
		list.NextCursor = base64.RawURLEncoding.EncodeToString([]byte("rates:" + page[len(page)-1].Prefix))
	}
	return c.JSON(list)
}

// encodeCursor makes the opaque next_cursor of a list of kind from the
// last item's position; decodeCursor reads it back and refuses a cursor
// of another list. An empty cursor is the first page ("", true).
func encodeCursor(kind, position string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + position))
}

func decodeCursor(cursor, kind string) (string, bool) {
	if cursor == "" {
		return "", true
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	position, ok := strings.CutPrefix(string(raw), kind+":")
	return position, err == nil && ok
}
