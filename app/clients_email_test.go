package app

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestClientEmailUniqueOnEdit is issue 10's probe: creating a client with
// an email that signs in another business's user is refused, but editing
// a client to that email (page or PATCH) was saved. Now an edit is held
// to the rule of a create: 422 with the email field at fault, and the
// page shows the field error; nothing changes. The client's own users may
// share its email.
func TestClientEmailUniqueOnEdit(t *testing.T) {
	t.Parallel()
	f := newAPIFixture(t)
	patch := func(body string, want int) response {
		t.Helper()
		return f.at.expect(apiRequest{method: "PATCH", host: acmeHost, path: "/api/v1/clients/ann.lee", key: f.acmeKey, body: body}, want)
	}
	// rita.r moves her contact email; her owner still signs in as rita.r@
	f.at.expect(apiRequest{method: "PATCH", host: acmeHost, path: "/api/v1/clients/rita.r", key: f.acmeKey, body: `{"email":"rita.new@example.com"}`}, http.StatusOK)
	for _, taken := range []string{"owner@acme.example", "rita.r@example.com", "RITA.R@example.com", "rita.new@example.com"} {
		r := patch(`{"email":"`+taken+`"}`, http.StatusUnprocessableEntity)
		checkProblem(t, r)
		if !strings.Contains(r.body, `"field":"email"`) || !strings.Contains(r.body, "used by another client or user") {
			t.Errorf("%s: %s", taken, r.body)
		}
		// and a create with it is refused the same way
		body := strings.Replace(newClientBody("new.one"), "new.one@example.com", taken, 1)
		if r := f.at.do(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients", key: f.acmeKey, body: body}); r.status != http.StatusUnprocessableEntity {
			t.Errorf("create with %s: %d", taken, r.status)
		}
	}
	if r := patch(`{}`, http.StatusOK); !strings.Contains(r.body, `"email":"ann.lee@example.com"`) {
		t.Fatalf("a refused edit changed the email: %s", r.body)
	}
	// the client's own owner shares its email: moving away and back is fine
	patch(`{"email":"ann.other@example.com"}`, http.StatusOK)
	patch(`{"email":"ann.lee@example.com"}`, http.StatusOK)
	// another reseller's addresses are not this reseller's business
	patch(`{"email":"owner@globex.example"}`, http.StatusOK)
	patch(`{"email":"ann.lee@example.com"}`, http.StatusOK)

	// the page: the same refusal as a field error on the edit form
	owner := f.ts.browser()
	owner.login(acmeHost, "owner@acme.example", "/reseller")
	edit := fmt.Sprintf("/reseller/clients/%d", f.ann.ID)
	form := url.Values{"username": {"ann.lee"}, "first_name": {"Ann"}, "last_name": {"Lee"}, "email": {"owner@acme.example"},
		"phone": {"+14155552671"}, "country": {"US"}, "company": {"Lee Co"}}
	r := owner.post(acmeHost, edit+"/edit", edit, form)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="e-email"`) || !strings.Contains(r.body, "used by another client or user") {
		t.Fatalf("edit form with a taken email: %d\n%s", r.status, r.body)
	}
	if r := patch(`{}`, http.StatusOK); !strings.Contains(r.body, `"email":"ann.lee@example.com"`) {
		t.Fatalf("the page saved a taken email: %s", r.body)
	}
	if problems, err := f.ts.store.Verify(); err != nil || len(problems) > 0 {
		t.Fatalf("verify: %v %v", err, problems)
	}
}
