package app

// Attacks on billing (issue 13) through the real HTTP server: another
// reseller's ids on every page and endpoint, one client reaching another's
// invoices, CSRF on every new form, money at its limits, idempotency keys
// reused across requests, hostile text, and the mail's links.

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"portico/app/auth"
	"portico/app/billing"
	"portico/store"
	"portico/store/money"
)

// attackSeed is acme's catalogue (seedCatalog) with a calling package, cleo
// on Basic with November's invoice issued, and a number of acme's held by
// cleo; globex has a number of its own.
type attackSeed struct {
	billingSeed
	pkg          *store.CallingPackage
	inv          *store.Invoice // cleo's November invoice, open
	number       string         // acme's, held by cleo
	globexNumber string
}

func seedAttack(t *testing.T, ts *testServer) *attackSeed {
	t.Helper()
	s := &attackSeed{billingSeed: seedCatalog(t, ts), number: "+14155552671", globexNumber: "+442071838750"}
	acme, globex := ts.reseller("acme"), ts.reseller("globex")
	s.pkg = &store.CallingPackage{ResellerID: acme.ID, Name: "Europe", Countries: []string{"DE"}, FairUseMinutes: 100}
	if err := ts.store.Update(func(tx *store.Tx) error { return store.PutCatalog(tx, s.pkg) }); err != nil {
		t.Fatal(err)
	}
	cleo := ts.cleo()
	ts.subscribe(cleo.ID, billing.Change{PlanID: s.basic.ID, Seats: 3})
	svc := ts.app.billing
	if _, err := svc.AddNumber(acme, billing.NumberInput{Number: s.number, MonthlyFee: "2"}, billingActor); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AssignNumber(acme, s.number, "cleo", billingActor); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddNumber(globex, billing.NumberInput{Number: s.globexNumber, MonthlyFee: "2"}, billingActor); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RunPeriod(context.Background(), acme, "2026-11", billingActor); err != nil {
		t.Fatal(err)
	}
	list := ts.acmeInvoices(billing.InvoiceFilter{ClientID: cleo.ID})
	if len(list) != 1 || list[0].Status != store.InvoiceOpen {
		t.Fatalf("seed: cleo's invoices %+v", list)
	}
	s.inv = list[0]
	return s
}

// globexOwner is a browser signed in as globex's owner on its own host.
func (ts *testServer) globexOwner() *browser {
	ts.t.Helper()
	b := ts.browser()
	b.login(globexHost, "owner@globex.example", "/reseller")
	return b
}

// TestAttackBillingOtherResellerPages: globex's owner, on globex's host,
// names acme's invoice, plans, package, add-on, client and number in every
// billing page and form. Each is 404 (a reference inside a form is a 422
// field), nothing of acme's shows, and nothing changes.
func TestAttackBillingOtherResellerPages(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	s := seedAttack(t, ts)
	g := ts.globexOwner()
	cleo := ts.cleo()
	inv := strconv.FormatUint(s.inv.ID, 10)
	id := func(v uint64) string { return strconv.FormatUint(v, 10) }
	cleoID := id(cleo.ID)
	secret := []string{s.inv.Number, "Basic", "Call recording", "Europe", "cleo", s.number}

	for _, path := range []string{
		"/reseller/billing/invoices/" + inv, "/reseller/billing/invoices/" + inv + "/pdf",
		"/reseller/billing/plans/" + id(s.basic.ID), "/reseller/billing/packages/" + id(s.pkg.ID), "/reseller/billing/add-ons/" + id(s.recording.ID),
		"/reseller/clients/" + cleoID + "/subscription", "/reseller/clients/" + cleoID + "/subscription?plan=" + id(s.pro.ID) + "&seats=3",
		"/reseller/billing/numbers/" + url.PathEscape(s.number), "/reseller/billing/numbers/" + strings.TrimPrefix(s.number, "+"),
	} {
		r := g.get(globexHost, path)
		if r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, r.status)
		}
		for _, w := range secret {
			if strings.Contains(r.body, w) {
				t.Errorf("GET %s shows acme's %q", path, w)
			}
		}
	}
	for _, c := range []struct {
		path string
		form url.Values
	}{
		{"/reseller/billing/invoices/" + inv + "/void", url.Values{"reason": {"mine now"}}},
		{"/reseller/billing/invoices/" + inv + "/paid", url.Values{"reference": {"x"}, "idempotency_key": {strings.Repeat("k", 20)}}},
		{"/reseller/billing/invoices/" + inv + "/uncollectible", url.Values{}},
		{"/reseller/billing/plans/" + id(s.basic.ID), url.Values{"name": {"Stolen"}, "kind": {"subscription"}, "monthly_fee": {"0"}, "status": {"active"}}},
		{"/reseller/billing/packages/" + id(s.pkg.ID), url.Values{"name": {"Stolen"}, "countries": {"FR"}}},
		{"/reseller/billing/add-ons/" + id(s.recording.ID), url.Values{"name": {"Stolen"}, "monthly_fee": {"0"}}},
		{"/reseller/clients/" + cleoID + "/subscription", url.Values{"plan": {id(s.pro.ID)}, "seats": {"9"}}},
		{"/reseller/billing/numbers/" + url.PathEscape(s.number), url.Values{"monthly_fee": {"0"}, "type": {"local"}}},
		{"/reseller/billing/numbers/" + url.PathEscape(s.number) + "/release", url.Values{}},
		{"/reseller/billing/numbers/" + url.PathEscape(s.number) + "/assign", url.Values{"client": {"cleo"}}},
		{"/reseller/billing/numbers/" + url.PathEscape(s.number) + "/delete", url.Values{}},
	} {
		if r := g.post(globexHost, "/reseller", c.path, c.form); r.status != http.StatusNotFound {
			t.Errorf("POST %s: %d, want 404\n%.300s", c.path, r.status, r.body)
		}
	}

	// references to acme's records inside globex's own forms are unknown fields
	for _, ref := range []string{"cleo", cleoID} {
		r := g.post(globexHost, "/reseller", "/reseller/billing/numbers/"+url.PathEscape(s.globexNumber)+"/assign", url.Values{"client": {ref}})
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "There is no such client.") {
			t.Errorf("assign globex's number to acme's client %q: %d\n%.300s", ref, r.status, r.body)
		}
	}
	r := g.post(globexHost, "/reseller", "/reseller/billing/plans", url.Values{"name": {"Mixed"}, "kind": {"subscription"}, "monthly_fee": {"1"},
		"status": {"active"}, "packages": {id(s.pkg.ID)}, "add_ons": {id(s.recording.ID)}})
	if r.status != http.StatusUnprocessableEntity {
		t.Errorf("globex plan with acme's package and add-on: %d", r.status)
	}
	r = g.get(globexHost, "/reseller/billing/invoices?client=cleo")
	if r.status != http.StatusBadRequest || strings.Contains(r.body, s.inv.Number) {
		t.Errorf("globex filters by acme's client: %d", r.status)
	}
	r = g.get(globexHost, "/reseller/billing/invoices")
	if r.status != http.StatusOK || strings.Contains(r.body, s.inv.Number) {
		t.Errorf("globex's invoice list: %d, shows acme's invoice %v", r.status, strings.Contains(r.body, s.inv.Number))
	}

	// nothing of acme's changed
	if got := ts.acmeInvoice(s.inv.ID); got.Status != store.InvoiceOpen || len(got.History) != len(s.inv.History) {
		t.Errorf("acme's invoice changed: %+v", got)
	}
	if view, err := ts.app.billing.Subscription(ts.reseller("acme"), cleo.ID); err != nil || view.Sub.PlanID != s.basic.ID || view.Sub.Seats != 3 || view.Sub.Pending != nil {
		t.Errorf("cleo's subscription changed: %+v %v", view, err)
	}
	if p, _ := ts.app.billing.Plan(ts.ids["acme"], s.basic.ID); p.Name != "Basic" {
		t.Errorf("acme's plan renamed %q", p.Name)
	}
	if n, _ := ts.app.billing.Number(ts.reseller("acme"), s.number); n.Status != store.NumberAssigned || n.ClientID != cleo.ID || n.MonthlyFee != 2*money.Unit {
		t.Errorf("acme's number changed: %+v", n)
	}
	if n, _ := ts.app.billing.Number(ts.reseller("globex"), s.globexNumber); n.Status != store.NumberAvailable {
		t.Errorf("globex's number was assigned: %+v", n)
	}
}

// TestAttackBillingOtherResellerAPI: globex's reseller key names acme's
// invoice, plan, add-on, package, client and number; acme's key is
// refused on globex's host. 404 for paths, 422 for references in bodies.
func TestAttackBillingOtherResellerAPI(t *testing.T) {
	t.Parallel()
	f := newBillingFixture(t)
	at := f.at
	acme, globex := f.acmeKey, f.globexKey
	at.expect(apiRequest{method: "PUT", host: acmeHost, path: "/api/v1/clients/ann.lee/subscription", key: acme,
		body: fmt.Sprintf(`{"plan":%d,"seats":3}`, f.basic)}, http.StatusOK)
	at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/invoices/run", key: acme, body: `{"period":"2026-11"}`}, http.StatusOK)
	annInv := f.invoices(f.annKey, "/invoices").Data
	if len(annInv) != 1 {
		t.Fatalf("ann's invoices %+v", annInv)
	}
	inv := strconv.FormatUint(annInv[0].ID, 10)
	at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/numbers", key: acme, body: `{"number":"+14155552671","monthly_fee":"1"}`}, http.StatusCreated)
	at.expect(apiRequest{method: "POST", host: globexHost, path: "/api/v1/numbers", key: globex, body: `{"number":"+442071838750","monthly_fee":"1"}`}, http.StatusCreated)
	pkg := decodeReply[struct{ ID uint64 }](t, at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/packages", key: acme,
		body: `{"name":"Europe","countries":["DE"],"fair_use_minutes":10}`}, http.StatusCreated)).ID

	for _, r := range []apiRequest{
		{method: "GET", path: "/api/v1/invoices/" + inv},
		{method: "GET", path: "/api/v1/invoices/" + inv + "/pdf"},
		{method: "POST", path: "/api/v1/invoices/" + inv + "/void", body: `{"reason":"mine"}`},
		{method: "POST", path: "/api/v1/invoices/" + inv + "/mark-paid", body: `{"reference":"mine"}`, header: map[string]string{"Idempotency-Key": "k-1"}},
		{method: "GET", path: "/api/v1/clients/ann.lee/invoices"},
		{method: "GET", path: "/api/v1/clients/ann.lee/invoices/" + inv},
		{method: "GET", path: "/api/v1/clients/ann.lee/invoices/" + inv + "/pdf"},
		{method: "GET", path: "/api/v1/clients/ann.lee/subscription"},
		{method: "PUT", path: "/api/v1/clients/ann.lee/subscription", body: fmt.Sprintf(`{"plan":%d,"seats":1}`, f.globexPlan)},
		{method: "POST", path: "/api/v1/clients/ann.lee/subscription/preview", body: fmt.Sprintf(`{"plan":%d,"seats":1}`, f.globexPlan)},
		{method: "GET", path: "/api/v1/clients/ann.lee/billing-details"},
		{method: "PUT", path: "/api/v1/clients/ann.lee/billing-details", body: `{"company":"Mine"}`},
		{method: "GET", path: "/api/v1/clients/ann.lee/transactions"},
		{method: "GET", path: "/api/v1/clients/ann.lee/transactions?format=csv"},
		{method: "GET", path: "/api/v1/clients/ann.lee/credit/movements?format=csv"},
		{method: "GET", path: fmt.Sprintf("/api/v1/plans/%d", f.basic)},
		{method: "PATCH", path: fmt.Sprintf("/api/v1/plans/%d", f.basic), body: `{"name":"Stolen"}`},
		{method: "PATCH", path: "/api/v1/numbers/+14155552671", body: `{"label":"mine"}`},
		{method: "DELETE", path: "/api/v1/numbers/+14155552671"},
	} {
		r.host, r.key = globexHost, globex
		resp := at.do(r)
		if resp.status != http.StatusNotFound {
			t.Errorf("globex %s %s: %d, want 404\n%.300s", r.method, r.path, resp.status, resp.body)
		}
		if strings.Contains(resp.body, annInv[0].Number) || strings.Contains(resp.body, "Basic") {
			t.Errorf("globex %s %s shows acme's data", r.method, r.path)
		}
	}
	// globex's invoice list, filtered by acme's client, is a field problem
	if got := fieldsOf422(t, at.do(apiRequest{method: "GET", host: globexHost, path: "/api/v1/invoices?client=ann.lee", key: globex})); len(got) != 1 || got[0] != "client" {
		t.Errorf("globex filters by acme's client: %v", got)
	}
	if l := decodeReply[apiList[apiInvoice]](t, at.expect(apiRequest{method: "GET", host: globexHost, path: "/api/v1/invoices", key: globex}, http.StatusOK)); len(l.Data) != 0 {
		t.Errorf("globex lists %d invoices", len(l.Data))
	}
	// acme's records named in globex's bodies
	for _, c := range []struct {
		method, path, body, field string
	}{
		{"PUT", "/api/v1/clients/gus.green/subscription", fmt.Sprintf(`{"plan":%d,"seats":1}`, f.basic), "plan"},
		{"PUT", "/api/v1/clients/gus.green/subscription", fmt.Sprintf(`{"plan":%d,"seats":1,"add_ons":[%d]}`, f.globexPlan, f.rec), "add_ons"},
		{"POST", "/api/v1/plans", fmt.Sprintf(`{"name":"X","kind":"subscription","add_ons":[%d]}`, f.rec), "add_ons"},
		{"POST", "/api/v1/plans", fmt.Sprintf(`{"name":"Y","kind":"subscription","packages":[%d]}`, pkg), "packages"},
		{"PATCH", fmt.Sprintf("/api/v1/plans/%d", f.globexPlan), fmt.Sprintf(`{"add_ons":[%d]}`, f.rec), "add_ons"},
		{"PATCH", "/api/v1/numbers/+442071838750", `{"client":"ann.lee"}`, "client"},
		{"PATCH", "/api/v1/numbers/+442071838750", fmt.Sprintf(`{"client":%d}`, f.ann.ID), "client"},
	} {
		got := fieldsOf422(t, at.do(apiRequest{method: c.method, host: globexHost, path: c.path, key: globex, body: c.body}))
		if len(got) != 1 || got[0] != c.field {
			t.Errorf("globex %s %s %s: fields %v, want [%s]", c.method, c.path, c.body, got, c.field)
		}
	}
	// acme's key on globex's host is not a key there
	for _, path := range []string{"/api/v1/invoices", "/api/v1/plans", "/api/v1/numbers"} {
		at.expect(apiRequest{method: "GET", host: globexHost, path: path, key: acme}, http.StatusUnauthorized)
		at.expect(apiRequest{method: "GET", host: globexHost, path: path, key: f.annKey}, http.StatusUnauthorized)
	}
	// nothing of acme's changed
	if got := f.invoices(f.annKey, "/invoices").Data; got[0].Status != "open" {
		t.Errorf("ann's invoice is %s", got[0].Status)
	}
	n := decodeReply[apiList[apiNumber]](t, at.expect(apiRequest{method: "GET", host: globexHost, path: "/api/v1/numbers", key: globex}, http.StatusOK))
	if len(n.Data) != 1 || n.Data[0].Client != nil {
		t.Errorf("globex's numbers %+v", n.Data)
	}
}

// newClientWithOwner creates a client of acme whose owner signs in with
// testPassword.
func (ts *testServer) newClientWithOwner(username string) *store.Client {
	ts.t.Helper()
	hash, _ := auth.HashPassword(testPassword)
	cl := &store.Client{ResellerID: ts.ids["acme"], Username: username, FirstName: "Dora", LastName: "Other", Email: username + "@other.example", Country: "US"}
	err := ts.store.Update(func(tx *store.Tx) error {
		return tx.CreateClient(cl, &store.User{Email: username + "@other.example", PasswordHash: hash}, "seed")
	})
	if err != nil {
		ts.t.Fatal(err)
	}
	return cl
}

// TestAttackBillingOtherClientPages: the owner of another client of the
// same reseller names cleo's invoice on the Billing tab's pages: 404, and
// none of cleo's invoices or transactions shows in its own lists.
func TestAttackBillingOtherClientPages(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	s := seedAttack(t, ts)
	ts.newClientWithOwner("dora")
	dora := ts.signedIn(acmeHost, "dora@other.example", "/dashboard")
	inv := strconv.FormatUint(s.inv.ID, 10)
	for _, path := range []string{billingInvoicesURL + "/" + inv, billingInvoicesURL + "/" + inv + "/pdf"} {
		if r := dora.get(acmeHost, path); r.status != http.StatusNotFound || strings.Contains(r.body, s.inv.Number) {
			t.Errorf("dora GET %s: %d", path, r.status)
		}
	}
	for _, path := range []string{billingTabURL, billingInvoicesURL, billingInvoicesURL + "?status=unpaid", billingInvoicesURL + "?before=" + strconv.FormatUint(s.inv.ID+1, 10),
		billingTransactionsURL, billingTransactionsURL + ".csv", "/settings/billing/movements.csv"} {
		r := dora.get(acmeHost, path)
		if r.status != http.StatusOK || strings.Contains(r.body, s.inv.Number) || strings.Contains(r.body, s.number) {
			t.Errorf("dora GET %s: %d, shows cleo's invoice %v", path, r.status, strings.Contains(r.body, s.inv.Number))
		}
	}
	// a change with acme's plan is dora's own, never cleo's
	cleoBefore, _ := ts.app.billing.Subscription(ts.reseller("acme"), ts.cleo().ID)
	r := dora.post(acmeHost, billingTabURL, "/settings/billing/subscription", url.Values{"plan": {strconv.FormatUint(s.pro.ID, 10)}, "seats": {"7"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("dora subscribes: %d\n%.500s", r.status, r.body)
	}
	if cleoAfter, _ := ts.app.billing.Subscription(ts.reseller("acme"), ts.cleo().ID); cleoAfter.Sub.PlanID != cleoBefore.Sub.PlanID || cleoAfter.Sub.Seats != cleoBefore.Sub.Seats {
		t.Errorf("dora's change moved cleo's subscription: %+v", cleoAfter.Sub)
	}
}

// TestAttackBillingCSRF: every billing form refuses a request without the
// session's token, with the token only in the query string, or with a
// wrong header token, and changes nothing.
func TestAttackBillingCSRF(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	s := seedAttack(t, ts)
	owner, client := ts.acmeOwner(), ts.acmeClient()
	inv := strconv.FormatUint(s.inv.ID, 10)
	cleo := strconv.FormatUint(ts.cleo().ID, 10)
	num := "/reseller/billing/numbers/" + url.PathEscape(s.number)
	staffPosts := map[string]url.Values{
		"/reseller/billing/invoices/run":                       {"period": {"2026-11"}},
		"/reseller/billing/invoices/" + inv + "/void":          {"reason": {"csrf"}},
		"/reseller/billing/invoices/" + inv + "/paid":          {"reference": {"csrf"}, "idempotency_key": {strings.Repeat("k", 20)}},
		"/reseller/billing/invoices/" + inv + "/uncollectible": {},
		"/reseller/billing/seller":                             {"legal_name": {"CSRF Ltd"}},
		"/reseller/clients/" + cleo + "/subscription":          {"plan": {strconv.FormatUint(s.pro.ID, 10)}, "seats": {"9"}},
		"/reseller/billing/numbers":                            {"number": {"+14155552672"}, "monthly_fee": {"1"}},
		num:                                                    {"monthly_fee": {"0"}, "type": {"local"}},
		num + "/release":                                       {},
		num + "/assign":                                        {"client": {"cleo"}},
		num + "/delete":                                        {},
		"/reseller/billing/plans":                              {"name": {"CSRF"}, "kind": {"subscription"}, "status": {"active"}},
		"/reseller/billing/plans/" + strconv.FormatUint(s.basic.ID, 10):       {"name": {"CSRF"}, "kind": {"subscription"}, "status": {"active"}},
		"/reseller/billing/packages":                                          {"name": {"CSRF"}, "countries": {"FR"}},
		"/reseller/billing/packages/" + strconv.FormatUint(s.pkg.ID, 10):      {"name": {"CSRF"}, "countries": {"FR"}},
		"/reseller/billing/add-ons":                                           {"name": {"CSRF"}, "monthly_fee": {"1"}},
		"/reseller/billing/add-ons/" + strconv.FormatUint(s.recording.ID, 10): {"name": {"CSRF"}, "monthly_fee": {"1"}},
	}
	clientPosts := map[string]url.Values{
		"/settings/billing/subscription": {"plan": {strconv.FormatUint(s.pro.ID, 10)}, "seats": {"9"}},
		"/settings/billing/details":      {"company": {"CSRF Inc"}, "invoice_emails": {"attacker@evil.example"}},
	}
	try := func(b *browser, tokenPage string, posts map[string]url.Values) {
		t.Helper()
		token := b.csrf(acmeHost, tokenPage)
		for path, form := range posts {
			for _, c := range []struct {
				name   string
				path   string
				header map[string]string
			}{
				{"no token", path, nil},
				{"token in the query", path + "?_csrf=" + url.QueryEscape(token), nil},
				{"wrong header", path, map[string]string{"X-CSRF-Token": token + "x"}},
			} {
				if r := b.do(http.MethodPost, acmeHost, c.path, form, c.header); r.status != http.StatusForbidden {
					t.Errorf("POST %s, %s: %d, want 403", path, c.name, r.status)
				}
			}
		}
	}
	try(owner, "/reseller", staffPosts)
	try(client, "/settings", clientPosts)
	// the import is multipart
	r := owner.postMultipart(acmeHost, numbersURL, numbersURL+"/import", map[string]string{"_csrf": ""}, map[string]upload{"file": {filename: "n.csv", data: []byte("number,monthly_fee\n+14155552673,1\n")}})
	if r.status != http.StatusForbidden {
		t.Errorf("number import without a token: %d", r.status)
	}

	if got := ts.acmeInvoice(s.inv.ID); got.Status != store.InvoiceOpen {
		t.Errorf("the invoice became %s", got.Status)
	}
	if p, _ := ts.app.billing.Plan(ts.ids["acme"], s.basic.ID); p.Name != "Basic" {
		t.Errorf("plan renamed %q", p.Name)
	}
	if view, _ := ts.app.billing.Subscription(ts.reseller("acme"), ts.cleo().ID); view.Sub.PlanID != s.basic.ID || view.Sub.Seats != 3 {
		t.Errorf("subscription changed: %+v", view.Sub)
	}
	if cl := ts.cleo(); cl.Billing.Company != "" || len(cl.Billing.InvoiceEmails) != 0 {
		t.Errorf("billing details changed: %+v", cl.Billing)
	}
	if n, _ := ts.app.billing.Number(ts.reseller("acme"), s.number); n.Status != store.NumberAssigned || n.MonthlyFee != 2*money.Unit {
		t.Errorf("number changed: %+v", n)
	}
	if counts, _ := ts.app.billing.NumberCounts(ts.ids["acme"]); counts[store.NumberAvailable]+counts[store.NumberAssigned] != 1 {
		t.Errorf("numbers %v", counts)
	}
	if ts.reseller("acme").Seller.LegalName != "" {
		t.Error("seller details changed")
	}
}

// TestAttackBillingIdempotencyAcrossKinds: an Idempotency-Key spent on a
// credit grant cannot mark an invoice paid, nor the reverse; a page's
// one-time key and an API key of the same text are distinct.
func TestAttackBillingIdempotencyAcrossKinds(t *testing.T) {
	t.Parallel()
	f, period, proration := billedFixture(t)
	at, acme := f.at, f.acmeKey
	grant := func(key string, want int) {
		t.Helper()
		at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/clients/ann.lee/credits", key: acme, body: `{"amount":"5.00"}`,
			header: map[string]string{"Idempotency-Key": key}}, want)
	}
	markPaid := func(id uint64, key string, want int) {
		t.Helper()
		at.expect(apiRequest{method: "POST", host: acmeHost, path: fmt.Sprintf("/api/v1/invoices/%d/mark-paid", id), key: acme, body: `{"reference":"bank"}`,
			header: map[string]string{"Idempotency-Key": key}}, want)
	}
	grant("shared-1", http.StatusCreated)
	markPaid(period.ID, "shared-1", http.StatusConflict)
	markPaid(period.ID, "shared-2", http.StatusOK)
	grant("shared-2", http.StatusConflict)
	markPaid(proration.ID, "shared-2", http.StatusConflict) // the same key on another invoice
	if l := f.invoices(f.annKey, "/invoices").Data; l[0].Status != "open" || l[1].Status != "paid" {
		t.Errorf("statuses %s %s", l[0].Status, l[1].Status)
	}
	var grants int
	if err := f.ts.store.View(func(tx *store.Tx) error {
		ledger, err := tx.ClientLedger(f.ts.ids["acme"], f.ann.ID)
		for _, l := range ledger {
			if l.Kind == store.KindGrant {
				grants++
			}
		}
		return err
	}); err != nil || grants != 1 {
		t.Errorf("%d grants, want 1 (%v)", grants, err)
	}
	// the reseller page's form key "shared-3…" is not the API's
	owner := f.ts.acmeOwner()
	key := "shared-3-" + strings.Repeat("k", 16)
	markPaid(proration.ID, key, http.StatusOK)
	r := owner.post(acmeHost, "/reseller", fmt.Sprintf("/reseller/billing/invoices/%d/paid", proration.ID), url.Values{"reference": {"bank"}, "idempotency_key": {key}})
	if r.status != http.StatusConflict { // paid already: a new payment, refused by status, not replayed as the API's
		t.Errorf("page mark-paid with the API's key: %d", r.status)
	}
}

// TestAttackBillingMoneyAtTheLimits: the dearest subscription the
// catalogue allows (fees of 1,000,000.00, 10,000 seats, 100 add-ons a
// seat, tax 100 %) is previewed, started, invoiced and upgraded with exact
// amounts that the ledger and verify accept; fees past the limits,
// negative, or with more decimals than the currency has are 422; limits
// and cursors out of range are refused.
func TestAttackBillingMoneyAtTheLimits(t *testing.T) {
	t.Parallel()
	f := newBillingFixture(t)
	at, acme, ts := f.at, f.acmeKey, f.ts
	rid := ts.ids["acme"]
	const maxFee = billing.MaxCatalogFee
	var addOns []uint64
	low := &store.Plan{ResellerID: rid, Name: "Low", Kind: store.PlanSubscription, MonthlyFee: maxFee - 100, SeatFee: maxFee - 100, Status: store.CatalogActive}
	top := &store.Plan{ResellerID: rid, Name: "Top", Kind: store.PlanSubscription, MonthlyFee: maxFee, SeatFee: maxFee, Status: store.CatalogActive}
	err := ts.store.Update(func(tx *store.Tx) error {
		for i := range 100 {
			a := &store.AddOn{ResellerID: rid, Name: fmt.Sprintf("Max %d", i), MonthlyFee: maxFee, PerSeat: true}
			if err := store.PutCatalog(tx, a); err != nil {
				return err
			}
			addOns = append(addOns, a.ID)
		}
		low.AddOns, top.AddOns = addOns, addOns
		if err := store.PutCatalog(tx, low); err != nil {
			return err
		}
		return store.PutCatalog(tx, top)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.app.billing.SetSellerDetails(rid, store.SellerDetails{TaxRates: map[string]int{"*": billing.MaxTaxRate}}, billingActor); err != nil {
		t.Fatal(err)
	}
	ids := strings.Trim(strings.Join(strings.Fields(fmt.Sprint(addOns)), ","), "[]")
	body := func(plan uint64) string {
		return fmt.Sprintf(`{"plan":%d,"seats":%d,"add_ons":[%s]}`, plan, billing.MaxSeats, ids)
	}
	at.expect(apiRequest{method: "PUT", host: acmeHost, path: "/api/v1/subscription", key: f.annKey, body: body(low.ID)}, http.StatusOK)
	at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/invoices/run", key: acme, body: `{"period":"2026-11"}`}, http.StatusOK)
	nov := f.invoices(f.annKey, "/invoices").Data
	if len(nov) != 1 {
		t.Fatalf("November: %+v", nov)
	}
	// 29 of 30 days of the plan, 10,000 seats and 100 add-ons × 10,000 seats; tax 100 %
	if nov[0].Tax != nov[0].Subtotal || strings.HasPrefix(nov[0].Total, "-") || len(nov[0].Lines) != 102 {
		t.Errorf("November invoice: subtotal %s tax %s total %s, %d lines", nov[0].Subtotal, nov[0].Tax, nov[0].Total, len(nov[0].Lines))
	}
	pv := decodeReply[apiPreview](t, at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/subscription/preview", key: f.annKey, body: body(top.ID)}, http.StatusOK))
	at.expect(apiRequest{method: "PUT", host: acmeHost, path: "/api/v1/subscription", key: f.annKey, body: body(top.ID)}, http.StatusOK)
	up := f.invoices(f.annKey, "/invoices").Data
	if len(up) != 2 || up[0].Total != pv.DueNow || strings.HasPrefix(pv.DueNow, "-") || pv.DueNow == "0.00" {
		t.Errorf("upgrade: preview due %s, invoices %+v", pv.DueNow, up)
	}
	if problems, err := ts.store.Verify(); err != nil || len(problems) > 0 {
		t.Errorf("verify: %v %v", problems, err)
	}

	// fees out of range
	for _, fee := range []string{"-1", "1.001", "1e3", "1000000.01", "99999999999999999999", "0x10", " 1 000", "+1", "1.", ".", "NaN"} {
		for _, c := range []struct{ method, path, body string }{
			{"POST", "/api/v1/plans", fmt.Sprintf(`{"name":"P %s","kind":"subscription","monthly_fee":%q}`, fee, fee)},
			{"POST", "/api/v1/plans", fmt.Sprintf(`{"name":"Q %s","kind":"subscription","seat_fee":%q}`, fee, fee)},
			{"POST", "/api/v1/add-ons", fmt.Sprintf(`{"name":"A %s","monthly_fee":%q}`, fee, fee)},
			{"POST", "/api/v1/numbers", fmt.Sprintf(`{"number":"+14155552690","monthly_fee":%q}`, fee)},
			{"POST", "/api/v1/numbers", fmt.Sprintf(`{"number":"+14155552690","monthly_fee":"1","setup_fee":%q}`, fee)},
		} {
			r := at.do(apiRequest{method: c.method, host: acmeHost, path: c.path, key: acme, body: c.body})
			if fee == "1." { // a plain 1: created (or, for the number's second use, already there)
				continue
			}
			if r.status != http.StatusUnprocessableEntity {
				t.Errorf("%s %s: %d, want 422", c.path, c.body, r.status)
			}
		}
	}
	// limits and cursors
	for _, q := range []string{"limit=0", "limit=501", "limit=-1", "limit=99999999999999999999999", "limit=1e2"} {
		for _, p := range []string{"/api/v1/invoices", "/api/v1/transactions", "/api/v1/credit/movements"} {
			if r := at.do(apiRequest{method: "GET", host: acmeHost, path: p + "?" + q, key: f.annKey}); r.status != http.StatusUnprocessableEntity {
				t.Errorf("GET %s?%s: %d, want 422", p, q, r.status)
			}
		}
	}
	for _, cur := range []string{"garbage", encodeCursor("invoices", "-1"), encodeCursor("invoices", "0"), encodeCursor("invoices", "99999999999999999999999"), encodeCursor("transactions", "5")} {
		if r := at.do(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/invoices?cursor=" + url.QueryEscape(cur), key: f.annKey}); r.status != http.StatusBadRequest {
			t.Errorf("cursor %q: %d, want 400", cur, r.status)
		}
	}
	far := decodeReply[apiList[apiInvoice]](t, at.expect(apiRequest{method: "GET", host: acmeHost, key: f.annKey,
		path: "/api/v1/invoices?cursor=" + encodeCursor("invoices", "18446744073709551615")}, http.StatusOK))
	if len(far.Data) != 2 {
		t.Errorf("the largest cursor lists %d invoices", len(far.Data))
	}
}

// TestAttackBillingMailLinks: an invoice issued by a request on a host
// that is not the reseller's canonical one, with a forged
// X-Forwarded-Host, is mailed with a link on the canonical host; invoice
// emails cannot smuggle a header.
func TestAttackBillingMailLinks(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	s := seedAttack(t, ts)
	client := ts.acmeClient()
	r := client.post(acmeHost, billingTabURL, "/settings/billing/details", url.Values{"invoice_emails": {"ap@cleo.example"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("details: %d", r.status)
	}
	form := url.Values{"plan": {strconv.FormatUint(s.pro.ID, 10)}, "seats": {"3"}, "_csrf": {client.csrf(acmeHost, billingTabURL)}}
	r = client.do(http.MethodPost, acmeHost, "/settings/billing/subscription", form, map[string]string{"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"})
	if r.status != http.StatusSeeOther {
		t.Fatalf("upgrade: %d\n%.500s", r.status, r.body)
	}
	m := ts.mailTo("ap@cleo.example", "Invoice ")
	if !strings.Contains(m.Text, "http://"+acmeDomain) || strings.Contains(m.Text, "evil") || strings.Contains(m.Text, acmeHost) {
		t.Errorf("invoice mail links elsewhere:\n%s", m.Text)
	}
	for _, emails := range []string{"ap@cleo.example\r\nBcc: x@evil.example", "ap@cleo.example\nBcc: x@evil.example", "\"x\r\nBcc: y@evil.example\" <ap@cleo.example>"} {
		r := client.post(acmeHost, billingTabURL, "/settings/billing/details", url.Values{"invoice_emails": {emails}})
		if r.status != http.StatusUnprocessableEntity {
			t.Errorf("invoice emails %q: %d, want 422", emails, r.status)
		}
	}
	if got := ts.cleo().Billing.InvoiceEmails; len(got) != 1 || got[0] != "ap@cleo.example" {
		t.Errorf("invoice emails %q", got)
	}
}

// TestAttackLedgerExportsStream: a client makes ledger entries as fast as
// it authorises calls, and its credit movements' CSV (the reseller's
// client page, the Billing tab, the API) and transactions' CSV read the
// whole ledger into memory for each request. They are now read and sent
// a page at a time (no Content-Length: the reply is streamed), with every
// row, newest first, and one number of decimals down each column even
// when the only movement that needs four is the oldest, pages away.
func TestAttackLedgerExportsStream(t *testing.T) {
	t.Parallel()
	f, _, _ := billedFixture(t)
	ts := f.ts
	rid, cid := ts.ids["acme"], f.ann.ID
	const grants = 2*ledgerCSVPage + 7
	err := ts.store.Update(func(tx *store.Tx) error {
		for i := range grants {
			amount := int64(i+1) * money.Unit
			if i == 0 {
				amount = 125 // 0.0125: four decimals, on the last page
			}
			if _, _, err := tx.GrantCredit(rid, cid, amount, "", "", "test", fmt.Sprintf("=grant %d", i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	owner := ts.acmeOwner()
	annOwner := ts.signedIn(acmeHost, "ann.lee@example.com", "/dashboard")
	exports := map[string]response{
		"api":     f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/credit/movements?format=csv", key: f.annKey}, http.StatusOK),
		"console": owner.get(acmeHost, fmt.Sprintf("/reseller/clients/%d/movements.csv", cid)),
		"tab":     annOwner.get(acmeHost, "/settings/billing/movements.csv"),
	}
	for name, r := range exports {
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d", name, r.status)
		}
		if r.header.Get("Content-Length") != "" {
			t.Errorf("%s: the export was built whole in memory (Content-Length %s)", name, r.header.Get("Content-Length"))
		}
		rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
		if err != nil || len(rows) != grants+1 {
			t.Fatalf("%s: %d rows, %v", name, len(rows), err)
		}
		if strings.Join(rows[0], ",") != "date,kind,amount,currency,balance_after,who,note" {
			t.Errorf("%s header %q", name, rows[0])
		}
		if rows[1][2] != fmt.Sprintf("%d.0000", grants) || rows[1][6] != fmt.Sprintf("'=grant %d", grants-1) || rows[grants][2] != "0.0125" {
			t.Errorf("%s: first %q, last %q", name, rows[1], rows[grants])
		}
		for _, row := range rows[1:] {
			if _, frac, _ := strings.Cut(row[2], "."); len(frac) != 4 {
				t.Fatalf("%s: amount %q is not written with four decimals", name, row[2])
			}
		}
	}
	// the reseller's page of the client lists the latest movements, not the ledger
	page := owner.get(acmeHost, fmt.Sprintf("/reseller/clients/%d", cid))
	if n := strings.Count(page.body, `<td data-label="Kind">grant</td>`); page.status != http.StatusOK || n != clientMovementsShown ||
		!strings.Contains(page.body, "the CSV has them all") {
		t.Errorf("the client's page: %d, %d movements listed", page.status, n)
	}
	// the transactions' files are the API's JSON pages, streamed as well
	for name, r := range map[string]response{
		"api": f.at.expect(apiRequest{method: "GET", host: acmeHost, path: "/api/v1/transactions?format=csv", key: f.annKey}, http.StatusOK),
		"tab": annOwner.get(acmeHost, "/settings/billing/transactions.csv"),
	} {
		rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
		if err != nil || len(rows) != 3 || strings.Join(rows[0], ",") != "date,kind,invoice_number,amount,currency,balance_after" || r.header.Get("Content-Length") != "" {
			t.Errorf("%s transactions: %v %q (Content-Length %q)", name, err, rows, r.header.Get("Content-Length"))
		}
	}
}

// TestAttackBillingStaleCancel: a client plans a downgrade, and the tab
// left open shows "Cancel" (which asks for the subscription as it was).
// The month ends and the downgrade takes effect; pressing that Cancel
// then would be an upgrade, invoiced at once without a preview. Cancel
// never charges: it finds the amount moved (409, the new preview) and
// changes nothing. A confirmation is checked against the amount it
// showed in the transaction that makes the change.
func TestAttackBillingStaleCancel(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	s := seedClientBilling(t, ts)
	acme := ts.reseller("acme")
	if _, err := ts.app.billing.AddNumber(acme, billing.NumberInput{Number: "+14155552671", MonthlyFee: "2"}, billingActor); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.app.billing.AssignNumber(acme, "+14155552671", "cleo", billingActor); err != nil { // December's invoice bills it
		t.Fatal(err)
	}
	owner := ts.acmeClient()
	q := url.Values{"plan": {fmt.Sprint(s.metered.ID)}, "seats": {"3"}}
	preview := owner.get(acmeHost, billingChangeURL+"?"+q.Encode())
	if r := owner.post(acmeHost, billingTabURL, "/settings/billing/subscription", confirmForm(t, preview.body)); r.status != http.StatusSeeOther {
		t.Fatalf("downgrade: %d\n%s", r.status, r.body)
	}
	_, cancel, ok := strings.Cut(owner.get(acmeHost, billingTabURL).body, `id="cancel-pending"`)
	if !ok {
		t.Fatal("no Cancel on the tab")
	}
	stale := confirmForm(t, cancel)

	ts.clock.Advance(30 * 24 * time.Hour) // 2 Dec: the downgrade took effect with December's invoice
	if _, err := ts.app.billing.RunPeriod(context.Background(), ts.reseller("acme"), "2026-12", clientBillingStaff); err != nil {
		t.Fatal(err)
	}
	before := len(clientInvoices(t, ts))
	if before != 2 {
		t.Fatalf("November's and December's invoices: %d", before)
	}
	owner = ts.acmeClient() // the session of November has expired; the page's form has not
	r := owner.post(acmeHost, billingTabURL, "/settings/billing/subscription", stale)
	wantBody(t, "the stale Cancel", r, http.StatusConflict, "The amounts changed since you looked")
	if n := len(clientInvoices(t, ts)); n != before {
		t.Errorf("the stale Cancel issued %d invoice(s) without a preview", n-before)
	}
	if view, _ := ts.app.billing.Subscription(ts.reseller("acme"), ts.cleo().ID); view.Sub.PlanID != s.metered.ID {
		t.Errorf("the stale Cancel changed the plan to %d", view.Sub.PlanID)
	}
	// the service checks the amount in the transaction that makes the change
	up := billing.Change{PlanID: s.pro.ID, Seats: 3}
	p, err := ts.app.billing.PreviewChange(acme, ts.cleo().ID, up)
	if err != nil || p.DueNow <= 0 {
		t.Fatalf("preview %+v %v", p, err)
	}
	wrong := p.DueNow - 1
	up.DueNow = &wrong
	if _, _, err := ts.app.billing.ChangeSubscription(acme, ts.cleo().ID, up, clientBillingStaff); !errors.Is(err, billing.ErrDueMoved) {
		t.Errorf("a confirmation of another amount: %v", err)
	}
	up.DueNow = &p.DueNow
	if _, inv, err := ts.app.billing.ChangeSubscription(acme, ts.cleo().ID, up, clientBillingStaff); err != nil || inv == nil || inv.Total != p.DueNow {
		t.Errorf("the confirmation of the preview's amount: %+v %v", inv, err)
	}
}

// TestAttackBillingRefusalsStaySmall: a body of thousands of invoice
// emails or add-on ids, every one wrong, is refused with a few messages,
// not one per entry (a reply many times the request's size).
func TestAttackBillingRefusalsStaySmall(t *testing.T) {
	t.Parallel()
	f := newBillingFixture(t)
	var emails, ids []string
	for i := range 20_000 {
		emails = append(emails, fmt.Sprintf(`"x%d"`, i))
		ids = append(ids, strconv.Itoa(1_000_000+i))
	}
	for _, c := range []struct{ path, body, field string }{
		{"/api/v1/billing-details", `{"invoice_emails":[` + strings.Join(emails, ",") + `]}`, "invoice_emails"},
		{"/api/v1/subscription", fmt.Sprintf(`{"plan":%d,"seats":1,"add_ons":[%s]}`, f.basic, strings.Join(ids, ",")), "add_ons"},
		{"/api/v1/subscription/preview", fmt.Sprintf(`{"plan":%d,"seats":1,"add_ons":[%s]}`, f.basic, strings.Join(ids, ",")), "add_ons"},
	} {
		method := "PUT"
		if strings.HasSuffix(c.path, "preview") {
			method = "POST"
		}
		r := f.at.do(apiRequest{method: method, host: acmeHost, path: c.path, key: f.annKey, body: c.body})
		fields := fieldsOf422(t, r)
		if len(fields) == 0 || fields[0] != c.field || len(r.body) > 4096 {
			t.Errorf("%s: %d problems, a reply of %d bytes", c.path, len(fields), len(r.body))
		}
	}
	// the form of the Billing tab too
	client := f.ts.signedIn(acmeHost, "ann.lee@example.com", "/dashboard")
	r := client.post(acmeHost, billingTabURL, "/settings/billing/details", url.Values{"invoice_emails": {strings.Join(emails, " ")}})
	if r.status != http.StatusUnprocessableEntity || strings.Count(r.body, "is not an email address") != 1 {
		t.Errorf("the details form: %d, %d messages", r.status, strings.Count(r.body, "is not an email address"))
	}
}

// TestAttackBillingControlCharacters: text that ends up in an invoice's
// PDF, its mail or a CSV (plan, package and add-on names, number labels,
// void reasons, payment references, billing and seller details) refuses
// line breaks and other control characters; tax rates stay within 0 to
// 100 %.
func TestAttackBillingControlCharacters(t *testing.T) {
	t.Parallel()
	f, period, _ := billedFixture(t)
	at, acme := f.at, f.acmeKey
	for _, bad := range []string{"a\nb", "a\r\nBcc: x@evil.example", "a\tb", "a\x00b", "a\x1bb", "a\u2028b", "a\u0085b"} {
		raw, _ := json.Marshal(bad)
		q := string(raw)
		for _, c := range []struct{ method, path, body, field string }{
			{"POST", "/api/v1/plans", `{"name":` + q + `,"kind":"subscription"}`, "name"},
			{"POST", "/api/v1/packages", `{"name":` + q + `,"countries":["DE"]}`, "name"},
			{"POST", "/api/v1/add-ons", `{"name":` + q + `}`, "name"},
			{"POST", "/api/v1/numbers", `{"number":"+14155552699","monthly_fee":"1","label":` + q + `}`, "label"},
			{"POST", fmt.Sprintf("/api/v1/invoices/%d/void", period.ID), `{"reason":` + q + `}`, "reason"},
			{"POST", fmt.Sprintf("/api/v1/invoices/%d/mark-paid", period.ID), `{"reference":` + q + `}`, "reference"},
			{"PUT", "/api/v1/clients/ann.lee/billing-details", `{"company":` + q + `}`, "company"},
			{"PUT", "/api/v1/clients/ann.lee/billing-details", `{"city":` + q + `}`, "city"},
		} {
			got := fieldsOf422(t, at.do(apiRequest{method: c.method, host: acmeHost, path: c.path, key: acme, body: c.body}))
			if len(got) != 1 || got[0] != c.field {
				t.Errorf("%s %s %q: fields %v, want [%s]", c.method, c.path, bad, got, c.field)
			}
		}
	}
	if inv := f.invoices(f.annKey, "/invoices").Data; inv[1].Status != "open" {
		t.Errorf("the invoice became %s", inv[1].Status)
	}
	owner := f.ts.acmeOwner()
	for _, form := range []url.Values{
		{"footer": {"Thanks\r\nBcc: x@evil.example"}},
		{"legal_name": {"Acme\nLtd"}},
		{"tax_country": {"DE"}, "tax_rate": {"100.01"}},
		{"tax_country": {"DE"}, "tax_rate": {"-5"}},
		{"tax_country": {"DE"}, "tax_rate": {"1e2"}},
		{"tax_country": {"*"}, "tax_rate": {"999.99"}},
	} {
		if r := owner.post(acmeHost, resellerSellerURL, resellerSellerURL, form); r.status != http.StatusUnprocessableEntity {
			t.Errorf("seller form %v: %d, want 422", form, r.status)
		}
	}
	if sd := f.ts.reseller("acme").Seller; sd.Footer != "" || sd.LegalName != "" || len(sd.TaxRates) != 0 {
		t.Errorf("seller details saved: %+v", sd)
	}
}

// TestAttackBillingUpgradeAfterPriceChange: the reseller raises Basic's
// fee and seat fee "from the next invoice". A client invoiced 29/30 of
// 10.00 and of one extra seat at 5.00 for November then upgrades: the
// unused time was credited at the new prices, more than it was charged
// (Pro for the rest of the month for 2.90 instead of 14.50).
// It is credited at what November's invoice charged; a price cut does
// not shrink the credit either.
func TestAttackBillingUpgradeAfterPriceChange(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, patch string
	}{
		{"raised", `{"monthly_fee":"20.00","seat_fee":"7.00"}`}, // 27.00 a month with 3 seats: Pro (30.00) is still an upgrade
		{"cut", `{"monthly_fee":"1.00","seat_fee":"0.50"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newBillingFixture(t)
			at := f.at
			at.expect(apiRequest{method: "PUT", host: acmeHost, path: "/api/v1/subscription", key: f.annKey, body: fmt.Sprintf(`{"plan":%d,"seats":3}`, f.basic)}, http.StatusOK)
			at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/invoices/run", key: f.acmeKey, body: `{"period":"2026-11"}`}, http.StatusOK)
			nov := f.invoices(f.annKey, "/invoices").Data[0]
			if len(nov.Lines) != 2 || nov.Lines[0].UnitPrice != "9.67" || nov.Lines[1].UnitPrice != "4.83" {
				t.Fatalf("November: %+v", nov.Lines)
			}
			at.expect(apiRequest{method: "PATCH", host: acmeHost, path: fmt.Sprintf("/api/v1/plans/%d", f.basic), key: f.acmeKey, body: c.patch}, http.StatusOK)
			change := fmt.Sprintf(`{"plan":%d,"seats":3}`, f.pro)
			pv := decodeReply[apiPreview](t, at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/subscription/preview", key: f.annKey, body: change}, http.StatusOK))
			credits := map[string]string{}
			for _, l := range pv.Lines {
				if strings.HasPrefix(l.Description, "Unused time: ") {
					credits[strings.TrimPrefix(l.Description[:strings.Index(l.Description, " (Nov")], "Unused time: ")] = l.UnitPrice
				}
			}
			if credits["Plan Basic"] != "-9.67" || credits["Extra seats (2 included in Basic)"] != "-4.83" || pv.DueNow != "14.50" {
				t.Errorf("credits %v, due now %s; want what November charged (-9.67, -4.83) and 14.50 due", credits, pv.DueNow)
			}
			at.expect(apiRequest{method: "PUT", host: acmeHost, path: "/api/v1/subscription", key: f.annKey, body: change}, http.StatusOK)
			if up := f.invoices(f.annKey, "/invoices").Data[0]; up.Kind != "proration" || up.Total != pv.DueNow {
				t.Errorf("proration invoice %+v, preview due %s", up, pv.DueNow)
			}
			if problems, err := f.ts.store.Verify(); err != nil || len(problems) > 0 {
				t.Errorf("verify: %v %v", problems, err)
			}
		})
	}
}

// TestAttackBillingReverseChargeVAT: the EU reverse charge (0 %) took any
// VAT number, even one of the seller's own country: a client in France
// with a German VAT number, buying from a German seller, was invoiced
// without VAT. A VAT number must be of the buyer's member state: the
// details refuse another country's, and a client whose country comes
// from its account (no billing country) is taxed at its country's rate.
func TestAttackBillingReverseChargeVAT(t *testing.T) {
	t.Parallel()
	f := newBillingFixture(t)
	at, ts := f.at, f.ts
	if _, err := ts.app.billing.SetSellerDetails(ts.ids["acme"], store.SellerDetails{Country: "DE", VATNumber: "DE123456789",
		TaxRates: map[string]int{"DE": 1900, "FR": 2000}}, billingActor); err != nil {
		t.Fatal(err)
	}
	got := fieldsOf422(t, at.do(apiRequest{method: "PUT", host: acmeHost, path: "/api/v1/billing-details", key: f.annKey,
		body: `{"company":"Lee SARL","country":"FR","vat_number":"DE123456789"}`}))
	if len(got) != 1 || got[0] != "vat_number" {
		t.Errorf("a German VAT number for France: fields %v", got)
	}
	at.expect(apiRequest{method: "PUT", host: acmeHost, path: "/api/v1/billing-details", key: f.annKey,
		body: `{"company":"Lee SARL","country":"GR","vat_number":"EL123456789"}`}, http.StatusOK) // Greece's numbers start EL
	// no billing country: the account's (ann is in the US, made French here) decides, and a German number is no reverse charge
	if err := ts.store.Update(func(tx *store.Tx) error {
		cl, err := tx.Client(ts.ids["acme"], f.ann.ID)
		if err != nil {
			return err
		}
		cl.Country = "FR"
		if err := tx.UpdateClient(cl); err != nil {
			return err
		}
		_, err = tx.SetClientBilling(cl.ResellerID, cl.ID, store.BillingDetails{Company: "Lee SARL", VATNumber: "DE123456789"}) // as saved before the check
		return err
	}); err != nil {
		t.Fatal(err)
	}
	at.expect(apiRequest{method: "PUT", host: acmeHost, path: "/api/v1/subscription", key: f.annKey, body: fmt.Sprintf(`{"plan":%d,"seats":1}`, f.basic)}, http.StatusOK)
	at.expect(apiRequest{method: "POST", host: acmeHost, path: "/api/v1/invoices/run", key: f.acmeKey, body: `{"period":"2026-11"}`}, http.StatusOK)
	inv := f.invoices(f.annKey, "/invoices").Data[0]
	if inv.TaxRate != "20.00" || inv.TaxNote != "" {
		t.Errorf("French buyer with a German VAT number from a German seller: tax %s %q", inv.TaxRate, inv.TaxNote)
	}
}

// TestAttackStaffConfirmsStalePreview: billing staff preview an upgrade
// of a client's plan and confirm it after the plan's price rose: the
// confirmation invoiced the new amount, never shown. It carries the
// amount it showed; changed, nothing is invoiced and the new preview
// is shown with 409.
func TestAttackStaffConfirmsStalePreview(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	s := seedAttack(t, ts) // cleo on Basic, November invoiced
	owner := ts.acmeOwner()
	sub := clientURL(ts.cleo()) + "/subscription"
	q := url.Values{"plan": {strconv.FormatUint(s.pro.ID, 10)}, "seats": {"3"}}
	preview := owner.get(acmeHost, sub+"?"+q.Encode())
	if preview.status != http.StatusOK {
		t.Fatalf("preview: %d", preview.status)
	}
	_, form, _ := strings.Cut(preview.body, `action="`+sub+`"`)
	form, _, _ = strings.Cut(form, "</form>")
	stale := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(form, -1) {
		if m[1] != "_csrf" {
			stale.Add(m[1], m[2])
		}
	}
	if stale.Get("due") == "" {
		t.Fatalf("the confirming form carries no amount: %v", stale)
	}
	if _, err := ts.app.billing.UpdatePlan(ts.reseller("acme"), s.pro.ID, func(in *billing.PlanInput) { in.MonthlyFee = "300.00" }, billingActor); err != nil {
		t.Fatal(err)
	}
	before := len(ts.acmeInvoices(billing.InvoiceFilter{ClientID: ts.cleo().ID}))
	r := owner.post(acmeHost, sub, sub, stale)
	wantPage(t, "the stale confirmation", r, http.StatusConflict, "The amounts changed since the preview; nothing was changed.", "Due now: ")
	if n := len(ts.acmeInvoices(billing.InvoiceFilter{ClientID: ts.cleo().ID})); n != before {
		t.Errorf("the stale confirmation issued %d invoice(s)", n-before)
	}
	// the new preview's form confirms
	_, form, _ = strings.Cut(r.body, `action="`+sub+`"`)
	form, _, _ = strings.Cut(form, "</form>")
	fresh := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(form, -1) {
		if m[1] != "_csrf" {
			fresh.Add(m[1], m[2])
		}
	}
	if r := owner.post(acmeHost, sub, sub, fresh); r.status != http.StatusSeeOther {
		t.Errorf("the fresh confirmation: %d", r.status)
	}
	if n := len(ts.acmeInvoices(billing.InvoiceFilter{ClientID: ts.cleo().ID})); n != before+1 {
		t.Errorf("%d invoices after the fresh confirmation, want %d", n, before+1)
	}
}
