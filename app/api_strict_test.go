package app

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAPIStrictJSON is issue 10's probe: {"amount":"0.01","Amount":"2.00"}
// credited 2.00, because field names matched in any case and the last of
// a duplicated name won. Every JSON body — the standard decoder's and the
// fast CDR and authorise readers' — now refuses a duplicate or wrongly
// cased name with a 400 problem naming the field, and nothing moves.
func TestAPIStrictJSON(t *testing.T) {
	t.Parallel()
	f := newCallsFixture(t, "")
	started := f.ts.clock.Now().Add(-time.Hour).Format(time.RFC3339)
	cdr := `"direction":"outbound","from":"+14155550100","to":"+442079460958","started_at":"` + started + `","duration_s":61,"disposition":"answered"`
	for _, sc := range []struct {
		name, method, path, key, body, field string
	}{
		{"credit, name in another case", "POST", "/api/v1/clients/ann.lee/credits", f.acmeKey, `{"amount":"0.01","Amount":"2.00"}`, "Amount"},
		{"credit, name given twice", "POST", "/api/v1/clients/ann.lee/credits", f.acmeKey, `{"amount":"0.01","amount":"2.00"}`, "amount"},
		{"credit, upper case only", "POST", "/api/v1/clients/ann.lee/credits", f.acmeKey, `{"AMOUNT":"2.00"}`, "AMOUNT"},
		{"new client, embedded field twice", "POST", "/api/v1/clients", f.acmeKey, strings.Replace(newClientBody("dup.user"), `"email"`, `"email":"a@example.com","email"`, 1), "email"},
		{"patch, status twice", "PATCH", "/api/v1/clients/ann.lee", f.acmeKey, `{"status":"active","status":"disabled"}`, "status"},
		{"patch, name in another case", "PATCH", "/api/v1/clients/ann.lee", f.acmeKey, `{"Status":"disabled"}`, "Status"},
		{"key, name twice", "POST", "/api/v1/clients/ann.lee/api-keys", f.acmeKey, `{"name":"a","name":"b"}`, "name"},
		{"blocked caller, name in another case", "POST", "/api/v1/blocked-callers", f.annKey, `{"Number":"+14155550100"}`, "Number"},
		{"authorize, to twice", "POST", "/api/v1/calls/authorize", f.annKey, `{"call_id":"c1","direction":"outbound","from":"+14155550100","to":"+442079460958","to":"+19005550100"}`, "to"},
		{"authorize, name in another case", "POST", "/api/v1/calls/authorize", f.annKey, `{"call_id":"c1","direction":"outbound","from":"+14155550100","To":"+442079460958"}`, "To"},
		{"cdr, duration twice", "POST", "/api/v1/cdrs", f.annKey, `{"records":[{"call_id":"d1",` + cdr + `,"duration_s":1}]}`, "records[0].duration_s"},
		{"cdr, name in another case", "POST", "/api/v1/cdrs", f.annKey, `{"records":[{"call_id":"d2",` + cdr + `},{"Call_ID":"d3",` + cdr + `}]}`, "records[1].Call_ID"},
		{"cdr envelope twice", "POST", "/api/v1/cdrs", f.annKey, `{"records":[],"records":[{"call_id":"d4",` + cdr + `}]}`, "records"},
	} {
		t.Run(sc.name, func(t *testing.T) {
			r := f.at.do(apiRequest{method: sc.method, host: acmeHost, path: sc.path, key: sc.key, body: sc.body})
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400\n%s", r.status, r.body)
			}
			checkProblem(t, r)
			if !strings.Contains(r.body, `"field":"`+sc.field+`"`) {
				t.Errorf("the problem does not name %s\n%s", sc.field, r.body)
			}
		})
	}
	// nothing moved: no credit, no reservation, no CDR, no key, no block
	if credit := f.annCredit(t); credit.Available != "0.00" || credit.Assigned != "0.00" || credit.Reserved != "0.00" || credit.Used != "0.00" {
		t.Fatalf("credit moved: %+v", credit)
	}
	if r := f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/cdrs", key: f.annKey}, http.StatusOK); strings.Contains(r.body, `"call_id"`) {
		t.Fatalf("a CDR was saved: %s", r.body)
	}
	if r := f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients/ann.lee", key: f.acmeKey}, http.StatusOK); !strings.Contains(r.body, `"status":"active"`) {
		t.Fatalf("the client changed: %s", r.body)
	}
	if r := f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/blocked-callers", key: f.annKey}, http.StatusOK); strings.Contains(r.body, "+1415") {
		t.Fatalf("a caller was blocked: %s", r.body)
	}
	// the exact spelling still works, on the fast paths too
	f.at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients/ann.lee/credits", key: f.acmeKey, body: `{"amount":"0.01"}`}, http.StatusCreated)
	f.at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/cdrs", key: f.annKey, body: `{"records":[{"call_id":"ok",` + cdr + `}]}`}, http.StatusOK)
	f.verify(t)
}
