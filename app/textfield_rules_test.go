package app

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"portico/app/tenancy"
)

// TestControlCharactersRefused is issue 10's probe: CR, LF and other
// control characters were accepted in client names, company and notes,
// and a company reached the subject of an invitation mail ("You are
// invited to join Lee Co\r\nBcc: ..."). Every single-line text field now
// refuses them with a field error (app/textfield), in the API and on the
// pages, and nothing is saved.
func TestControlCharactersRefused(t *testing.T) {
	t.Parallel()
	f := newAPIFixture(t)
	injected := "Lee Co\r\nBcc: spy@evil.test"
	for _, sc := range []struct {
		name, method, path, key, body, field string
	}{
		{"new client company", "POST", "/api/v1/clients", f.acmeKey, strings.Replace(newClientBody("crlf.co"), `"Lee Co"`, fmt.Sprintf("%q", injected), 1), "company"},
		{"new client first name", "POST", "/api/v1/clients", f.acmeKey, strings.Replace(newClientBody("nul.name"), `"Ann"`, `"An\u0000n"`, 1), "first_name"},
		{"edited company", "PATCH", "/api/v1/clients/ann.lee", f.acmeKey, fmt.Sprintf(`{"company":%q}`, injected), "company"},
		{"edited last name with a tab", "PATCH", "/api/v1/clients/ann.lee", f.acmeKey, `{"last_name":"Le\te"}`, "last_name"},
		{"edited city with DEL", "PATCH", "/api/v1/clients/ann.lee", f.acmeKey, `{"city":"Lon\u007fdon"}`, "city"},
		{"edited role with NEL", "PATCH", "/api/v1/clients/ann.lee", f.acmeKey, `{"role":"CEO\u0085CFO"}`, "role"},
		{"edited address with a line separator", "PATCH", "/api/v1/clients/ann.lee", f.acmeKey, `{"address1":"1 Main St\u2028Flat 2"}`, "address1"},
		{"credit note", "POST", "/api/v1/clients/ann.lee/credits", f.acmeKey, `{"amount":"5.00","note":"promo\r\nadmin"}`, "note"},
		{"key name", "POST", "/api/v1/clients/ann.lee/api-keys", f.acmeKey, `{"name":"PBX\nroot"}`, "name"},
		{"blocked caller note", "POST", "/api/v1/blocked-callers", f.annKey, `{"number":"+14155550100","note":"spam\u001b[2J"}`, "note"},
	} {
		t.Run(sc.name, func(t *testing.T) {
			r := f.at.do(apiRequest{method: sc.method, host: acmeHost, path: sc.path, key: sc.key, body: sc.body})
			if r.status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422\n%s", r.status, r.body)
			}
			checkProblem(t, r)
			if !strings.Contains(r.body, `"field":"`+sc.field+`"`) || !strings.Contains(r.body, "control characters") {
				t.Errorf("no field error on %s\n%s", sc.field, r.body)
			}
		})
	}
	client := f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients/ann.lee", key: f.acmeKey}, http.StatusOK).body
	if !strings.Contains(client, `"company":"Lee Co"`) || !strings.Contains(client, `"last_name":"Lee"`) || !strings.Contains(client, `"available":"0.00"`) {
		t.Fatalf("a refused request changed the client: %s", client)
	}
	if r := f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/blocked-callers", key: f.annKey}, http.StatusOK); strings.Contains(r.body, "+1415") {
		t.Fatalf("a caller was blocked: %s", r.body)
	}
	// the operator's key command too
	if _, err := tenancy.CreateResellerAPIKey(f.ts.store, "acme", "PBX\r\nX-Forwarded: 1", "test"); err == nil {
		t.Error("the CLI made a key with a line break in its name")
	}

	// the pages: staff name, client form, status note, rate deck description
	owner := f.ts.browser()
	owner.login(acmeHost, "owner@acme.example", "/reseller")
	staff := url.Values{"name": {"Bill\r\nBcc: spy@evil.test"}, "email": {"bill@acme.example"}, "role": {"billing"}, "password": {"B1ll-the-payer"}, "confirm": {"B1ll-the-payer"}}
	if r := owner.post(acmeHost, "/reseller/staff", "/reseller/staff", staff); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "control characters") {
		t.Errorf("staff name with CRLF: %d", r.status)
	}
	edit := fmt.Sprintf("/reseller/clients/%d", f.ann.ID)
	form := url.Values{"username": {"ann.lee"}, "first_name": {"Ann"}, "last_name": {"Lee"}, "email": {"ann.lee@example.com"},
		"phone": {"+14155552671"}, "country": {"US"}, "company": {injected}}
	if r := owner.post(acmeHost, edit+"/edit", edit, form); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="e-company"`) {
		t.Errorf("client form with CRLF in company: %d", r.status)
	}
	r := owner.post(acmeHost, edit, edit+"/status", url.Values{"status": {"disabled"}, "note": {"unpaid\nreally"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "control characters") {
		t.Errorf("status note with LF: %d", r.status)
	}
	if c := f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/clients/ann.lee", key: f.acmeKey}, http.StatusOK).body; !strings.Contains(c, `"status":"active"`) {
		t.Errorf("a refused status change was saved: %s", c)
	}
	deck := "prefix,description,rate_per_minute,increment\n44,\"UK\r\nmobile\",0.02,60/60\n"
	if r := uploadRates(owner, deck); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "control characters") {
		t.Errorf("rate description with CRLF: %d", r.status)
	}
	if problems, err := f.ts.store.Verify(); err != nil || len(problems) > 0 {
		t.Fatalf("verify: %v %v", err, problems)
	}
}
