package app

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"portico/app/actor"
	"portico/app/billing"
	"portico/app/clients"
	"portico/store"
	"portico/store/money"
)

// clientBillingSeed is acme's catalogue for the Billing tab's tests:
// Basic (10.00 a month, 2 seats included, 5.00 a seat more) with the
// Europe package and the Recording add-on (2.00 a seat), Pro (30.00, 5
// included, 4.00) with both as well, and Metered (per minute); cleo on
// Basic with 3 seats since the test clock's day (2 Nov 2026), November's
// invoice issued.
type clientBillingSeed struct {
	basic, pro, metered *store.Plan
	europe              *store.CallingPackage
	recording           *store.AddOn
}

var clientBillingStaff = actor.Actor{Name: "owner@acme.example", IP: "192.0.2.10"}

func seedClientBilling(t *testing.T, ts *testServer) *clientBillingSeed {
	t.Helper()
	acme := ts.reseller("acme")
	s := &clientBillingSeed{
		europe:    &store.CallingPackage{ResellerID: acme.ID, Name: "Europe", Countries: []string{"DE", "FR"}, FairUseMinutes: 1000, PerSeat: true},
		recording: &store.AddOn{ResellerID: acme.ID, Name: "Recording", MonthlyFee: 2 * money.Unit, PerSeat: true},
		basic:     &store.Plan{ResellerID: acme.ID, Name: "Basic", Kind: store.PlanSubscription, MonthlyFee: 10 * money.Unit, IncludedSeats: 2, SeatFee: 5 * money.Unit, Status: store.CatalogActive},
		pro:       &store.Plan{ResellerID: acme.ID, Name: "Pro", Kind: store.PlanSubscription, MonthlyFee: 30 * money.Unit, IncludedSeats: 5, SeatFee: 4 * money.Unit, Status: store.CatalogActive},
		metered:   &store.Plan{ResellerID: acme.ID, Name: "Metered", Kind: store.PlanPerMinute, Status: store.CatalogActive},
	}
	err := ts.store.Update(func(tx *store.Tx) error {
		if err := store.PutCatalog(tx, s.europe); err != nil {
			return err
		}
		if err := store.PutCatalog(tx, s.recording); err != nil {
			return err
		}
		for _, p := range []*store.Plan{s.basic, s.pro} {
			p.Packages, p.AddOns = []uint64{s.europe.ID}, []uint64{s.recording.ID}
		}
		for _, p := range []*store.Plan{s.basic, s.pro, s.metered} {
			if err := store.PutCatalog(tx, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cleo := ts.cleo()
	if _, _, err := ts.app.billing.ChangeSubscription(acme, cleo.ID, billing.Change{PlanID: s.basic.ID, Seats: 3}, clientBillingStaff); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.app.billing.RunPeriod(context.Background(), acme, "2026-11", clientBillingStaff); err != nil {
		t.Fatal(err)
	}
	return s
}

// clientInvoices are cleo's invoices, newest first.
func clientInvoices(t *testing.T, ts *testServer) []*store.Invoice {
	t.Helper()
	list, _, err := ts.app.billing.Invoices(ts.ids["acme"], billing.InvoiceFilter{ClientID: ts.cleo().ID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

var hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// confirmForm reads the hidden fields of the preview's confirming form.
func confirmForm(t *testing.T, body string) url.Values {
	t.Helper()
	_, form, ok := strings.Cut(body, `action="/settings/billing/subscription"`)
	if !ok {
		t.Fatalf("no confirming form:\n%s", body)
	}
	form, _, _ = strings.Cut(form, "</form>")
	v := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(form, -1) {
		if m[1] != "_csrf" {
			v.Set(m[1], html.UnescapeString(m[2]))
		}
	}
	return v
}

func wantBody(t *testing.T, what string, r response, status int, parts ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d\n%s", what, r.status, status, r.body)
	}
	for _, p := range parts {
		if !strings.Contains(r.body, p) {
			t.Errorf("%s: the page does not say %q", what, p)
		}
	}
}

// TestClientBillingChangePlan: a client's owner sees the subscription,
// previews an upgrade (each line, the amount due now, today), confirms
// it and gets the proration invoice the preview showed; the same
// confirmation sent again after the change finds the amount moved and
// changes nothing (409); a downgrade waits for the period end and its
// Cancel keeps the subscription.
func TestClientBillingChangePlan(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	s := seedClientBilling(t, ts)
	owner := ts.acmeClient()

	tab := owner.get(acmeHost, billingTabURL)
	wantBody(t, "the tab", tab, http.StatusOK, "Basic · 10.00 USD a month, 2 seats included, 5.00 USD a seat more", "1 used of 3",
		"Europe", "France, Germany", "3,000 min a month (1,000 per seat)", "0 of 3,000 min", "Domestic and international",
		"Extra seats (2 included)", "1 Dec 2026", `href="/settings/billing/movements.csv"`, "ACME-2026-000001", "Invoice ACME-2026-000001 issued")
	if len(clientInvoices(t, ts)) != 1 {
		t.Fatal("November's invoice is not there")
	}

	// preview: Pro with 3 seats and Recording, from 2 Nov (29 of 30 days)
	q := url.Values{"plan": {fmt.Sprint(s.pro.ID)}, "seats": {"3"}, "add_on": {fmt.Sprint(s.recording.ID)}}
	preview := owner.get(acmeHost, billingChangeURL+"?"+q.Encode())
	want, err := ts.app.billing.PreviewChange(ts.reseller("acme"), ts.cleo().ID, billing.Change{PlanID: s.pro.ID, Seats: 3, AddOns: []uint64{s.recording.ID}})
	if err != nil || want.DueNow <= 0 {
		t.Fatalf("service preview: %+v %v", want, err)
	}
	due := money.FormatNumber(want.DueNow, "USD")
	wantBody(t, "the preview", preview, http.StatusOK, "Now", "Basic, 3 seats", "Pro, 3 seats, with Recording",
		"Unused time: Plan Basic", "Remaining time: Plan Pro", "Due now: "+due+" USD", "From today, 2 Nov 2026")
	if n := len(clientInvoices(t, ts)); n != 1 {
		t.Fatalf("the preview issued an invoice: %d", n)
	}
	form := confirmForm(t, preview.body)
	r := owner.post(acmeHost, billingTabURL, "/settings/billing/subscription", form)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != billingTabURL+"#subscription" {
		t.Fatalf("confirm: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
	}
	list := clientInvoices(t, ts)
	if len(list) != 2 || list[0].Kind != store.InvoiceProration || list[0].Total != want.DueNow || len(list[0].Lines) != len(want.Lines) {
		t.Fatalf("after the upgrade: %d invoices, newest %+v", len(list), list[0])
	}
	wantBody(t, "the tab after the upgrade", owner.get(acmeHost, billingTabURL), http.StatusOK,
		"You are on Pro with 3 seats. Invoice ACME-2026-000002 of", "Pro · 30.00 USD a month", "Plan change")

	// the same confirmation again: the amount due is not what it said
	r = owner.post(acmeHost, billingTabURL, "/settings/billing/subscription", form)
	wantBody(t, "the stale confirmation", r, http.StatusConflict, "The amounts changed since you looked", "Nothing due now")
	if n := len(clientInvoices(t, ts)); n != 2 {
		t.Fatalf("the stale confirmation issued an invoice: %d", n)
	}

	// a downgrade waits for 1 Dec; Cancel keeps Pro
	q = url.Values{"plan": {fmt.Sprint(s.basic.ID)}, "seats": {"3"}, "add_ons": {fmt.Sprint(s.recording.ID)}}
	preview = owner.get(acmeHost, billingChangeURL+"?"+q.Encode())
	wantBody(t, "the downgrade's preview", preview, http.StatusOK, "Nothing due now", "Nothing changes until 1 Dec 2026")
	if r := owner.post(acmeHost, billingTabURL, "/settings/billing/subscription", confirmForm(t, preview.body)); r.status != http.StatusSeeOther {
		t.Fatalf("downgrade: %d\n%s", r.status, r.body)
	}
	tab = owner.get(acmeHost, billingTabURL)
	wantBody(t, "the tab with a pending change", tab, http.StatusOK, "Planned for 1 Dec 2026:", "Basic, 3 seats, with Recording", "Cancel the planned change?")
	_, cancel, _ := strings.Cut(tab.body, `id="cancel-pending"`)
	r = owner.post(acmeHost, billingTabURL, "/settings/billing/subscription", confirmForm(t, cancel))
	if r.status != http.StatusSeeOther {
		t.Fatalf("cancel: %d\n%s", r.status, r.body)
	}
	tab = owner.get(acmeHost, billingTabURL)
	wantBody(t, "the tab after Cancel", tab, http.StatusOK, "The change planned for 1 Dec 2026 is cancelled: you keep Pro with 3 seats.")
	if strings.Contains(tab.body, "Planned for") {
		t.Error("the pending change is still shown")
	}
	view, err := ts.app.billing.Subscription(ts.reseller("acme"), ts.cleo().ID)
	if err != nil || view.Sub.PlanID != s.pro.ID || view.Sub.Pending != nil {
		t.Fatalf("after Cancel: %+v %v", view, err)
	}
	if n := len(clientInvoices(t, ts)); n != 2 {
		t.Fatalf("the downgrade or its Cancel issued an invoice: %d", n)
	}

	// fewer seats than the team: 422 on the tab with the message at the field
	ts.addClientUser("second@cleo.example", store.RoleUser)
	ts.addClientUser("third@cleo.example", store.RoleUser)
	ts.addClientUser("fourth@cleo.example", store.RoleUser)
	q = url.Values{"plan": {fmt.Sprint(s.pro.ID)}, "seats": {"2"}}
	wantBody(t, "too few seats", owner.get(acmeHost, billingChangeURL+"?"+q.Encode()), http.StatusUnprocessableEntity,
		"Nothing was changed. Please correct the fields marked below.", "The team has 4 users; seats cannot be fewer.", `id="f-seats" name="seats" type="number" value="2"`)
	wantBody(t, "seats that are no number", owner.get(acmeHost, billingChangeURL+"?plan=1&seats=many"), http.StatusUnprocessableEntity,
		"A whole number of seats")

	// verify is clean
	problems, err := ts.store.Verify()
	if err != nil || len(problems) > 0 {
		t.Fatalf("verify: %v %v", problems, err)
	}
}

// TestClientBillingInvoices: the invoice list filters all, paid and unpaid
// with Clear, pages through older invoices, refuses an unknown filter
// (400), and shows one invoice of the client; another client's invoice
// is not found.
func TestClientBillingInvoices(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	s := seedClientBilling(t, ts)
	acme, cleo := ts.reseller("acme"), ts.cleo()
	november := clientInvoices(t, ts)[0]
	if _, err := ts.app.billing.MarkPaid(acme.ID, november.ID, "bank transfer 42", "", clientBillingStaff); err != nil {
		t.Fatal(err)
	}
	// 26 proration invoices: one seat more at a time
	for seats := 4; seats < 30; seats++ {
		if _, inv, err := ts.app.billing.ChangeSubscription(acme, cleo.ID, billing.Change{PlanID: s.basic.ID, Seats: seats}, clientBillingStaff); err != nil || inv == nil {
			t.Fatalf("%d seats: %v %v", seats, inv, err)
		}
	}
	list := clientInvoices(t, ts)
	if len(list) != 27 {
		t.Fatalf("%d invoices", len(list))
	}
	owner := ts.acmeClient()
	all := owner.get(acmeHost, billingInvoicesURL)
	wantBody(t, "all invoices", all, http.StatusOK, list[0].Number, list[24].Number, "Older invoices", `<option value="" selected>All</option>`)
	if strings.Contains(all.body, list[25].Number) || strings.Contains(all.body, ">Clear<") {
		t.Error("the first page shows too much")
	}
	next := owner.get(acmeHost, fmt.Sprintf("%s?before=%d", billingInvoicesURL, list[24].ID))
	wantBody(t, "older invoices", next, http.StatusOK, list[25].Number, november.Number, "Newest invoices")
	if strings.Contains(next.body, `rel="next"`) {
		t.Error("the last page links a next one")
	}
	paid := owner.get(acmeHost, billingInvoicesURL+"?status=paid")
	wantBody(t, "paid invoices", paid, http.StatusOK, november.Number, `<option value="paid" selected>Paid</option>`, ">Clear<", "status-paid")
	if strings.Contains(paid.body, list[0].Number) {
		t.Error("the paid filter shows an open invoice")
	}
	unpaid := owner.get(acmeHost, billingInvoicesURL+"?status=unpaid")
	wantBody(t, "unpaid invoices", unpaid, http.StatusOK, list[0].Number, ">Clear<")
	if strings.Contains(unpaid.body, november.Number+"<") {
		t.Error("the unpaid filter shows a paid invoice")
	}
	wantBody(t, "an unknown filter", owner.get(acmeHost, billingInvoicesURL+"?status=void"), http.StatusBadRequest, "Choose all, paid or unpaid.")

	// one invoice, and the tab's five latest
	one := owner.get(acmeHost, fmt.Sprintf("%s/%d", billingInvoicesURL, november.ID))
	wantBody(t, "one invoice", one, http.StatusOK, "Invoice "+november.Number, "Plan Basic", "Cleo Calls", "Acme Voice", "Download PDF", "status-paid")
	pdf := owner.get(acmeHost, fmt.Sprintf("%s/%d/pdf", billingInvoicesURL, november.ID))
	if pdf.status != http.StatusOK || pdf.header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(pdf.body, "%PDF-") ||
		!strings.Contains(pdf.header.Get("Content-Disposition"), november.Number+".pdf") {
		t.Errorf("PDF: %d %v %q", pdf.status, pdf.header, pdf.body[:min(len(pdf.body), 20)])
	}
	if again := owner.get(acmeHost, fmt.Sprintf("%s/%d/pdf", billingInvoicesURL, november.ID)); again.body != pdf.body {
		t.Error("the same invoice rendered other bytes")
	}
	tab := owner.get(acmeHost, billingTabURL)
	if n := strings.Count(tab.body, `<th scope="row"><a href="/settings/billing/invoices/`); n != billingLatest {
		t.Errorf("the tab lists %d invoices, want %d", n, billingLatest)
	}

	// another client's invoice, and another reseller's, are not found
	other, err := ts.app.clients.Create(acme, clients.Input{Username: "other", FirstName: "O", LastName: "Ther", Email: "o@other.example",
		Country: "DE", Password: testPassword, Confirm: testPassword}, clientBillingStaff)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ts.app.billing.ChangeSubscription(acme, other.ID, billing.Change{PlanID: s.pro.ID, Seats: 1}, clientBillingStaff); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.app.billing.RunPeriod(context.Background(), acme, "2026-11", clientBillingStaff); err != nil {
		t.Fatal(err)
	}
	theirs, _, err := ts.app.billing.Invoices(acme.ID, billing.InvoiceFilter{ClientID: other.ID, Limit: 1})
	if err != nil || len(theirs) != 1 {
		t.Fatalf("the other client's invoice: %v %v", theirs, err)
	}
	for _, path := range []string{fmt.Sprintf("%s/%d", billingInvoicesURL, theirs[0].ID), fmt.Sprintf("%s/%d/pdf", billingInvoicesURL, theirs[0].ID), billingInvoicesURL + "/999999"} {
		if r := owner.get(acmeHost, path); r.status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, r.status)
		}
	}
	if strings.Contains(owner.get(acmeHost, billingInvoicesURL).body, theirs[0].Number) {
		t.Error("the list shows another client's invoice")
	}

	// transactions: the list and the CSV; the credit movements' CSV
	tx := owner.get(acmeHost, billingTransactionsURL)
	wantBody(t, "transactions", tx, http.StatusOK, "Invoice "+list[0].Number+" issued", "Older transactions")
	older := regexp.MustCompile(`href="(/settings/billing/transactions\?before=\d+)" rel="next"`).FindStringSubmatch(tx.body)
	if older == nil {
		t.Fatal("no link to older transactions")
	}
	wantBody(t, "older transactions", owner.get(acmeHost, older[1]), http.StatusOK, "Invoice "+november.Number+" paid", "Invoice "+november.Number+" issued", "Newest transactions")
	csv := owner.get(acmeHost, billingTransactionsURL+".csv")
	if csv.status != http.StatusOK || !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(csv.body, "date,kind,invoice_number,amount,currency,balance_after\n") || strings.Count(csv.body, "\n") != 29 ||
		!strings.Contains(csv.body, ",payment,"+november.Number+",") {
		t.Errorf("transactions CSV: %d %s\n%s", csv.status, csv.header.Get("Content-Type"), csv.body)
	}
	mv := owner.get(acmeHost, "/settings/billing/movements.csv")
	if mv.status != http.StatusOK || !strings.HasPrefix(mv.body, "date,kind,amount,currency,balance_after,who,note\n") ||
		!strings.Contains(mv.header.Get("Content-Disposition"), "cleo-credit-movements.csv") {
		t.Errorf("movements CSV: %d %v\n%s", mv.status, mv.header, mv.body)
	}
}

// TestClientBillingDetails: the billing details are validated field by
// field (422, every fault beside its field, nothing saved), then saved;
// the Profile tab shows an owner the company and where invoices go.
func TestClientBillingDetails(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	owner := ts.acmeClient()
	bad := url.Values{"company": {"Cleo Calls Ltd"}, "vat_number": {"123"}, "invoice_emails": {"books@cleo.example, not-an-address"},
		"country": {"ZZ"}, "city": {"London"}}
	r := owner.post(acmeHost, billingTabURL, "/settings/billing/details", bad)
	wantBody(t, "invalid details", r, http.StatusUnprocessableEntity, "Nothing was saved. Please correct the fields marked below.",
		`id="e-vat_number"`, "A VAT number starts with its two-letter country prefix", `id="e-invoice_emails"`, "is not an email address",
		`id="e-country"`, `value="Cleo Calls Ltd"`, `id="f-vat_number" name="vat_number" type="text" value="123" autocomplete="off" autofocus`)
	if cl := ts.cleo(); cl.Billing.Company != "" {
		t.Fatalf("a refused form saved: %+v", cl.Billing)
	}
	good := url.Values{"company": {"Cleo Calls Ltd"}, "vat_number": {"gb 123 456 789"}, "invoice_emails": {"books@cleo.example; ceo@cleo.example"},
		"address1": {"1 Long Lane"}, "city": {"London"}, "zip": {"EC1A 1AA"}, "country": {"GB"}}
	r = owner.post(acmeHost, billingTabURL, "/settings/billing/details", good)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != billingTabURL+"#details" {
		t.Fatalf("save: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
	}
	b := ts.cleo().Billing
	if b.Company != "Cleo Calls Ltd" || b.VATNumber != "GB123456789" || len(b.InvoiceEmails) != 2 || b.Country != "GB" {
		t.Fatalf("saved: %+v", b)
	}
	wantBody(t, "the tab", owner.get(acmeHost, billingTabURL), http.StatusOK, "Your billing details are saved.", `value="GB123456789"`,
		`value="books@cleo.example, ceo@cleo.example"`, `<option value="GB" selected>`)
	wantBody(t, "the profile", owner.get(acmeHost, profileTabURL), http.StatusOK, "Company billing", "Cleo Calls Ltd",
		"books@cleo.example, ceo@cleo.example", `href="/settings?tab=billing#details"`)
	if !ts.hasAudit("billing.details", "cleo") {
		t.Error("no audit event")
	}
}

// TestClientBillingForbidden: managers and users, with or without a
// permission profile that says billing = edit (a profile never widens a
// role), get 403 on the tab and on every billing page and form, and see
// neither the tab nor the menu entry nor the company billing on their
// profile; an admin may use them all.
func TestClientBillingForbidden(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	seedClientBilling(t, ts)
	invoice := clientInvoices(t, ts)[0]
	ts.addClientUser("manager@cleo.example", store.RoleManager)
	ts.addClientUser("user@cleo.example", store.RoleUser)
	ts.addClientUser("admin@cleo.example", store.RoleAdmin)
	ts.addProfiledUser("wide@cleo.example", store.RoleUser, "Billing clerks", map[string]string{"dashboard": "view", "billing": "edit"})
	gets := []string{billingTabURL, billingChangeURL + "?plan=1&seats=9", billingInvoicesURL, fmt.Sprintf("%s/%d", billingInvoicesURL, invoice.ID),
		fmt.Sprintf("%s/%d/pdf", billingInvoicesURL, invoice.ID),
		billingTransactionsURL, billingTransactionsURL + ".csv", "/settings/billing/movements.csv"}
	posts := []string{"/settings/billing/subscription", "/settings/billing/details"}
	for _, email := range []string{"manager@cleo.example", "user@cleo.example", "wide@cleo.example"} {
		b := ts.signedIn(acmeHost, email, "/dashboard")
		for _, path := range gets {
			if r := b.get(acmeHost, path); r.status != http.StatusForbidden {
				t.Errorf("%s GET %s: %d, want 403", email, path, r.status)
			}
		}
		for _, path := range posts {
			form := url.Values{"plan": {"1"}, "seats": {"9"}, "company": {"Taken over"}}
			if r := b.post(acmeHost, profileTabURL, path, form); r.status != http.StatusForbidden {
				t.Errorf("%s POST %s: %d, want 403", email, path, r.status)
			}
		}
		settings := b.get(acmeHost, "/settings")
		profile := b.get(acmeHost, profileTabURL)
		if strings.Contains(settings.body, `href="/settings?tab=billing"`) || strings.Contains(profile.body, "Company billing") {
			t.Errorf("%s is shown billing", email)
		}
	}
	if view, _ := ts.app.billing.Subscription(ts.reseller("acme"), ts.cleo().ID); view.Sub.Seats != 3 || ts.cleo().Billing.Company != "" {
		t.Fatal("a refused visitor changed something")
	}
	admin := ts.signedIn(acmeHost, "admin@cleo.example", "/dashboard")
	for _, path := range gets {
		if r := admin.get(acmeHost, path); r.status != http.StatusOK {
			t.Errorf("admin GET %s: %d", path, r.status)
		}
	}
	if r := admin.get(acmeHost, "/settings"); !strings.Contains(r.body, `href="/settings?tab=billing"`) {
		t.Error("the admin's menu and tab bar do not link Billing")
	}
}
