package app

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"portico/store"
)

// numbersAPI sends number requests with a key to a host.
type numbersAPI struct {
	t   *testing.T
	f   *apiFixture
	key string
}

func (n numbersAPI) send(method, host, path, body string, want int) response {
	n.t.Helper()
	r := n.f.at.expect(apiRequest{method: method, host: host, path: "/api/v1" + path, key: n.key, body: body}, want)
	if want >= 400 {
		checkProblem(n.t, r)
	}
	return r
}

func (n numbersAPI) number(method, path, body string, want int) apiNumber {
	n.t.Helper()
	return decodeReply[apiNumber](n.t, n.send(method, acmeHost, path, body, want))
}

func (n numbersAPI) list(query string) apiList[apiNumber] {
	n.t.Helper()
	return decodeReply[apiList[apiNumber]](n.t, n.send("GET", acmeHost, "/numbers"+query, "", http.StatusOK))
}

func numbersOf(l apiList[apiNumber]) string {
	var out []string
	for _, n := range l.Data {
		out = append(out, n.Number)
	}
	return strings.Join(out, ",")
}

// TestAPINumbers walks the inventory through the API over two resellers:
// add with the type inferred, list with filters, assign, refuse a second
// holder and deleting a held number, release into quarantine (assigning
// is 409), and the number available again once 30 days have passed on
// the store's clock. Another reseller's key never reaches acme's numbers
// or clients, and a client key is refused.
func TestAPINumbers(t *testing.T) {
	t.Parallel()
	f := newAPIFixture(t)
	api := numbersAPI{t: t, f: f, key: f.acmeKey}
	cara := f.createClient(acmeHost, f.acmeKey, "cara.c")

	// Add: E.164, type inferred unless given, country, fees as decimals.
	n := api.number("POST", "/numbers", `{"number":"+1 415 555 2671","monthly_fee":"2.5","setup_fee":"10","label":"Front desk"}`, http.StatusCreated)
	want := apiNumber{Number: "+14155552671", Type: "local", Country: "US", MonthlyFee: "2.50", SetupFee: "10.00",
		Status: "available", Label: "Front desk", Currency: "USD"}
	if fmt.Sprint(n) != fmt.Sprint(want) {
		t.Fatalf("created %+v, want %+v", n, want)
	}
	r := api.send("POST", acmeHost, "/numbers", `{"number":"+447400123456","monthly_fee":"4"}`, http.StatusCreated)
	if loc := r.header.Get("Location"); loc != "/api/v1/numbers/+447400123456" {
		t.Errorf("Location %q", loc)
	}
	if body := r.body; !strings.Contains(body, `"client":null`) || !strings.Contains(body, `"assigned_at":null`) || !strings.Contains(body, `"type":"mobile"`) {
		t.Errorf("available number's reply: %s", body)
	}
	if n := api.number("POST", "/numbers", `{"number":"+18002345678","monthly_fee":"0"}`, http.StatusCreated); n.Type != "toll_free" || n.SetupFee != "0.00" {
		t.Errorf("toll-free: %+v", n)
	}
	if n := api.number("POST", "/numbers", `{"number":"+14155552672","type":"mobile","monthly_fee":"1"}`, http.StatusCreated); n.Type != "mobile" {
		t.Errorf("given type: %+v", n)
	}
	for _, bad := range []struct {
		body  string
		want  int
		field string
	}{
		{`{"number":"555","monthly_fee":"1"}`, http.StatusUnprocessableEntity, "number"},
		{`{"number":"+14155552673","type":"fax","monthly_fee":"1"}`, http.StatusUnprocessableEntity, "type"},
		{`{"number":"+14155552673","monthly_fee":"-1"}`, http.StatusUnprocessableEntity, "monthly_fee"},
		{`{"number":"+14155552673"}`, http.StatusUnprocessableEntity, "monthly_fee"},
		{`{"number":"+14155552673","monthly_fee":2.5}`, http.StatusBadRequest, "monthly_fee"},
		{`{"number":"+14155552673","monthly_fee":"1","client":"ann.lee"}`, http.StatusBadRequest, "client"},
	} {
		r := api.send("POST", acmeHost, "/numbers", bad.body, bad.want)
		if !strings.Contains(r.body, `"field":"`+bad.field+`"`) {
			t.Errorf("%s: %s, want a problem with %s", bad.body, r.body, bad.field)
		}
	}
	api.send("POST", acmeHost, "/numbers", `{"number":"+1 (415) 555-2671","monthly_fee":"1"}`, http.StatusConflict)

	// Globex has its own inventory: the same number is its own to add,
	// and acme's numbers and clients are not there.
	globex := numbersAPI{t: t, f: f, key: f.globexKey}
	globex.send("POST", globexHost, "/numbers", `{"number":"+14155552671","monthly_fee":"1"}`, http.StatusCreated)
	if l := decodeReply[apiList[apiNumber]](t, globex.send("GET", globexHost, "/numbers", "", http.StatusOK)); numbersOf(l) != "+14155552671" || l.Data[0].Currency != "EUR" {
		t.Errorf("globex's list: %+v", l)
	}
	globex.send("PATCH", globexHost, "/numbers/+447400123456", `{"label":"mine"}`, http.StatusNotFound)
	globex.send("DELETE", globexHost, "/numbers/+447400123456", "", http.StatusNotFound)
	globex.send("PATCH", globexHost, "/numbers/+14155552671", `{"client":"ann.lee"}`, http.StatusUnprocessableEntity)
	globex.send("PATCH", globexHost, "/numbers/+14155552671", fmt.Sprintf(`{"client":%d}`, f.ann.ID), http.StatusUnprocessableEntity)
	globex.send("GET", globexHost, "/numbers?client=ann.lee", "", http.StatusUnprocessableEntity)
	// acme's key on globex's host is no key at all
	api.send("GET", globexHost, "/numbers", "", http.StatusUnauthorized)

	// A client key may not use the inventory.
	client := numbersAPI{t: t, f: f, key: f.annKey}
	client.send("GET", acmeHost, "/numbers", "", http.StatusForbidden)
	client.send("POST", acmeHost, "/numbers", `{"number":"+14155552679","monthly_fee":"1"}`, http.StatusForbidden)
	client.send("PATCH", acmeHost, "/numbers/+14155552671", `{"client":"ann.lee"}`, http.StatusForbidden)
	client.send("DELETE", acmeHost, "/numbers/+18002345678", "", http.StatusForbidden)

	// Assign, by username; the path's + as is, as %2B, or left out.
	assigned := api.number("PATCH", "/numbers/%2B14155552671", `{"client":"ann.lee"}`, http.StatusOK)
	if assigned.Status != "assigned" || assigned.Client == nil || *assigned.Client != f.ann.ID || assigned.AssignedAt == nil ||
		*assigned.AssignedAt != f.ts.clock.Now().UTC().Format(time.RFC3339) {
		t.Fatalf("assigned: %+v", assigned)
	}
	if again := api.number("PATCH", "/numbers/14155552671", fmt.Sprintf(`{"client":%d,"monthly_fee":"3"}`, f.ann.ID), http.StatusOK); again.MonthlyFee != "3.00" || *again.Client != f.ann.ID {
		t.Errorf("same holder by id, with a fee: %+v", again)
	}
	api.send("PATCH", acmeHost, "/numbers/+14155552671", `{"client":"cara.c"}`, http.StatusConflict)
	api.send("PATCH", acmeHost, "/numbers/+14155552671", fmt.Sprintf(`{"client":%d}`, f.gus.ID), http.StatusUnprocessableEntity) // globex's client
	api.send("PATCH", acmeHost, "/numbers/+14155552671", `{"client":true}`, http.StatusBadRequest)
	api.send("PATCH", acmeHost, "/numbers/+14155552671", `{"client":""}`, http.StatusUnprocessableEntity)
	api.send("PATCH", acmeHost, "/numbers/+14155552671", `{"Client":null}`, http.StatusBadRequest)
	api.send("PATCH", acmeHost, "/numbers/+14155559999", `{"label":"x"}`, http.StatusNotFound)
	api.send("PATCH", acmeHost, "/numbers/not-a-number", `{"label":"x"}`, http.StatusNotFound)
	api.send("DELETE", acmeHost, "/numbers/+14155552671", "", http.StatusConflict)

	// List filters.
	if got := numbersOf(api.list("")); got != "+14155552671,+14155552672,+18002345678,+447400123456" {
		t.Errorf("all: %s", got)
	}
	if got := numbersOf(api.list("?status=assigned")); got != "+14155552671" {
		t.Errorf("assigned: %s", got)
	}
	if got := numbersOf(api.list("?client=ann.lee")); got != "+14155552671" {
		t.Errorf("ann's: %s", got)
	}
	if got := numbersOf(api.list(fmt.Sprintf("?client=%d", cara.ID))); got != "" {
		t.Errorf("cara's: %s", got)
	}
	page := api.list("?status=available&limit=2")
	if numbersOf(page) != "+14155552672,+18002345678" || page.NextCursor == "" {
		t.Fatalf("first page: %+v", page)
	}
	if page = api.list("?status=available&limit=2&cursor=" + page.NextCursor); numbersOf(page) != "+447400123456" || page.NextCursor != "" {
		t.Fatalf("second page: %+v", page)
	}
	api.send("GET", acmeHost, "/numbers?status=free", "", http.StatusUnprocessableEntity)
	api.send("GET", acmeHost, "/numbers?limit=0", "", http.StatusUnprocessableEntity)
	api.send("GET", acmeHost, "/numbers?cursor=bogus", "", http.StatusBadRequest)

	// Release: quarantined for 30 days, assigning it is 409 until then.
	released := api.number("PATCH", "/numbers/+14155552671", `{"client":null}`, http.StatusOK)
	if released.Status != "quarantined" || released.Client != nil || released.AssignedAt != nil {
		t.Fatalf("released: %+v", released)
	}
	api.send("PATCH", acmeHost, "/numbers/+14155552671", `{"client":"cara.c"}`, http.StatusConflict)
	api.send("DELETE", acmeHost, "/numbers/+14155552671", "", http.StatusConflict)
	if got := numbersOf(api.list("?status=quarantined")); got != "+14155552671" {
		t.Errorf("quarantined: %s", got)
	}
	f.ts.clock.Advance(store.QuarantineDays*24*time.Hour - time.Minute)
	api.send("PATCH", acmeHost, "/numbers/+14155552671", `{"client":"cara.c"}`, http.StatusConflict)
	f.ts.clock.Advance(time.Minute)
	if got := numbersOf(api.list("?status=quarantined")); got != "" {
		t.Errorf("quarantined after 30 days: %s", got)
	}
	if n := api.number("PATCH", "/numbers/+14155552671", `{"client":"cara.c"}`, http.StatusOK); n.Status != "assigned" || *n.Client != cara.ID {
		t.Errorf("assigned after the quarantine: %+v", n)
	}

	// Delete while available.
	api.send("DELETE", acmeHost, "/numbers/+18002345678", "", http.StatusNoContent)
	api.send("DELETE", acmeHost, "/numbers/+18002345678", "", http.StatusNotFound)
	if got := numbersOf(api.list("")); got != "+14155552671,+14155552672,+447400123456" {
		t.Errorf("after the delete: %s", got)
	}

	// The audit names the key.
	var actions []string
	for _, a := range auditActions(t, f.ts) {
		if strings.HasPrefix(a, "number") {
			actions = append(actions, a)
		}
	}
	if len(actions) == 0 {
		t.Error("no number events audited")
	}
	if problems, err := f.ts.store.Verify(); err != nil || len(problems) > 0 {
		t.Errorf("verify: %v %v", problems, err)
	}
}
