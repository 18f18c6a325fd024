package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"portico/app/auth"
	"portico/app/tenancy"
	"portico/store"
)

// apiTester sends JSON API requests to the test server.
type apiTester struct {
	t      *testing.T
	ts     *testServer
	client *http.Client
}

func (ts *testServer) api(t *testing.T) *apiTester {
	return &apiTester{t: t, ts: ts, client: ts.browser().client}
}

// apiRequest is one request; body, when set, is sent as application/json
// unless header says otherwise.
type apiRequest struct {
	method, host, path, key, body string
	header                        map[string]string
}

// send performs r without touching t, so goroutines may call it.
func (at *apiTester) send(r apiRequest) (response, error) {
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req, err := http.NewRequest(r.method, at.ts.url(r.host, r.path), body)
	if err != nil {
		return response{}, err
	}
	if r.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.key != "" {
		req.Header.Set("Authorization", "Bearer "+r.key)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	resp, err := at.client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(data)}, err
}

func (at *apiTester) do(r apiRequest) response {
	at.t.Helper()
	resp, err := at.send(r)
	if err != nil {
		at.t.Fatal(err)
	}
	return resp
}

// expect performs r and fails unless the status is want.
func (at *apiTester) expect(r apiRequest, want int) response {
	at.t.Helper()
	resp := at.do(r)
	if resp.status != want {
		at.t.Fatalf("%s %s%s: status %d, want %d\n%s", r.method, r.host, r.path, resp.status, want, resp.body)
	}
	return resp
}

func decodeReply[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("reply is not the expected JSON: %v\n%s", err, r.body)
	}
	return v
}

// newClientBody is a valid POST /clients body.
func newClientBody(username string) string {
	return fmt.Sprintf(`{"username":%q,"first_name":"Ann","last_name":"Lee","email":"%s@example.com",`+
		`"phone":"(415) 555-2671","country":"us","company":"Lee Co","password":%q}`, username, username, testPassword)
}

// apiFixture is the test server with a reseller key for each reseller and
// a client of each, made through the API.
type apiFixture struct {
	ts                 *testServer
	at                 *apiTester
	acmeKey, globexKey string
	ann                apiClient // acme's
	gus                apiClient // globex's
	annKey             string    // ann's client key
	restrictedKey      string    // the key of an acme client disabled with restrict_api
}

func newAPIFixture(t *testing.T) *apiFixture {
	t.Helper()
	ts := newTestServer(t)
	f := &apiFixture{ts: ts, at: ts.api(t)}
	var err error
	if f.acmeKey, err = tenancy.CreateResellerAPIKey(ts.store, "acme", "test", "test"); err != nil {
		t.Fatal(err)
	}
	if f.globexKey, err = tenancy.CreateResellerAPIKey(ts.store, "globex", "test", "test"); err != nil {
		t.Fatal(err)
	}
	f.ann = f.createClient(acmeHost, f.acmeKey, "ann.lee")
	f.gus = f.createClient(globexHost, f.globexKey, "gus.green")
	f.annKey = f.createKey(acmeHost, f.acmeKey, "ann.lee", "pbx")
	f.createClient(acmeHost, f.acmeKey, "rita.r")
	f.restrictedKey = f.createKey(acmeHost, f.acmeKey, "rita.r", "pbx")
	f.at.expect(apiRequest{method: "PATCH", host: acmeHost, path: "/api/v1/clients/rita.r", key: f.acmeKey,
		body: `{"status":"disabled","restrict_api":true}`}, http.StatusOK)
	return f
}

func (f *apiFixture) createClient(host, key, username string) apiClient {
	f.at.t.Helper()
	r := f.at.expect(apiRequest{method: "POST", host: host, path: "/api/v1/clients", key: key, body: newClientBody(username)}, http.StatusCreated)
	return decodeReply[apiClient](f.at.t, r)
}

func (f *apiFixture) createKey(host, key, client, name string) string {
	f.at.t.Helper()
	r := f.at.expect(apiRequest{method: "POST", host: host, path: "/api/v1/clients/" + client + "/api-keys", key: key,
		body: `{"name":"` + name + `"}`}, http.StatusCreated)
	return decodeReply[apiNewKey](f.at.t, r).Key
}

// TestAPIScenarios walks every endpoint with each kind of key on both
// resellers' hosts, successes and failures.
func TestAPIScenarios(t *testing.T) {
	t.Parallel()
	f := newAPIFixture(t)
	ann, gus := fmt.Sprint(f.ann.ID), fmt.Sprint(f.gus.ID)
	acme, globex, annKey := f.acmeKey, f.globexKey, f.annKey
	unknownKey := "pk_abcdefgh_" + strings.Repeat("x", 43)
	// exactly 1 MiB is accepted (and judged on its fields)
	limit := `{"username":"` + strings.Repeat("a", BodyLimit-len(`{"username":""}`)) + `"}`

	scenarios := []struct {
		name     string
		req      apiRequest
		status   int
		contains []string
		absent   []string
	}{
		{"openapi needs no key", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/openapi.json"}, 200, []string{`"openapi": "3.1.0"`}, nil},

		{"no key", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients"}, 401, []string{"Bearer"}, nil},
		{"malformed key", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients", key: "garbage"}, 401, nil, nil},
		{"other scheme", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients", header: map[string]string{"Authorization": "Basic " + acme}}, 401, nil, nil},
		{"unknown key", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients", key: unknownKey}, 401, []string{"not valid"}, nil},
		{"other reseller's key", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients", key: globex}, 401, nil, []string{"gus"}},
		{"key on other reseller's host", apiRequest{method: "GET", host: globexHost, path: "/api/v1/clients/" + gus, key: acme}, 401, nil, []string{"gus"}},
		{"client key on other reseller's host", apiRequest{method: "GET", host: globexHost, path: "/api/v1/account", key: annKey}, 401, nil, nil},
		{"unknown host", apiRequest{method: "GET", host: "nobody.example", path: "/api/v1/clients", key: acme}, 404, nil, []string{"Acme"}},

		{"client key on reseller list", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients", key: annKey}, 403, []string{"reseller key"}, nil},
		{"client key on its own client", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients/" + ann, key: annKey}, 403, nil, nil},
		{"client key recharging", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients/" + ann + "/credits", key: annKey, body: `{"amount":"5"}`}, 403, nil, nil},
		{"client key minting keys", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients/" + ann + "/api-keys", key: annKey, body: `{"name":"x"}`}, 403, nil, nil},
		{"client key creating clients", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients", key: annKey, body: newClientBody("mallory")}, 403, nil, nil},
		{"reseller key on /account", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/account", key: acme}, 403, []string{"/clients/{client}/account"}, nil},
		{"restricted client", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/account", key: f.restrictedKey}, 403, []string{"suspended"}, nil},

		{"account", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/account", key: annKey}, 200,
			[]string{`"username":"ann.lee"`, `"company":"Lee Co"`, `"status":"active"`, `"currency":"USD"`, `"available":"0.00"`}, []string{"email"}},
		{"account for reseller key", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients/ann.lee/account", key: acme}, 200, []string{`"id":` + ann, `"reserved":"0.00"`}, nil},
		{"client by id", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients/" + ann, key: acme}, 200,
			[]string{`"username":"ann.lee"`, `"phone":"+14155552671"`, `"country":"US"`, `"created_at":"2026-11-02T10:00:00Z"`, `"credit":{`}, []string{"password", "disabled_at"}},
		{"client by username, any case", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients/ANN.LEE", key: acme}, 200, []string{`"id":` + ann}, nil},
		{"custom domain", apiRequest{method: "GET", host: acmeDomain, path: "/api/v1/clients", key: acme}, 200, []string{"ann.lee", "cleo"}, []string{"gus"}},
		{"list is the reseller's own", apiRequest{method: "GET", host: globexHost, path: "/api/v1/clients", key: globex}, 200, []string{"gus.green", `"currency":"EUR"`}, []string{"ann.lee", "cleo", "next_cursor"}},

		{"other reseller's client by id", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients/" + gus, key: acme}, 404, nil, []string{"gus"}},
		{"other reseller's client by username", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients/gus.green", key: acme}, 404, nil, nil},
		{"patching other reseller's client", apiRequest{method: "PATCH", host: acmeHost, path: "/api/v1/clients/" + gus, key: acme, body: `{"city":"X"}`}, 404, nil, nil},
		{"recharging other reseller's client", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients/" + gus + "/credits", key: acme, body: `{"amount":"5"}`}, 404, nil, nil},
		{"keys for other reseller's client", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients/" + gus + "/api-keys", key: acme, body: `{"name":"x"}`}, 404, nil, nil},
		{"other reseller's account", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients/" + gus + "/account", key: acme}, 404, nil, nil},
		{"no such client", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients/999999", key: acme}, 404, nil, nil},
		{"no such endpoint", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/nothing", key: acme}, 404, nil, nil},
		{"no such method", apiRequest{method: "DELETE", host: acmeHost, path: "/api/v1/clients/" + ann, key: acme}, 404, nil, nil},

		{"unknown field", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients", key: acme, body: `{"username":"x","admin":true}`}, 400, []string{`"field":"admin"`}, nil},
		{"password is not patchable", apiRequest{method: "PATCH", host: acmeHost, path: "/api/v1/clients/" + ann, key: acme, body: `{"password":"N3w-Passw0rd!"}`}, 400, []string{`"field":"password"`}, []string{"N3w-Passw0rd!"}},
		{"malformed JSON", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients", key: acme, body: `{"username":`}, 400, []string{"not valid JSON"}, nil},
		{"not an object", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients", key: acme, body: `["ann"]`}, 400, nil, nil},
		{"data after the object", apiRequest{method: "PATCH", host: acmeHost, path: "/api/v1/clients/" + ann, key: acme, body: `{} {}`}, 400, nil, nil},
		{"amount as a number", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients/" + ann + "/credits", key: acme, body: `{"amount":12.5}`}, 400, []string{`"field":"amount"`, "JSON string"}, nil},
		{"wrong type in embedded input", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients", key: acme, body: `{"username":5}`}, 400, []string{`"field":"username"`}, nil},
		{"empty body", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients", key: acme, header: map[string]string{"Content-Type": "application/json"}}, 400, nil, nil},
		{"bad cursor", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients?cursor=bogus", key: acme}, 400, []string{"cursor"}, nil},
		{"bad idempotency key", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients/" + ann + "/credits", key: acme, body: `{"amount":"5"}`,
			header: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}}, 400, []string{"Idempotency-Key"}, nil},
		{"wrong content type", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients", key: acme, body: newClientBody("form.post"),
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 415, []string{"application/json"}, nil},

		{"body of exactly 1 MiB", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients", key: acme, body: limit}, 422, []string{`"field":"username"`}, nil},
		{"empty client", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients", key: acme, body: `{}`}, 422,
			[]string{`"field":"username"`, `"field":"first_name"`, `"field":"last_name"`, `"field":"email"`, `"field":"country"`, `"field":"password"`}, nil},
		{"plan", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients", key: acme, body: strings.Replace(newClientBody("planned"), "{", `{"plan":"gold",`, 1)}, 422,
			[]string{`"field":"plan"`, "not available yet"}, []string{`"field":"username"`}},
		{"taken username", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients", key: acme, body: strings.Replace(newClientBody("ANN.LEE"), "ANN.LEE@", "other@", 1)}, 422,
			[]string{`"field":"username"`, "taken"}, nil},
		{"weak password", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients", key: acme, body: strings.Replace(newClientBody("weak"), testPassword, "password", 1)}, 422,
			[]string{`"field":"password"`}, []string{`"field":"confirm"`}},
		{"bad patch", apiRequest{method: "PATCH", host: acmeHost, path: "/api/v1/clients/" + ann, key: acme, body: `{"email":"nope","status":"paused"}`}, 422,
			[]string{`"field":"email"`, `"field":"status"`}, nil},
		{"restricting an active client", apiRequest{method: "PATCH", host: acmeHost, path: "/api/v1/clients/" + ann, key: acme, body: `{"restrict_api":true}`}, 422,
			[]string{`"field":"restrict_api"`}, nil},
		{"zero amount", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients/" + ann + "/credits", key: acme, body: `{"amount":"0"}`}, 422, []string{`"field":"amount"`, "above zero"}, nil},
		{"too many decimals", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients/" + ann + "/credits", key: acme, body: `{"amount":"1.005"}`}, 422, []string{"at most 2 decimals"}, nil},
		{"no amount", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients/" + ann + "/credits", key: acme, body: `{"note":"x"}`}, 422, []string{`"field":"amount"`}, nil},
		{"nameless key", apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients/" + ann + "/api-keys", key: acme, body: `{"name":"  "}`}, 422, []string{`"field":"name"`}, nil},
		{"limit out of range", apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients?limit=501&status=gone", key: acme}, 422, []string{`"field":"limit"`, `"field":"status"`}, nil},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			at := f.ts.api(t)
			r := at.do(sc.req)
			if r.status != sc.status {
				t.Fatalf("%s %s%s: status %d, want %d\n%s", sc.req.method, sc.req.host, sc.req.path, r.status, sc.status, r.body)
			}
			if sc.status >= 400 {
				checkProblem(t, r)
			} else if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("content type %q", ct)
			}
			for _, want := range sc.contains {
				if !strings.Contains(r.body, want) {
					t.Errorf("body lacks %s\n%s", want, r.body)
				}
			}
			for _, bad := range sc.absent {
				if strings.Contains(r.body, bad) {
					t.Errorf("body contains %s\n%s", bad, r.body)
				}
			}
		})
	}
}

// checkProblem asserts an RFC 9457 problem document.
func checkProblem(t *testing.T, r response) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("content type %q, want application/problem+json", ct)
	}
	p := decodeReply[problem](t, r)
	if p.Type != "about:blank" || p.Status != r.status || p.Title != http.StatusText(r.status) || p.Detail == "" {
		t.Errorf("problem %+v for status %d", p, r.status)
	}
	if (r.status == 400 || r.status == 422) && strings.Contains(r.body, `"errors"`) && len(p.Errors) == 0 {
		t.Errorf("empty errors list")
	}
	if r.status == http.StatusUnauthorized && r.header.Get("WWW-Authenticate") == "" {
		t.Errorf("401 without WWW-Authenticate")
	}
	if r.status == http.StatusUnprocessableEntity && len(p.Errors) == 0 {
		t.Errorf("422 lists no fields")
	}
}

// TestAPIClientLifecycle edits, disables and enables a client through the
// API, and checks the audit trail names the key and address.
func TestAPIClientLifecycle(t *testing.T) {
	t.Parallel()
	f := newAPIFixture(t)
	at, key := f.at, f.acmeKey
	path := "/api/v1/clients/" + fmt.Sprint(f.ann.ID)
	patch := func(body string) apiClient {
		t.Helper()
		return decodeReply[apiClient](t, at.expect(apiRequest{method: "PATCH", host: acmeHost, path: path, key: key, body: body}, http.StatusOK))
	}
	account := func(want int) {
		t.Helper()
		at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/account", key: f.annKey}, want)
	}
	before := auditActions(t, f.ts)

	cl := patch(`{"city":"Oakland","company":"Lee Labs","phone":"+1 415 555 2671"}`)
	if cl.City != "Oakland" || cl.Company != "Lee Labs" || cl.FirstName != "Ann" || cl.Phone != "+14155552671" || cl.Status != "active" {
		t.Fatalf("after patch: %+v", cl)
	}
	patch(`{}`)
	patch(`{"phone":"(415) 555-2671"}`) // the same number in another form changes nothing

	account(http.StatusOK)
	cl = patch(`{"status":"disabled","restrict_api":true}`)
	if cl.Status != "disabled" || !cl.RestrictAPI || cl.DisabledAt != "2026-11-02T10:00:00Z" || cl.DeletionAt != "2027-01-31T10:00:00Z" {
		t.Fatalf("after disable: %+v", cl)
	}
	account(http.StatusForbidden)
	cl = patch(`{"status":"active"}`)
	if cl.Status != "active" || cl.RestrictAPI || cl.DisabledAt != "" {
		t.Fatalf("after enable: %+v", cl)
	}
	account(http.StatusOK)
	patch(`{"status":"disabled"}`)
	account(http.StatusOK) // disabled without restriction: the PBX keeps working

	cl = patch(`{"username":"ann.l"}`)
	at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients/ann.l", key: key}, http.StatusOK)
	at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients/ann.lee", key: key}, http.StatusNotFound)

	got := auditActions(t, f.ts)[len(before):]
	want := []string{"client.update", "client.disable", "client.enable", "client.disable", "client.update"}
	if !slices.Equal(got, want) {
		t.Errorf("audit %v, want %v", got, want)
	}
	var events []*store.AuditEvent
	f.ts.store.View(func(tx *store.Tx) (err error) { events, _, err = tx.AuditEvents(f.ts.ids["acme"], 0, 1); return err })
	if events[0].Actor != "api:"+f.acmeKey[:11] || events[0].IP != "127.0.0.1" || strings.Contains(events[0].Actor, f.acmeKey[12:]) {
		t.Errorf("audit names %q from %q", events[0].Actor, events[0].IP)
	}
}

// auditActions lists acme's audit actions, oldest first.
func auditActions(t *testing.T, ts *testServer) []string {
	t.Helper()
	var events []*store.AuditEvent
	if err := ts.store.View(func(tx *store.Tx) (err error) { events, _, err = tx.AuditEvents(ts.ids["acme"], 0, 1000); return err }); err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(events))
	for i, e := range events {
		out[len(events)-1-i] = e.Action
	}
	return out
}

// TestAPIPagination: seven clients at three a page are three pages, the
// last without next_cursor; filters apply before paging.
func TestAPIPagination(t *testing.T) {
	t.Parallel()
	f := newAPIFixture(t)
	for i := range 6 {
		f.createClient(globexHost, f.globexKey, fmt.Sprintf("page-%d", i+1)) // with gus.green: seven
	}
	var ids []uint64
	var sizes []int
	cursor := ""
	for range 5 {
		r := f.at.expect(apiRequest{method: "GET", host: globexHost, path: "/api/v1/clients?limit=3&cursor=" + cursor, key: f.globexKey}, http.StatusOK)
		page := decodeReply[apiList[apiClient]](t, r)
		sizes = append(sizes, len(page.Data))
		for _, cl := range page.Data {
			ids = append(ids, cl.ID)
		}
		if page.NextCursor == "" {
			if strings.Contains(r.body, "next_cursor") {
				t.Errorf("last page names a cursor: %s", r.body)
			}
			break
		}
		cursor = page.NextCursor
	}
	if !slices.Equal(sizes, []int{3, 3, 1}) || len(ids) != 7 || !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != 7 {
		t.Fatalf("pages of %v with ids %v", sizes, ids)
	}
	for query, want := range map[string]int{"q=PAGE-7": 0, "q=page-6": 1, "q=example.com": 7, "q=lee%20co&limit=2": 2, "status=disabled": 0, "status=active": 7} {
		r := f.at.expect(apiRequest{method: "GET", host: globexHost, path: "/api/v1/clients?" + query, key: f.globexKey}, http.StatusOK)
		if got := len(decodeReply[apiList[apiClient]](t, r).Data); got != want || !strings.Contains(r.body, `"data":[`) {
			t.Errorf("%s: %d clients, want %d\n%s", query, got, want, r.body)
		}
	}
	r := f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients?q=page", key: f.acmeKey}, http.StatusOK)
	if r.body != `{"data":[]}` {
		t.Errorf("acme sees globex's clients: %s", r.body)
	}
}

// TestAPIIdempotentRecharge: the same Idempotency-Key and body answer the
// first entry and move nothing; another body or client is 409.
func TestAPIIdempotentRecharge(t *testing.T) {
	t.Parallel()
	f := newAPIFixture(t)
	recharge := func(client, body, key string, want int) response {
		t.Helper()
		header := map[string]string{}
		if key != "" {
			header["Idempotency-Key"] = key
		}
		return f.at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients/" + client + "/credits", key: f.acmeKey, body: body, header: header}, want)
	}
	first := recharge("ann.lee", `{"amount":"25.00","note":"welcome"}`, "order-1", http.StatusCreated)
	again := recharge("ann.lee", `{"amount":"25.00","note":"welcome"}`, "order-1", http.StatusCreated)
	a, b := decodeReply[apiRecharge](t, first), decodeReply[apiRecharge](t, again)
	if a.EntryID == 0 || a.EntryID != b.EntryID || a.Credit.Available != "25.00" || b.Credit != a.Credit || a.Credit.Currency != "USD" {
		t.Fatalf("first %+v, replay %+v", a, b)
	}
	if first.header.Get("Idempotent-Replayed") != "" || again.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("Idempotent-Replayed: %q then %q", first.header.Get("Idempotent-Replayed"), again.header.Get("Idempotent-Replayed"))
	}
	checkProblem(t, recharge("ann.lee", `{"amount":"26.00","note":"welcome"}`, "order-1", http.StatusConflict))
	checkProblem(t, recharge("ann.lee", `{"amount":"25.00"}`, "order-1", http.StatusConflict))
	checkProblem(t, recharge("cleo", `{"amount":"25.00","note":"welcome"}`, "order-1", http.StatusConflict))
	recharge("ann.lee", `{"amount":"0.10"}`, "", http.StatusCreated) // without a key every request counts
	last := decodeReply[apiRecharge](t, recharge("ann.lee", `{"amount":"0.10"}`, "", http.StatusCreated))
	if last.Credit.Available != "25.20" || last.Credit.Assigned != "25.20" {
		t.Errorf("credit %+v, want 25.20", last.Credit)
	}
	if n := grantsOf(t, f.ts, f.ann.ID); n != 3 {
		t.Errorf("%d grants, want 3", n)
	}
}

func grantsOf(t *testing.T, ts *testServer, clientID uint64) int {
	t.Helper()
	var ledger []*store.LedgerTx
	if err := ts.store.View(func(tx *store.Tx) (err error) { ledger, err = tx.ClientLedger(ts.ids["acme"], clientID); return err }); err != nil {
		t.Fatal(err)
	}
	return len(ledger)
}

// TestAPIConcurrentRecharges: one request retried at once from many
// connections moves money once and every reply names the same entry.
func TestAPIConcurrentRecharges(t *testing.T) {
	t.Parallel()
	f := newAPIFixture(t)
	const callers = 16
	replies := make(chan response, callers)
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			r, err := f.at.send(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients/ann.lee/credits", key: f.acmeKey,
				body: `{"amount":"40.00","note":"retry storm"}`, header: map[string]string{"Idempotency-Key": "storm-1"}})
			if err != nil {
				r = response{body: err.Error()}
			}
			replies <- r
		})
	}
	wg.Wait()
	close(replies)
	entries := map[uint64]int{}
	for r := range replies {
		if r.status != http.StatusCreated {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		entries[decodeReply[apiRecharge](t, r).EntryID]++
	}
	if len(entries) != 1 {
		t.Fatalf("entries %v, want one", entries)
	}
	r := f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients/ann.lee/account", key: f.acmeKey}, http.StatusOK)
	if credit := decodeReply[apiAccount](t, r).Credit; credit.Assigned != "40.00" || credit.Available != "40.00" {
		t.Errorf("credit %+v, want 40.00 once", credit)
	}
	if n := grantsOf(t, f.ts, f.ann.ID); n != 1 {
		t.Errorf("%d grants, want 1", n)
	}
	if problems, err := f.ts.store.Verify(); err != nil || len(problems) > 0 {
		t.Fatalf("verify: %v %v", problems, err)
	}
}

var apiKeyPattern = regexp.MustCompile(`^pk_[a-z2-9]{8}_[A-Za-z0-9_-]{43}$`)

// TestAPIKeys: keys are shown once, work for their client only, and an
// eleventh active key is refused.
func TestAPIKeys(t *testing.T) {
	t.Parallel()
	f := newAPIFixture(t)
	f.createClient(acmeHost, f.acmeKey, "keys.test")
	var keys []string
	for i := range store.MaxActiveAPIKeys {
		r := f.at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients/keys.test/api-keys", key: f.acmeKey,
			body: fmt.Sprintf(`{"name":"pbx %d"}`, i)}, http.StatusCreated)
		k := decodeReply[apiNewKey](t, r)
		if !apiKeyPattern.MatchString(k.Key) || k.ID == 0 || k.Name != fmt.Sprintf("pbx %d", i) {
			t.Fatalf("key %+v", k)
		}
		keys = append(keys, k.Key)
	}
	r := f.at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients/keys.test/api-keys", key: f.acmeKey, body: `{"name":"eleventh"}`}, http.StatusConflict)
	checkProblem(t, r)
	r = f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/account", key: keys[9]}, http.StatusOK)
	if decodeReply[apiAccount](t, r).Username != "keys.test" {
		t.Errorf("key acts for %s", r.body)
	}
	// another client's allowance is its own
	f.at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients/ann.lee/api-keys", key: f.acmeKey, body: `{"name":"second"}`}, http.StatusCreated)
	var stored []*store.APIKey
	f.ts.store.View(func(tx *store.Tx) (err error) { stored, err = tx.APIKeys(f.ts.ids["acme"]); return err })
	for _, k := range stored {
		if strings.Contains(string(k.Hash), keys[0]) || strings.Contains(k.Prefix, keys[0][12:]) {
			t.Fatalf("a secret is stored: %+v", k)
		}
	}
}

// TestAPIRateLimit: past 600 requests a minute a key gets 429 with
// Retry-After; other keys are unaffected; the next minute it works again.
func TestAPIRateLimit(t *testing.T) {
	t.Parallel()
	f := newAPIFixture(t)
	id := apiKeyID(t, f.ts, f.acmeKey)
	for range f.ts.cfg.API.RequestsPerMinute {
		f.ts.app.api.perKey.allow(fmt.Sprint(id)) // as if 600 requests had come
	}
	r := f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients", key: f.acmeKey}, http.StatusTooManyRequests)
	checkProblem(t, r)
	if r.header.Get("Retry-After") != "60" {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}
	f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/account", key: f.annKey}, http.StatusOK)
	f.ts.clock.Advance(time.Minute)
	f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients", key: f.acmeKey}, http.StatusOK)
}

func apiKeyID(t *testing.T, ts *testServer, key string) uint64 {
	t.Helper()
	var k *store.APIKey
	if err := ts.store.View(func(tx *store.Tx) (err error) { k, err = tx.APIKeyByHash(auth.HashToken(key)); return err }); err != nil {
		t.Fatal(err)
	}
	return k.ID
}

// TestAPIKeyLastUsed: uses are noted in memory at most once a minute and
// reading through the API writes nothing to the store.
func TestAPIKeyLastUsed(t *testing.T) {
	t.Parallel()
	f := newAPIFixture(t)
	id := store.APIKeyRef{ResellerID: f.ts.ids["acme"], KeyID: apiKeyID(t, f.ts, f.acmeKey)}
	get := func() {
		t.Helper()
		f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients/ann.lee", key: f.acmeKey}, http.StatusOK)
	}
	start := f.ts.clock.Now()
	writes := f.ts.store.Writes()
	get()
	f.ts.clock.Advance(30 * time.Second)
	get()
	if at, ok := f.ts.app.api.used.lastUsed(id); !ok || !at.Equal(start) {
		t.Errorf("last used %v %v, want %v (once a minute)", at, ok, start)
	}
	f.ts.clock.Advance(31 * time.Second)
	get()
	if at, _ := f.ts.app.api.used.lastUsed(id); !at.Equal(start.Add(61 * time.Second)) {
		t.Errorf("last used %v, want a minute later", at)
	}
	if n := f.ts.store.Writes() - writes; n != 0 {
		t.Errorf("API reads wrote %d transactions", n)
	}
	// the background flush stores the newest use
	f.ts.app.writeTouches()
	f.ts.store.View(func(tx *store.Tx) error {
		k, err := tx.APIKeyByHash(auth.HashToken(f.acmeKey))
		if err != nil || !k.LastUsedAt.Equal(start.Add(61*time.Second)) {
			t.Errorf("stored last used %v %v", k.LastUsedAt, err)
		}
		return nil
	})
}

// TestAPIRoutesMatchOpenAPI: every /api/v1 route is in openapi.json with
// the same method and {param} names, and the document has nothing else.
func TestAPIRoutesMatchOpenAPI(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil || doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi.json: %v %q", err, doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths {
		for method := range item {
			if method != "parameters" {
				documented[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	param := regexp.MustCompile(`:(\w+)(<[^>]*>)?`)
	served := map[string]bool{}
	for _, r := range ts.app.Fiber().GetRoutes(true) {
		path, ok := strings.CutPrefix(r.Path, "/api/v1/")
		if !ok || r.Method == http.MethodHead {
			continue
		}
		served[r.Method+" "+param.ReplaceAllString("/"+path, "{$1}")] = true
	}
	for route := range served {
		if !documented[route] {
			t.Errorf("%s is served but not in openapi.json", route)
		}
	}
	for route := range documented {
		if !served[route] {
			t.Errorf("%s is in openapi.json but not served", route)
		}
	}
	if len(served) < 8 {
		t.Errorf("only %d API routes found: %v", len(served), served)
	}
}

// TestAPIBodyTooLarge: a body over 1 MiB is refused with 413 problem+json
// before the key is looked at (and before the body is read: the server
// answers from the declared length and closes). The request goes over a
// raw connection that offers the whole body beside reading the answer.
func TestAPIBodyTooLarge(t *testing.T) {
	t.Parallel()
	f := newAPIFixture(t)
	r := f.ts.sendRaw(fmt.Sprintf("POST /api/v1/clients HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", acmeHost, f.acmeKey, BodyLimit+1), bytes.Repeat([]byte(" "), BodyLimit+1))
	if r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413\n%s", r.status, r.body)
	}
	checkProblem(t, r)
}
