package app

import (
	"encoding/csv"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"portico/app/actor"
	"portico/app/calls"
	"portico/app/clients"
	"portico/store"
)

// pagesDeck prices the US at 0.01/min by the minute and the UK at
// 0.02/min by the second.
const pagesDeck = "prefix,description,rate_per_minute,increment\n1,United States,0.0100,60/60\n44,United Kingdom,0.0200,1/1\n"

// reseller loads a seeded reseller by slug.
func (ts *testServer) reseller(slug string) *store.Reseller {
	ts.t.Helper()
	var r *store.Reseller
	if err := ts.store.View(func(tx *store.Tx) (err error) { r, err = tx.Reseller(ts.ids[slug]); return err }); err != nil {
		ts.t.Fatal(err)
	}
	return r
}

// importDeck replaces the reseller's rate deck through the service.
func (ts *testServer) importDeck(slug, deck string) {
	ts.t.Helper()
	if _, err := ts.app.calls.ImportRates(ts.reseller(slug), []byte(deck), actor.Actor{Name: "test"}); err != nil {
		ts.t.Fatal(err)
	}
}

// ingest reports CDRs of a client through the service, as the API does,
// and fails the test unless every one is accepted.
func (ts *testServer) ingest(slug string, cl *store.Client, records ...calls.CDRInput) {
	ts.t.Helper()
	r := ts.reseller(slug)
	for len(records) > 0 {
		n := min(len(records), calls.MaxBatch)
		batch := records[:n]
		records = records[n:]
		for i := range batch {
			batch[i].Index = i
		}
		res, err := ts.app.calls.Ingest(r, cl, batch, nil, "test")
		if err != nil {
			ts.t.Fatal(err)
		}
		if len(res.Errors) > 0 || res.Accepted != n {
			ts.t.Fatalf("ingest: accepted %d of %d: %+v", res.Accepted, n, res.Errors)
		}
	}
}

// call builds a CDR as the PBX reports it.
func call(id, direction, from, to string, started time.Time, seconds int64, disposition string) calls.CDRInput {
	return calls.CDRInput{CallID: id, Direction: direction, From: from, To: to, StartedAt: started.UTC().Format(time.RFC3339),
		DurationS: &seconds, Disposition: disposition}
}

// stat reads a figure of the dashboard by its data-stat name.
func stat(t testing.TB, body, name string) string {
	t.Helper()
	m := regexp.MustCompile(`data-stat="` + name + `">([^<]*)<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no figure %s on the page", name)
	}
	return m[1]
}

var chartBar = regexp.MustCompile(`<rect class="chart-bar chart-s(\d)"`)

// TestDashboardFigures ingests calls through the service and reads the
// dashboard: today's and this month's figures, inbound vs outbound, spend
// in the reseller's currency, and bars in both charts. A change of the
// qualified threshold changes the qualified counts at once, this month
// and past ones.
func TestDashboardFigures(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	cleo := ts.cleo()
	ts.importDeck("acme", pagesDeck)
	now := ts.clock.Now() // 2026-11-02 10:00 UTC
	ts.ingest("acme", cleo,
		call("t1", store.Outbound, "+14155550100", "+14155550111", now.Add(-2*time.Hour), 120, store.Answered), // 2 min US: 0.02
		call("t2", store.Outbound, "+14155550100", "+442071234567", now.Add(-time.Hour), 30, store.Answered),   // 30 s UK: 0.01
		call("t3", store.Inbound, "+14155550199", "+14155550100", now.Add(-30*time.Minute), 95, store.Answered),
		call("t4", store.Inbound, "anonymous", "+14155550100", now.Add(-20*time.Minute), 0, store.NoAnswer),
		call("y1", store.Outbound, "+14155550100", "+14155550111", now.AddDate(0, 0, -1), 600, store.Answered), // 10 min: 0.10
		call("o1", store.Inbound, "+14155550199", "+14155550100", now.AddDate(0, -1, 5), 300, store.Answered),  // 7 October
	)
	owner := ts.browser()
	owner.login(acmeHost, "client@acme.example", "/dashboard")
	r := owner.get(acmeHost, "/dashboard")
	if r.status != http.StatusOK {
		t.Fatalf("dashboard: %d\n%s", r.status, r.body)
	}
	want := map[string]string{
		"today-calls": "4", "today-minutes": "4", "today-qualified": "2", "today-spend": "0.03 USD",
		"month-calls": "5", "month-minutes": "14", "month-qualified": "3", "month-spend": "0.13 USD",
		"month-calls-out": "3", "month-calls-in": "2", "month-minutes-out": "13", "month-minutes-in": "2",
	}
	for name, v := range want {
		if got := stat(t, r.body, name); got != v {
			t.Errorf("%s = %q, want %q", name, got, v)
		}
	}
	for _, s := range []string{"Qualified (≥ 90 s)", "November 2026", "Calls per day, last 30 days", "Minutes per month, Dec 2025 – Nov 2026", `class="meter`} {
		if !strings.Contains(r.body, html.EscapeString(s)) && !strings.Contains(r.body, s) {
			t.Errorf("dashboard lacks %q", s)
		}
	}
	if strings.Contains(r.body, "No calls yet") {
		t.Error("dashboard of a client with calls shows the empty state")
	}
	// days: 7 Oct (inbound), 1 Nov (outbound), 2 Nov (outbound +
	// inbound); months: Oct (inbound), Nov (outbound + inbound)
	bars := chartBar.FindAllStringSubmatch(r.body, -1)
	if len(bars) != 7 {
		t.Errorf("chart bars = %d, want 7", len(bars))
	}
	if !strings.Contains(r.body, "<title>2 Nov · Inbound: 2 calls</title>") || !strings.Contains(r.body, "<title>Oct · Inbound: 5 minutes</title>") {
		t.Errorf("bar titles do not carry the figures: %q", regexp.MustCompile(`<title>[^<]*</title>`).FindAllString(r.body, -1))
	}

	// the threshold: a bad value is explained, nothing saved
	for _, bad := range []string{"abc", "0", "3601", ""} {
		r := owner.post(acmeHost, qualifiedTabURL, "/settings/qualified-calls", url.Values{"qualified_threshold_s": {bad}})
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Use a whole number of seconds from 1 to 3600.") ||
			!strings.Contains(r.body, `value="`+bad+`"`) {
			t.Errorf("threshold %q: %d", bad, r.status)
		}
	}
	if got := ts.cleo().QualifiedThreshold(); got != 90 {
		t.Fatalf("threshold after bad input = %d", got)
	}
	r = owner.post(acmeHost, qualifiedTabURL, "/settings/qualified-calls", url.Values{"qualified_threshold_s": {"30"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != qualifiedTabURL {
		t.Fatalf("save threshold: %d %s", r.status, r.header.Get("Location"))
	}
	if tab := owner.get(acmeHost, qualifiedTabURL); !strings.Contains(tab.body, "Calls of at least 30 seconds now count as qualified") ||
		!strings.Contains(tab.body, `<strong id="current-threshold">30 seconds</strong>`) {
		t.Errorf("tab after saving:\n%s", tab.body)
	}
	if !ts.hasAudit("client.qualified_threshold", "30 s") {
		t.Error("threshold change not audited")
	}
	r = owner.get(acmeHost, "/dashboard")
	for name, v := range map[string]string{"today-qualified": "3", "month-qualified": "4"} {
		if got := stat(t, r.body, name); got != v {
			t.Errorf("after threshold 30: %s = %q, want %q", name, got, v)
		}
	}
	if !strings.Contains(r.body, "Qualified (≥ 30 s)") {
		t.Error("dashboard does not show the new threshold")
	}
	// and past months: October's 300 s call still counts at 300 s, not above
	owner.post(acmeHost, qualifiedTabURL, "/settings/qualified-calls", url.Values{"qualified_threshold_s": {"301"}})
	u, err := ts.app.calls.Usage(ts.ids["acme"], cleo.ID, now.AddDate(0, -1, 0))
	if err != nil || u.Qualified != 0 || u.ThresholdS != 301 {
		t.Errorf("October at 301 s: %+v %v", u, err)
	}

	// a manager may change it too (usage edit); a profile with usage view
	// sees it without the form and is refused the change
	ts.addClientUser("mia@cleo.example", store.RoleManager)
	mia := ts.browser()
	mia.login(acmeHost, "mia@cleo.example", "/dashboard")
	if r := mia.post(acmeHost, qualifiedTabURL, "/settings/qualified-calls", url.Values{"qualified_threshold_s": {"60"}}); r.status != http.StatusSeeOther {
		t.Errorf("manager saves the threshold: %d", r.status)
	}
	ts.addProfiledUser("viewer@cleo.example", store.RoleUser, "Usage viewers", map[string]string{"usage": "view", "dashboard": "view"})
	viewer := ts.browser()
	viewer.login(acmeHost, "viewer@cleo.example", "/dashboard")
	tab := viewer.get(acmeHost, qualifiedTabURL)
	if tab.status != http.StatusOK || strings.Contains(tab.body, `action="/settings/qualified-calls"`) || !strings.Contains(tab.body, "60 seconds") {
		t.Errorf("viewer's tab: %d", tab.status)
	}
	r = viewer.do(http.MethodPost, acmeHost, "/settings/qualified-calls", url.Values{"_csrf": {viewer.csrf(acmeHost, qualifiedTabURL)}, "qualified_threshold_s": {"10"}}, nil)
	if r.status != http.StatusForbidden || ts.cleo().QualifiedThreshold() != 60 {
		t.Errorf("viewer changes the threshold: %d", r.status)
	}
}

// TestDashboardEmptyState: a new client sees its meter, zero figures,
// empty charts that say so, and where the figures will come from.
func TestDashboardEmptyState(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	owner := ts.browser()
	owner.login(acmeHost, "client@acme.example", "/dashboard")
	r := owner.get(acmeHost, "/dashboard")
	if r.status != http.StatusOK {
		t.Fatalf("dashboard: %d", r.status)
	}
	for _, s := range []string{"No calls yet", "No calls in this period yet.", "No minutes in this period yet.", `class="meter`} {
		if !strings.Contains(r.body, s) {
			t.Errorf("empty dashboard lacks %q", s)
		}
	}
	if stat(t, r.body, "month-spend") != "0.00 USD" || stat(t, r.body, "today-calls") != "0" {
		t.Error("empty dashboard figures are not zero")
	}
	if chartBar.MatchString(r.body) {
		t.Error("empty dashboard draws bars")
	}
}

var nextPage = regexp.MustCompile(`href="([^"]*)" rel="next"`)

// callIDs are the call ids of the log's rows, in order.
func callIDs(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<tr data-call="([^"]+)">`).FindAllStringSubmatch(body, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// TestCallLogFiltersPagesAndCSV walks the call log of 130 calls page by
// page, filters it by direction, number, result and dates (values kept,
// bad ones explained), refuses a damaged cursor, and exports the same
// selection as CSV that a spreadsheet cannot run as formulas.
func TestCallLogFiltersPagesAndCSV(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	cleo := ts.cleo()
	ts.importDeck("acme", pagesDeck)
	start := time.Date(2026, 10, 20, 8, 0, 0, 0, time.UTC)
	var records []calls.CDRInput
	for i := range 130 {
		at := start.Add(time.Duration(i) * 2 * time.Hour) // 20 Oct to 31 Oct
		switch {
		case i%5 == 0:
			records = append(records, call(fmt.Sprintf("in-%03d", i), store.Inbound, fmt.Sprintf("+1415555%04d", 1000+i), "+14155550100", at, int64(i), store.Answered))
		case i%7 == 0:
			records = append(records, call(fmt.Sprintf("busy-%03d", i), store.Outbound, "+14155550100", "+442071234567", at, 0, store.Busy))
		default:
			records = append(records, call(fmt.Sprintf("out-%03d", i), store.Outbound, "+14155550100", "+12125550100", at, int64(i), store.Answered))
		}
	}
	records = append(records, call("=HYPERLINK(1)", store.Inbound, "+14155559999", "+14155550100", start.Add(-time.Hour), 5, store.Answered))
	ts.ingest("acme", cleo, records...)
	owner := ts.browser()
	owner.login(acmeHost, "client@acme.example", "/dashboard")

	// every call once, newest first, 50 a page
	var seen []string
	var sizes []int
	path := "/calls"
	for pages := 0; path != ""; pages++ {
		r := owner.get(acmeHost, path)
		if r.status != http.StatusOK || pages > 3 {
			t.Fatalf("page %d: %d", pages, r.status)
		}
		if first := strings.Contains(r.body, ">First page</a>"); first != (pages > 0) {
			t.Errorf("page %d links the first page: %v", pages, first)
		}
		ids := callIDs(r.body)
		sizes = append(sizes, len(ids))
		seen = append(seen, ids...)
		path = ""
		if m := nextPage.FindStringSubmatch(r.body); m != nil {
			path = html.UnescapeString(m[1])
		}
	}
	if fmt.Sprint(sizes) != "[50 50 31]" {
		t.Errorf("page sizes %v, want [50 50 31]", sizes)
	}
	if len(seen) != 131 || seen[0] != "out-129" || seen[130] != "=HYPERLINK(1)" {
		t.Fatalf("walked %d calls: first %v last %v", len(seen), seen[:1], seen[len(seen)-1:])
	}
	unique := map[string]bool{}
	for _, id := range seen {
		unique[id] = true
	}
	if len(unique) != 131 {
		t.Errorf("pages repeat calls: %d unique of %d", len(unique), len(seen))
	}

	// filters, kept in the form
	r := owner.get(acmeHost, "/calls?direction=inbound&number=555-1005")
	if ids := callIDs(r.body); len(ids) != 1 || ids[0] != "in-005" {
		t.Errorf("inbound from 5551005: %v", ids)
	}
	if !strings.Contains(r.body, `<option value="inbound" selected>`) || !strings.Contains(r.body, `value="555-1005"`) {
		t.Error("filters not kept in the form")
	}
	r = owner.get(acmeHost, "/calls?disposition=busy")
	for _, id := range callIDs(r.body) {
		if !strings.HasPrefix(id, "busy-") {
			t.Errorf("busy filter shows %s", id)
		}
	}
	if n := len(callIDs(r.body)); n != 15 { // i%7==0 && i%5!=0 below 130
		t.Errorf("busy calls = %d, want 15", n)
	}
	// 21 Oct 00:00 to 21 Oct 23:59: i = 8..19 at 2 h steps from 20 Oct 08:00
	// days as the pages write them, or ISO from an older link; the form
	// shows them as the pages write them
	for _, q := range []string{"from=2026-10-21&to=2026-10-21", "from=21+Oct+2026&to=21+october+2026"} {
		r = owner.get(acmeHost, "/calls?"+q)
		if n := len(callIDs(r.body)); n != 12 || !strings.Contains(r.body, `value="21 Oct 2026"`) {
			t.Errorf("one day (%s): %d calls", q, n)
		}
	}
	r = owner.get(acmeHost, "/calls?from=21.10.2026&to=2026-10-01&direction=sideways")
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "Type a day such as 4 Mar 2027.") ||
		!strings.Contains(r.body, "Choose inbound, outbound or both.") || !strings.Contains(r.body, `value="21.10.2026"`) || len(callIDs(r.body)) != 0 {
		t.Errorf("bad filters: %d", r.status)
	}
	if r := owner.get(acmeHost, "/calls?from=2026-10-22&to=2026-10-21"); r.status != http.StatusBadRequest || !strings.Contains(r.body, "The end date is before the start date.") {
		t.Errorf("reversed dates: %d", r.status)
	}
	if r := owner.get(acmeHost, "/calls?cursor=zz"); r.status != http.StatusBadRequest || !strings.Contains(r.body, "out of date or damaged") {
		t.Errorf("damaged cursor: %d", r.status)
	}
	if r := owner.get(acmeHost, "/calls?number=%2B%2B"); r.status != http.StatusBadRequest || !strings.Contains(r.body, "Enter some digits") {
		t.Errorf("number without digits: %d", r.status)
	}

	// CSV with the same filters, every page
	r = owner.get(acmeHost, "/calls.csv?direction=inbound")
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(r.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("csv: %d %v", r.status, r.header)
	}
	rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+27 || strings.Join(rows[0], ",") != strings.Join(callLogCSVColumns, ",") {
		t.Fatalf("csv rows = %d, header %v", len(rows), rows[0])
	}
	for _, row := range rows[1:] {
		if row[1] != store.Inbound || row[11] != "USD" {
			t.Errorf("csv row %v", row)
		}
	}
	last := rows[len(rows)-1]
	if last[13] != "'=HYPERLINK(1)" {
		t.Errorf("call id in csv = %q, want it defused", last[13])
	}
	all, _ := csv.NewReader(strings.NewReader(owner.get(acmeHost, "/calls.csv").body)).ReadAll()
	if len(all) != 1+131 {
		t.Errorf("full export: %d rows", len(all))
	}
	if r := owner.get(acmeHost, "/calls.csv?from=nope"); r.status != http.StatusBadRequest {
		t.Errorf("csv with bad filters: %d", r.status)
	}
	// the cost column is exact, four decimals in every line: 1 s of US
	// at 0.01 a minute, billed as a minute
	for _, row := range all[1:] {
		if row[13] == "out-001" && (row[10] != "0.0100" || row[9] != "0.0100" || row[4] != "1" || row[5] != "60") {
			t.Errorf("out-001 in csv: %v", row)
		}
	}
}

// TestBlockCallerFromCallLog: the owner blocks an inbound caller from its
// row, once; the next authorisation from it is refused. Managers and
// users see no button and are refused the change, rows of another client
// are not found, outbound and anonymous calls cannot be blocked, and the
// return address stays on this site's call log.
func TestBlockCallerFromCallLog(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	cleo := ts.cleo()
	ts.importDeck("acme", pagesDeck)
	now := ts.clock.Now()
	ts.ingest("acme", cleo,
		call("in-1", store.Inbound, "+14155550199", "+14155550100", now.Add(-time.Hour), 40, store.Answered),
		call("in-anon", store.Inbound, "anonymous", "+14155550100", now.Add(-50*time.Minute), 40, store.Answered),
		call("out-1", store.Outbound, "+14155550100", "+14155550111", now.Add(-40*time.Minute), 40, store.Answered))
	acme := ts.reseller("acme")
	dora, err := ts.app.clients.Create(acme, clients.Input{Username: "dora", FirstName: "Dora", LastName: "D", Email: "dora@example.com",
		Country: "US", Password: testPassword, Confirm: testPassword}, actor.Actor{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ts.ingest("acme", dora, call("dora-in", store.Inbound, "+14155550123", "+14155550100", now.Add(-time.Hour), 40, store.Answered))

	owner := ts.browser()
	owner.login(acmeHost, "client@acme.example", "/dashboard")
	r := owner.get(acmeHost, "/calls")
	if n := strings.Count(r.body, `action="/calls/block"`); n != 1 || !strings.Contains(r.body, `name="call_id" value="in-1"`) {
		t.Fatalf("block buttons = %d", n)
	}
	for _, who := range []struct{ email, role string }{{"mia@cleo.example", store.RoleManager}, {"uma@cleo.example", store.RoleUser}} {
		ts.addClientUser(who.email, who.role)
		b := ts.browser()
		b.login(acmeHost, who.email, "/dashboard")
		if page := b.get(acmeHost, "/calls"); page.status != http.StatusOK || strings.Contains(page.body, `action="/calls/block"`) {
			t.Errorf("%s sees a block button: %d", who.role, page.status)
		}
		if r := b.post(acmeHost, "/calls", "/calls/block", url.Values{"call_id": {"in-1"}}); r.status != http.StatusForbidden {
			t.Errorf("%s blocks: %d", who.role, r.status)
		}
	}
	if ts.blocked(cleo.ID, "+14155550199") {
		t.Fatal("blocked by someone refused")
	}

	for id, want := range map[string]int{"dora-in": http.StatusNotFound, "nope": http.StatusNotFound, "out-1": http.StatusBadRequest, "in-anon": http.StatusBadRequest} {
		if r := owner.post(acmeHost, "/calls", "/calls/block", url.Values{"call_id": {id}}); r.status != want {
			t.Errorf("block %s: %d, want %d", id, r.status, want)
		}
	}
	if ts.blocked(cleo.ID, "+14155550123") || ts.blocked(dora.ID, "+14155550123") {
		t.Error("another client's caller was blocked")
	}

	back := "/calls?direction=inbound"
	r = owner.post(acmeHost, "/calls", "/calls/block", url.Values{"call_id": {"in-1"}, "back": {back}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != back {
		t.Fatalf("block: %d %q", r.status, r.header.Get("Location"))
	}
	page := owner.get(acmeHost, back)
	page.body = html.UnescapeString(page.body)
	if !strings.Contains(page.body, "+14155550199 is blocked: calls from it are refused from now on.") || !strings.Contains(page.body, `<span class="status status-disabled">blocked</span>`) {
		t.Errorf("after blocking:\n%s", page.body)
	}
	if !ts.blocked(cleo.ID, "+14155550199") || !ts.hasAudit("caller.block", "+14155550199") {
		t.Fatal("caller not blocked or not audited")
	}
	r = owner.post(acmeHost, "/calls", "/calls/block", url.Values{"call_id": {"in-1"}, "back": {"https://evil.example/calls"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/calls" {
		t.Errorf("foreign back: %q", r.header.Get("Location"))
	}
	if page := owner.get(acmeHost, "/calls"); !strings.Contains(html.UnescapeString(page.body), "+14155550199 was already blocked.") {
		t.Error("second block does not say it was already blocked")
	}
	auth, err := ts.app.calls.Authorize(acme, cleo, calls.AuthorizeRequest{CallID: "next-in", Direction: store.Inbound, From: "+14155550199", To: "+14155550100"}, "test")
	if err != nil || auth.Allow || auth.Reason != calls.ReasonBlockedCaller {
		t.Errorf("next inbound from the blocked caller: %+v %v", auth, err)
	}
	// dora's calls from the same kind of number are not affected
	auth, err = ts.app.calls.Authorize(acme, dora, calls.AuthorizeRequest{CallID: "d2", Direction: store.Inbound, From: "+14155550199", To: "+14155550100"}, "test")
	if err != nil || !auth.Allow {
		t.Errorf("another client's inbound: %+v %v", auth, err)
	}
}

// blocked reports whether number is on the client's list.
func (ts *testServer) blocked(cid uint64, number string) bool {
	var on bool
	ts.store.View(func(tx *store.Tx) error { on = tx.IsBlocked(ts.ids["acme"], cid, number); return nil })
	return on
}

// TestBlockedCallersTab adds numbers by hand in national and
// international form, explains invalid input with the values kept, counts
// the calls each number stopped, and unblocks.
func TestBlockedCallersTab(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	cleo := ts.cleo()
	owner := ts.browser()
	owner.login(acmeHost, "client@acme.example", "/dashboard")
	if r := owner.get(acmeHost, blockedTabURL); r.status != http.StatusOK || !strings.Contains(r.body, "No number is blocked.") {
		t.Fatalf("empty tab: %d", r.status)
	}
	r := owner.post(acmeHost, blockedTabURL, "/settings/blocked-callers", url.Values{"number": {"(415) 555-0177"}, "note": {"robocaller"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != blockedTabURL {
		t.Fatalf("block: %d\n%s", r.status, r.body)
	}
	if !ts.blocked(cleo.ID, "+14155550177") {
		t.Fatal("national number not stored as E.164")
	}
	for _, tc := range []struct{ number, note, field, message string }{
		{"12", "x", "number", "Enter a valid phone number"},
		{"", "", "number", "Enter a valid phone number"},
		{"+44 20 7946 0958", strings.Repeat("n", 201), "note", "Use at most 200 characters."},
		{"+1 415 555 0177", "again", "number", "This number is already blocked."},
	} {
		r := owner.post(acmeHost, blockedTabURL, "/settings/blocked-callers", url.Values{"number": {tc.number}, "note": {tc.note}})
		r.body = html.UnescapeString(r.body)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="e-`+tc.field+`"`) || !strings.Contains(r.body, tc.message) ||
			!strings.Contains(r.body, `value="`+tc.number+`"`) || !strings.Contains(r.body, "Nothing was saved") {
			t.Errorf("block %q: %d", tc.number, r.status)
		}
	}
	if ts.blocked(cleo.ID, "+442079460958") {
		t.Error("a refused form saved its number")
	}
	// two refused calls from it today
	for i := range 2 {
		auth, err := ts.app.calls.Authorize(ts.reseller("acme"), cleo, calls.AuthorizeRequest{CallID: "c" + strconv.Itoa(i), Direction: store.Inbound,
			From: "+14155550177", To: "+14155550100"}, "test")
		if err != nil || auth.Allow {
			t.Fatalf("authorise from a blocked number: %+v %v", auth, err)
		}
	}
	page := owner.get(acmeHost, blockedTabURL)
	page.body = html.UnescapeString(page.body)
	row := regexp.MustCompile(`(?s)<tr data-number="\+14155550177">(.*?)</tr>`).FindStringSubmatch(page.body)
	if row == nil || !strings.Contains(row[1], "robocaller") || !strings.Contains(row[1], "client@acme.example") ||
		!strings.Contains(row[1], `class="num">2</td>`) || !strings.Contains(row[1], "2 Nov 2026, 10:00 UTC") {
		t.Fatalf("list row: %v", row)
	}
	r = owner.post(acmeHost, blockedTabURL, "/settings/blocked-callers/unblock", url.Values{"number": {"+14155550177"}})
	if r.status != http.StatusSeeOther || ts.blocked(cleo.ID, "+14155550177") || !ts.hasAudit("caller.unblock", "+14155550177") {
		t.Fatalf("unblock: %d", r.status)
	}
	if page := owner.get(acmeHost, blockedTabURL); !strings.Contains(html.UnescapeString(page.body), "+14155550177 is unblocked") || !strings.Contains(page.body, "No number is blocked.") {
		t.Error("after unblock")
	}
	owner.post(acmeHost, blockedTabURL, "/settings/blocked-callers/unblock", url.Values{"number": {"+14155550177"}})
	if page := owner.get(acmeHost, blockedTabURL); !strings.Contains(html.UnescapeString(page.body), "+14155550177 was not blocked.") {
		t.Error("unblocking twice does not say so")
	}
}
