package app

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"portico/store"
)

const testDeck = "prefix,description,rate_per_minute,increment,premium\n" +
	"1,USA,0.0100,60/60,false\n" +
	"1900,USA premium,1.00,60/60,true\n" +
	"44,United Kingdom,0.0600,1/1,\n" +
	"447,UK mobile,0.0600,30/6,no\n"

// callsFixture is the API fixture with acme's deck imported and ann
// holding credit.
func newCallsFixture(t *testing.T, credit string) *apiFixture {
	t.Helper()
	f := newAPIFixture(t)
	f.at.expect(apiRequest{method: "PUT", host: acmeHost, path: "/api/v1/rates", key: f.acmeKey, body: testDeck,
		header: map[string]string{"Content-Type": "text/csv"}}, http.StatusOK)
	if credit != "" {
		f.at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients/ann.lee/credits", key: f.acmeKey,
			body: `{"amount":"` + credit + `"}`}, http.StatusCreated)
	}
	return f
}

func (f *apiFixture) verify(t *testing.T) {
	t.Helper()
	if problems, err := f.ts.store.Verify(); err != nil || len(problems) > 0 {
		t.Fatalf("verify: %v %v", err, problems)
	}
}

func (f *apiFixture) annCredit(t *testing.T) apiCredit {
	t.Helper()
	r := f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/account", key: f.annKey}, http.StatusOK)
	return decodeReply[apiAccount](t, r).Credit
}

func authorizeBody(callID, direction, from, to string) string {
	return fmt.Sprintf(`{"call_id":%q,"direction":%q,"from":%q,"to":%q}`, callID, direction, from, to)
}

func cdrJSON(callID, direction, from, to string, started time.Time, duration int, disposition string) string {
	return fmt.Sprintf(`{"call_id":%q,"direction":%q,"from":%q,"to":%q,"started_at":%q,"duration_s":%d,"disposition":%q}`,
		callID, direction, from, to, started.Format(time.RFC3339), duration, disposition)
}

// TestAPICallScenarios walks the call endpoints with every kind of key,
// on both resellers' hosts, successes and failures.
func TestAPICallScenarios(t *testing.T) {
	t.Parallel()
	f := newCallsFixture(t, "10.00")
	ann := fmt.Sprint(f.ann.ID)
	csvHeader := map[string]string{"Content-Type": "text/csv"}
	started := f.ts.clock.Now().Add(-time.Hour)
	outbound := authorizeBody("c1", "outbound", "+14155550100", "+442079460958")
	scenarios := []struct {
		name     string
		req      apiRequest
		status   int
		contains []string
	}{
		// authorise
		{"authorize outbound", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/calls/authorize", key: f.annKey, body: outbound}, 200,
			[]string{`"allow":true`, `"max_duration_s":10000`, `"rate_per_minute":"0.06"`, `"reserved":"10.00"`, `"currency":"USD"`}},
		{"authorize again: same reservation", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/calls/authorize", key: f.annKey, body: outbound}, 200,
			[]string{`"allow":true`, `"max_duration_s":10000`, `"reserved":"10.00"`}},
		{"authorize with the reseller key", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients/ann.lee/calls/authorize", key: f.acmeKey, body: authorizeBody("c2", "outbound", "+14155550100", "+442079460958")}, 200,
			[]string{`"allow":false`, `"reason":"insufficient_credit"`}},
		{"no rate", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients/" + ann + "/calls/authorize", key: f.acmeKey, body: authorizeBody("c3", "outbound", "+14155550100", "+33123456789")}, 200,
			[]string{`"reason":"no_rate"`}},
		{"premium refused", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/calls/authorize", key: f.annKey, body: authorizeBody("c4", "outbound", "+14155550100", "+19005550100")}, 200,
			[]string{`"reason":"destination_not_allowed"`}},
		{"inbound allowed", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/calls/authorize", key: f.annKey, body: authorizeBody("i1", "inbound", "anonymous", "(415) 555-0111")}, 200,
			[]string{`"allow":true`, `"reserved":"0.00"`}},
		{"authorize invalid fields", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/calls/authorize", key: f.annKey, body: authorizeBody("", "up", "x", "")}, 422,
			[]string{`"field":"call_id"`, `"field":"direction"`, `"field":"from"`, `"field":"to"`}},
		{"authorize unknown field", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/calls/authorize", key: f.annKey, body: `{"call_id":"x","direction":"inbound","from":"+1","to":"+1","cost":1}`}, 400,
			[]string{`"field":"cost"`}},
		{"authorize not json", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/calls/authorize", key: f.annKey, body: "call_id=x", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 415, nil},
		{"reseller key on the client path", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/calls/authorize", key: f.acmeKey, body: outbound}, 403, []string{"/clients/{client}/calls/authorize"}},
		{"client key on the reseller path", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients/ann.lee/calls/authorize", key: f.annKey, body: outbound}, 403, nil},
		{"another reseller's key", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients/ann.lee/calls/authorize", key: f.globexKey, body: outbound}, 401, nil},
		{"another reseller's client", apiRequest{method: "POST", host: globexHost, path: "/api/v1/clients/ann.lee/calls/authorize", key: f.globexKey, body: outbound}, 404, nil},
		{"another reseller's client by id", apiRequest{method: "GET", host: globexHost, path: "/api/v1/clients/" + ann + "/usage", key: f.globexKey}, 404, nil},
		{"restricted client's own key", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/calls/authorize", key: f.restrictedKey, body: outbound}, 403, nil},
		{"restricted client via the reseller", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients/rita.r/calls/authorize", key: f.acmeKey, body: outbound}, 200,
			[]string{`"reason":"account_disabled"`}},

		// CDRs
		{"cdrs", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/cdrs", key: f.annKey, body: `{"records":[` +
			cdrJSON("c1", "outbound", "+14155550100", "+442079460958", started, 61, "answered") + "," +
			cdrJSON("i1", "inbound", "anonymous", "+14155550111", started, 120, "answered") + "," +
			cdrJSON("c1", "outbound", "+14155550100", "+442079460958", started, 61, "answered") + "," +
			`{"call_id":"t1","direction":"outbound","from":"+14155550100","to":"+1","started_at":"2026-11-01T00:00:00Z","duration_s":"12","disposition":"answered"},` +
			cdrJSON("bad", "outbound", "+14155550100", "+442079460958", started, -4, "hung") + "]}"}, 200,
			[]string{`"accepted":2`, `"duplicates":1`, `{"index":3,"field":"duration_s"`, `{"index":4,"field":"duration_s"`, `{"index":4,"field":"disposition"`}},
		{"cdrs replayed", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients/ann.lee/cdrs", key: f.acmeKey, body: `{"records":[` +
			cdrJSON("c1", "outbound", "+14155550100", "+442079460958", started, 61, "answered") + "]}"}, 200,
			[]string{`"accepted":0`, `"duplicates":1`, `"errors":[]`}},
		{"cdr unknown field", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/cdrs", key: f.annKey, body: `{"records":[{"call_id":"x","cost":"1"}]}`}, 400,
			[]string{`records[0].cost`}},
		{"cdr envelope unknown field", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/cdrs", key: f.annKey, body: `{"records":[],"batch":1}`}, 400, []string{`"field":"batch"`}},
		{"cdrs missing", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/cdrs", key: f.annKey, body: `{}`}, 422, []string{`"field":"records"`}},
		{"cdrs too many", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/cdrs", key: f.annKey, body: `{"records":[` + strings.Repeat(`{},`, 1000) + `{}]}`}, 422, []string{"1000"}},
		{"cdrs malformed", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/cdrs", key: f.annKey, body: `{"records":[{]}`}, 400, nil},
		{"cdrs another reseller's client", apiRequest{method: "POST", host: globexHost, path: "/api/v1/clients/ann.lee/cdrs", key: f.globexKey, body: `{"records":[]}`}, 404, nil},
		{"list cdrs", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/cdrs?since=2026-11-01T00:00:00Z", key: f.annKey}, 200,
			[]string{`"call_id":"c1"`, `"billable_s":61`, `"cost":"0.061"`, `"qualified":false`, `"call_id":"i1"`, `"qualified":true`, `"ledger_entry_id":`}},
		{"list cdrs bad time", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/cdrs?since=yesterday&limit=0", key: f.annKey}, 422, []string{`"field":"since"`, `"field":"limit"`}},
		{"list cdrs bad cursor", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/cdrs?cursor=abc", key: f.annKey}, 400, nil},

		// usage
		{"usage", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/usage?month=2026-11", key: f.annKey}, 200,
			[]string{`"month":"2026-11"`, `"calls":2`, `"minutes_inbound":2`, `"minutes_outbound":1`, `"qualified_calls":1`, `"qualified_threshold_s":90`, `"cost":"0.061"`}},
		{"usage of an empty month", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients/ann.lee/usage?month=2025-01", key: f.acmeKey}, 200, []string{`"calls":0`, `"cost":"0.00"`}},
		{"usage bad month", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/usage?month=11-2026", key: f.annKey}, 422, []string{`"field":"month"`}},

		// rates
		{"rates need a reseller key", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/rates", key: f.annKey}, 403, nil},
		{"rates list", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/rates?prefix=44", key: f.acmeKey}, 200,
			[]string{`"prefix":"44"`, `"prefix":"447"`, `"increment":"30/6"`, `"rate_per_minute":"0.06"`}},
		{"rates page", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/rates?limit=1", key: f.acmeKey}, 200, []string{`"prefix":"1"`, `"next_cursor"`}},
		{"rates bad prefix", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/rates?prefix=4x", key: f.acmeKey}, 422, []string{`"field":"prefix"`}},
		{"globex has no rates", apiRequest{method: "GET", host: globexHost, path: "/api/v1/rates", key: f.globexKey}, 200, []string{`"data":[]`}},
		{"rates import needs csv", apiRequest{method: "PUT", host: acmeHost, path: "/api/v1/rates", key: f.acmeKey, body: `{}`}, 415, nil},
		{"rates import by a client", apiRequest{method: "PUT", host: acmeHost, path: "/api/v1/rates", key: f.annKey, body: testDeck, header: csvHeader}, 403, nil},
		{"rates import with errors", apiRequest{method: "PUT", host: acmeHost, path: "/api/v1/rates", key: f.acmeKey, header: csvHeader,
			body: "prefix,description,rate_per_minute,increment\n44,UK,0.02,60/60\n44,UK,0.02,60/60\n49,DE,abc,60\n"}, 422,
			[]string{`"imported":0`, `{"line":3,"field":"prefix"`, `{"line":4,"field":"rate_per_minute"`, `{"line":4,"field":"increment"`, `application/problem+json`}},
	}
	for _, sc := range scenarios {
		r := f.at.do(sc.req)
		if r.status != sc.status {
			t.Errorf("%s: status %d, want %d\n%s", sc.name, r.status, sc.status, r.body)
			continue
		}
		text := r.body + " " + r.header.Get("Content-Type")
		for _, want := range sc.contains {
			if !strings.Contains(text, want) {
				t.Errorf("%s: reply lacks %s\n%s", sc.name, want, r.body)
			}
		}
		if r.status >= 400 {
			checkProblem(t, r)
		}
	}
	// the deck stayed as it was after the refused import
	r := f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/rates?format=csv", key: f.acmeKey}, http.StatusOK)
	rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil || len(rows) != 5 || rows[0][4] != "premium" || rows[2][0] != "1900" || rows[2][4] != "true" || r.header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("export %v\n%s", err, r.body)
	}
	// c1 settled: 61 s at 0.06/min per second = 0.061; the rest of the 10.00 came back
	if credit := f.annCredit(t); credit.Used != "0.061" || credit.Reserved != "0.00" || credit.Available != "9.939" {
		t.Fatalf("credit %+v", credit)
	}
	f.verify(t)
}

// TestAPIBlockedCallers: block, list with counts, refuse the caller,
// unblock; other tenants see nothing.
func TestAPIBlockedCallers(t *testing.T) {
	t.Parallel()
	f := newCallsFixture(t, "")
	post := func(key, path, body string, want int) response {
		return f.at.expect(apiRequest{method: "POST", host: acmeHost, path: path, key: key, body: body}, want)
	}
	r := post(f.annKey, "/api/v1/blocked-callers", `{"number":"(415) 555-0199","note":"robocalls"}`, http.StatusCreated)
	if !strings.Contains(r.body, `"number":"+14155550199"`) || !strings.Contains(r.body, `"blocked_last_30_days":0`) {
		t.Fatalf("block: %s", r.body)
	}
	post(f.annKey, "/api/v1/blocked-callers", `{"number":"+14155550199"}`, http.StatusConflict)
	post(f.annKey, "/api/v1/blocked-callers", `{"number":"555"}`, http.StatusUnprocessableEntity)
	post(f.annKey, "/api/v1/blocked-callers", `{"number":"+14155550199","why":"x"}`, http.StatusBadRequest)
	post(f.acmeKey, "/api/v1/clients/ann.lee/blocked-callers", `{"number":"+442079460958"}`, http.StatusCreated)
	for range 2 {
		r = post(f.annKey, "/api/v1/calls/authorize", authorizeBody("in", "inbound", "+14155550199", "+14155550111"), http.StatusOK)
		if !strings.Contains(r.body, `"reason":"blocked_caller"`) {
			t.Fatalf("blocked caller allowed: %s", r.body)
		}
	}
	r = f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/blocked-callers?limit=1", key: f.annKey}, http.StatusOK)
	page := decodeReply[apiList[apiBlockedCaller]](t, r)
	if len(page.Data) != 1 || page.Data[0].Number != "+14155550199" || page.Data[0].BlockedLast30Days != 2 || page.Data[0].Note != "robocalls" || page.NextCursor == "" {
		t.Fatalf("list: %s", r.body)
	}
	r = f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/blocked-callers?limit=1&cursor=" + page.NextCursor, key: f.annKey}, http.StatusOK)
	if page := decodeReply[apiList[apiBlockedCaller]](t, r); len(page.Data) != 1 || page.Data[0].Number != "+442079460958" || page.NextCursor != "" {
		t.Fatalf("second page: %s", r.body)
	}
	f.at.expect(apiRequest{method: "GET", host: globexHost, path: "/api/v1/clients/ann.lee/blocked-callers", key: f.globexKey}, http.StatusNotFound)
	f.at.expect(apiRequest{method: "DELETE", host: globexHost, path: "/api/v1/clients/ann.lee/blocked-callers/+14155550199", key: f.globexKey}, http.StatusNotFound)
	f.at.expect(apiRequest{method: "DELETE", host: acmeHost, path: "/api/v1/blocked-callers/%2B14155550199", key: f.annKey}, http.StatusNoContent)
	f.at.expect(apiRequest{method: "DELETE", host: acmeHost, path: "/api/v1/blocked-callers/+14155550199", key: f.annKey}, http.StatusNotFound)
	f.at.expect(apiRequest{method: "DELETE", host: acmeHost, path: "/api/v1/clients/ann.lee/blocked-callers/+442079460958", key: f.acmeKey}, http.StatusNoContent)
	r = post(f.annKey, "/api/v1/calls/authorize", authorizeBody("in2", "inbound", "+14155550199", "+14155550111"), http.StatusOK)
	if !strings.Contains(r.body, `"allow":true`) {
		t.Fatalf("unblocked caller refused: %s", r.body)
	}
}

// TestAPIConcurrentAuthorizations: 200 concurrent authorisations over HTTP
// on credit for exactly 50 four-hour calls: exactly 50 are allowed, the
// ledger balances and nothing is negative; then their CDRs, posted as the
// same batch by five callers at once, settle each call once to the exact
// unit.
func TestAPIConcurrentAuthorizations(t *testing.T) {
	t.Parallel()
	// 4 h at 0.01/min = 2.40 a call; 50 calls = 120.00
	f := newCallsFixture(t, "120.00")
	var wg sync.WaitGroup
	replies := make([]response, 200)
	for i := range 200 {
		wg.Go(func() {
			r, err := f.at.send(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/calls/authorize", key: f.annKey,
				body: authorizeBody(fmt.Sprint("call-", i), "outbound", "+14155550100", "+14155550123")})
			if err != nil {
				r = response{body: err.Error()}
			}
			replies[i] = r
		})
	}
	wg.Wait()
	var records []string
	var wantUsed int64
	for i, r := range replies {
		if r.status != http.StatusOK {
			t.Fatalf("call %d: %d %s", i, r.status, r.body)
		}
		switch {
		case strings.Contains(r.body, `"allow":true`):
			if !strings.Contains(r.body, `"reserved":"2.40"`) || !strings.Contains(r.body, `"max_duration_s":14400`) {
				t.Fatalf("reservation %s", r.body)
			}
			duration := 1 + (i*37)%900
			wantUsed += int64((duration+59)/60) * 100
			records = append(records, cdrJSON(fmt.Sprint("call-", i), "outbound", "+14155550100", "+14155550123", f.ts.clock.Now(), duration, "answered"))
		case !strings.Contains(r.body, `"reason":"insufficient_credit"`):
			t.Fatalf("refusal %s", r.body)
		}
	}
	if len(records) != 50 {
		t.Fatalf("%d calls allowed on credit for 50", len(records))
	}
	if credit := f.annCredit(t); credit.Available != "0.00" || credit.Reserved != "120.00" {
		t.Fatalf("credit while calls run: %+v", credit)
	}
	f.verify(t)
	batch := `{"records":[` + strings.Join(records, ",") + `]}`
	results := make([]apiIngest, 5)
	for i := range results {
		wg.Go(func() {
			r, err := f.at.send(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/cdrs", key: f.annKey, body: batch})
			if err != nil || r.status != http.StatusOK {
				t.Errorf("batch %d: %v %d %s", i, err, r.status, r.body)
				return
			}
			results[i] = decodeReply[apiIngest](t, r)
		})
	}
	wg.Wait()
	accepted, duplicates := 0, 0
	for _, res := range results {
		accepted += res.Accepted
		duplicates += res.Duplicates
	}
	if accepted != 50 || duplicates != 200 {
		t.Fatalf("accepted %d, duplicates %d; want 50 and 200", accepted, duplicates)
	}
	var credit store.Credit
	f.ts.store.View(func(tx *store.Tx) error {
		cl, _ := tx.Client(f.ts.ids["acme"], f.ann.ID)
		credit = tx.Credit(cl)
		return nil
	})
	if credit != (store.Credit{Available: 120_0000 - wantUsed, Used: wantUsed, Assigned: 120_0000}) {
		t.Fatalf("after settling: %+v, want used %d", credit, wantUsed)
	}
	f.verify(t)
}

// TestAPICallLimitIsSeparate: a key at its 600-a-minute limit still
// authorises calls, and the call limit answers 429 on its own.
func TestAPICallLimitIsSeparate(t *testing.T) {
	t.Parallel()
	f := newCallsFixture(t, "1.00")
	var id uint64
	f.ts.store.View(func(tx *store.Tx) error {
		keys, _ := tx.APIKeys(f.ts.ids["acme"])
		for _, k := range keys {
			if k.ClientID == f.ann.ID {
				id = k.ID
			}
		}
		return nil
	})
	for range f.ts.cfg.API.RequestsPerMinute {
		f.ts.app.api.perKey.allow(fmt.Sprint(id))
	}
	f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/account", key: f.annKey}, http.StatusTooManyRequests)
	body := authorizeBody("x", "inbound", "+14155550100", "+14155550111")
	f.at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/calls/authorize", key: f.annKey, body: body}, http.StatusOK)
	for range f.ts.cfg.API.CallsPerMinute {
		f.ts.app.api.perKeyCalls.allow(id)
	}
	r := f.at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/calls/authorize", key: f.annKey, body: body}, http.StatusTooManyRequests)
	if r.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	f.ts.clock.Advance(time.Minute)
	f.at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/calls/authorize", key: f.annKey, body: body}, http.StatusOK)
}

// TestAPIRatesTooLarge: a deck over 16 MiB is 413; one near it is read.
func TestAPIRatesTooLarge(t *testing.T) {
	t.Parallel()
	f := newAPIFixture(t)
	send := func(size int) (int, string) {
		header := "prefix,description,rate_per_minute,increment\n"
		r := f.ts.sendRaw(fmt.Sprintf("PUT /api/v1/rates HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: text/csv\r\nContent-Length: %d\r\n\r\n",
			acmeHost, f.acmeKey, size), []byte(header+strings.Repeat("#", size-len(header))))
		return r.status, r.body
	}
	if status, body := send(RatesLimit + 1); status != http.StatusRequestEntityTooLarge {
		t.Fatalf("over the limit: %d %s", status, body)
	}
	if status, body := send(2 << 20); status != http.StatusUnprocessableEntity || !strings.Contains(body, `"line":2`) {
		t.Fatalf("2 MiB of garbage: %d %s", status, body[:min(len(body), 300)])
	}
}
