package app

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"portico/app/billing"
	"portico/app/clients"
	"portico/app/fault"
	"portico/store"
	"portico/store/money"
)

// chromeFits checks the open page as the layout test does, at every
// width of layoutWidths: nothing outside the window, its card or its
// scrolling box, with every menu, disclosure and dialog opened.
func chromeFits(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	for _, width := range layoutWidths {
		chromeDo(t, ctx, "resize", chromedp.EmulateViewport(width, layoutHeight))
		problems := chromeRun(t, ctx, "check the layout", chromedp.Evaluate[[]string](layoutCheck+`("", false)`))
		problems = append(problems, chromeRun(t, ctx, "check the menus", chromedp.Evaluate[[]string](layoutMenus))...)
		if len(problems) > 0 {
			t.Errorf("%s at %d px:\n  %s", what, width, strings.Join(problems, "\n  "))
		}
	}
	chromeDo(t, ctx, "resize", chromedp.EmulateViewport(1280, layoutHeight))
}

// TestBrowserClientBilling: a client's admin opens Billing from the menu,
// changes plan through the preview (each line and the amount due now),
// confirms it and finds the proration invoice; plans a downgrade and sees
// it pending with its Cancel; filters the invoice list by status and
// clears the filter; opens an invoice's PDF. Each page fits a phone, a
// laptop and a desktop. A per-minute client's owner sees the minutes per
// month; a plain user of the client is refused the tab (403) and has no
// Billing in the menu.
func TestBrowserClientBilling(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	s := seedClientBilling(t, ts)
	acme := ts.reseller("acme")
	november := clientInvoices(t, ts)[0]
	if _, err := ts.app.billing.MarkPaid(acme.ID, november.ID, "bank transfer", "", clientBillingStaff); err != nil {
		t.Fatal(err)
	}
	ts.addClientUser("admin@cleo.example", store.RoleAdmin)
	ts.addClientUser("user@cleo.example", store.RoleUser)
	ctx := newChromeFor(t, 4*time.Minute)

	chromeSignIn(t, ctx, ts, acmeHost, "admin@cleo.example", "/dashboard")
	if u, status := chromeSubmit(t, ctx, "open Billing from the menu", `nav.sidenav a[href="/settings?tab=billing"]`); u.RequestURI() != billingTabURL || status != http.StatusOK {
		t.Fatalf("Billing: %s %d", u, status)
	}
	if got := chromeText(t, ctx, "nav.sidenav a[aria-current=page]"); got != "Billing" {
		t.Errorf("the menu marks %q as current, want Billing", got)
	}
	if got := chromeText(t, ctx, "#subscription"); !strings.Contains(got, "Basic · 10.00 USD a month") || !strings.Contains(got, "3 used of 3") {
		t.Errorf("subscription: %q", got)
	}

	// change plan: Pro, previewed before it is confirmed
	want, err := ts.app.billing.PreviewChange(acme, ts.cleo().ID, billing.Change{PlanID: s.pro.ID, Seats: 3})
	if err != nil {
		t.Fatal(err)
	}
	chromeDo(t, ctx, "choose Pro", chromedp.SetValue(chromedp.ID("f-plan"), strconv.FormatUint(s.pro.ID, 10)))
	u, status := chromeSubmit(t, ctx, "preview the change", `form[action="/settings/billing/change"]:has(#f-plan) button[type=submit]`)
	if u.Path != billingChangeURL || status != http.StatusOK {
		t.Fatalf("preview: %s %d", u, status)
	}
	due := money.FormatNumber(want.DueNow, "USD")
	if got := chromeText(t, ctx, "#due-title"); got != "Due now: "+due+" USD" {
		t.Errorf("preview heading: %q, want the service's %s", got, due)
	}
	if got := chromeText(t, ctx, "table.billing-lines"); !strings.Contains(got, "Unused time: Plan Basic") || !strings.Contains(got, "Remaining time: Plan Pro") {
		t.Errorf("preview lines: %q", got)
	}
	chromeFits(t, ctx, "the preview")
	if u, status := chromeSubmit(t, ctx, "confirm", `form[action="/settings/billing/subscription"] button[type=submit]`); u.RequestURI() != billingTabURL || status != http.StatusOK {
		t.Fatalf("after confirming: %s %d", u, status)
	}
	list := clientInvoices(t, ts)
	if len(list) != 2 || list[0].Kind != store.InvoiceProration || list[0].Total != want.DueNow {
		t.Fatalf("after the upgrade: %d invoices, newest %+v", len(list), list[0])
	}
	if got := chromeText(t, ctx, ".flash"); !strings.Contains(got, "You are on Pro with 3 seats. Invoice "+list[0].Number) {
		t.Errorf("flash: %q", got)
	}

	// a downgrade is pending, with its Cancel
	chromeDo(t, ctx, "choose Basic", chromedp.SetValue(chromedp.ID("f-plan"), strconv.FormatUint(s.basic.ID, 10)))
	chromeSubmit(t, ctx, "preview the downgrade", `form[action="/settings/billing/change"]:has(#f-plan) button[type=submit]`)
	if got := chromeText(t, ctx, "#due-title"); got != "Nothing due now" {
		t.Errorf("downgrade preview: %q", got)
	}
	chromeSubmit(t, ctx, "confirm the downgrade", `form[action="/settings/billing/subscription"] button[type=submit]`)
	if got := chromeText(t, ctx, ".billing-pending"); !strings.Contains(got, "Planned for 1 Dec 2026: Basic, 3 seats") {
		t.Errorf("pending: %q", got)
	}
	chromeFits(t, ctx, "the Billing tab")

	// the invoice list: Paid, then Clear
	chromeSubmit(t, ctx, "see all invoices", `a[href="/settings/billing/invoices"]`)
	if got := chromeText(t, ctx, "table.billing-invoices"); !strings.Contains(got, november.Number) || !strings.Contains(got, list[0].Number) {
		t.Errorf("all invoices: %q", got)
	}
	chromeDo(t, ctx, "choose Paid", chromedp.SetValue(chromedp.ID("f-status"), store.InvoicePaid))
	if u, _ := chromeSubmit(t, ctx, "filter", `form.filters button[type=submit]`); u.Query().Get("status") != store.InvoicePaid {
		t.Fatalf("filter: %s", u)
	}
	if got := chromeText(t, ctx, "table.billing-invoices"); !strings.Contains(got, november.Number) || strings.Contains(got, list[0].Number) {
		t.Errorf("paid invoices: %q", got)
	}
	chromeFits(t, ctx, "the invoice list")
	if u, _ := chromeSubmit(t, ctx, "clear the filter", `form.filters a[href="/settings/billing/invoices"]`); u.RawQuery != "" {
		t.Errorf("after Clear: %s", u)
	}
	if got := chromeText(t, ctx, "table.billing-invoices"); !strings.Contains(got, list[0].Number) {
		t.Errorf("after Clear: %q", got)
	}

	// an invoice's page, then its PDF
	chromeSubmit(t, ctx, "open the newest invoice", `table.billing-invoices tbody tr:first-child th a`)
	if got := chromeText(t, ctx, "main h1"); !strings.Contains(got, list[0].Number) {
		t.Errorf("invoice page: %q", got)
	}
	chromeFits(t, ctx, "an invoice")
	pdf := chromeRun(t, ctx, "fetch the PDF", chromedp.Evaluate[string](
		`fetch(document.querySelector("a[href$='/pdf']").href).then(async (r) => r.status + " " + r.headers.get("content-type") + " " + (await r.text()).slice(0, 5))`,
		chromedp.EvalAwaitPromise))
	if pdf != "200 application/pdf %PDF-" {
		t.Errorf("the invoice's PDF: %q", pdf)
	}
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(`a[href$="/pdf"]`))
	if err == nil && resp != nil && (resp.Status != http.StatusOK || resp.MimeType != "application/pdf") {
		t.Errorf("opening the PDF: %d %s", resp.Status, resp.MimeType)
	}
	chromeRun(t, ctx, "back to the console", chromedp.NavigateResponse(ts.url(acmeHost, "/dashboard")))
	chromeSubmit(t, ctx, "sign out", `form[action="/logout"] button[type=submit]`)

	// a per-minute client's owner: minutes per month
	metered, err := ts.app.clients.Create(acme, clients.Input{Username: "metered", FirstName: "Mia", LastName: "Meter", Email: "mia@metered.example",
		Country: "DE", Company: "Metered Minutes GmbH", Password: testPassword, Confirm: testPassword}, clientBillingStaff)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ts.app.billing.ChangeSubscription(acme, metered.ID, billing.Change{PlanID: s.metered.ID, Seats: 1}, clientBillingStaff); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.app.clients.Recharge(acme, metered.ID, "20.00", "opening credit", "metered-1", clientBillingStaff); err != nil {
		t.Fatal(err)
	}
	ts.importDeck("acme", pagesDeck)
	ts.ingest("acme", metered, call("m-1", store.Outbound, "+14155550100", "+14155550111", ts.clock.Now().Add(-2*time.Hour), 600, store.Answered))
	chromeSignIn(t, ctx, ts, acmeHost, "mia@metered.example", "/dashboard")
	chromeRun(t, ctx, "open Billing", chromedp.NavigateResponse(ts.url(acmeHost, billingTabURL)))
	if got := strings.Join(strings.Fields(chromeText(t, ctx, "#minutes")), " "); !strings.Contains(got, "November 2026 so far 1 10 0") {
		t.Errorf("minutes per month: %q", got)
	}
	chromeFits(t, ctx, "a per-minute client's Billing tab")
	chromeSubmit(t, ctx, "sign out", `form[action="/logout"] button[type=submit]`)

	// a plain user: no Billing in the menu, 403 on the tab
	chromeSignIn(t, ctx, ts, acmeHost, "user@cleo.example", "/dashboard")
	if got := chromeText(t, ctx, "nav.sidenav"); strings.Contains(got, "Billing") {
		t.Errorf("a user's menu: %q", got)
	}
	if resp := chromeRun(t, ctx, "open the Billing tab", chromedp.NavigateResponse(ts.url(acmeHost, billingTabURL))); resp.Status != http.StatusForbidden {
		t.Errorf("a user on the Billing tab: %d, want 403", resp.Status)
	}
	if got := chromeText(t, ctx, "main h1"); got != "Not allowed" {
		t.Errorf("403 page heading: %q", got)
	}
}

// seedClientBillingShowcase gives the layout test's showcase what the
// client's Billing tab shows: cleo on the catalogue's largest plan with a
// paid period invoice, a proration invoice and a pending change (unless
// an earlier seed subscribed it), long billing details, numbers of two
// types, and the per-minute client "empty".
func seedClientBillingShowcase(t *testing.T, ts *testServer, s *showcase) {
	t.Helper()
	acme, by := ts.reseller("acme"), clientBillingStaff
	var plans []*store.Plan
	if err := ts.store.View(func(tx *store.Tx) (err error) { plans, err = store.CatalogList[*store.Plan](tx, acme.ID); return err }); err != nil {
		t.Fatal(err)
	}
	var biz, perMinute *store.Plan
	for _, p := range plans {
		switch {
		case p.Status != store.CatalogActive:
		case p.Kind == store.PlanPerMinute && perMinute == nil:
			perMinute = p
		case p.Kind == store.PlanSubscription && (biz == nil || len(p.AddOns) > len(biz.AddOns)):
			biz = p
		}
	}
	if biz == nil || perMinute == nil || len(biz.AddOns) < 2 {
		t.Fatalf("the showcase's catalogue has no plan with two add-ons and no per-minute plan: %v", plans)
	}
	cleo := s.clients["cleo"]
	if _, err := ts.app.billing.Subscription(acme, cleo); fault.Is(err, fault.NotFound) {
		seats := biz.IncludedSeats + 2
		if _, _, err := ts.app.billing.ChangeSubscription(acme, cleo, billing.Change{PlanID: biz.ID, Seats: seats, AddOns: biz.AddOns[:1]}, by); err != nil {
			t.Fatal(err)
		}
		if _, err := ts.app.billing.RunPeriod(context.Background(), acme, "2026-11", by); err != nil {
			t.Fatal(err)
		}
		list, _, err := ts.app.billing.Invoices(acme.ID, billing.InvoiceFilter{ClientID: cleo, Limit: 1})
		if err != nil || len(list) != 1 {
			t.Fatalf("cleo's November invoice: %v %v", list, err)
		}
		if _, err := ts.app.billing.MarkPaid(acme.ID, list[0].ID, "SEPA transfer with a rather long reference 2026-11-02", "", by); err != nil {
			t.Fatal(err)
		}
		// after November's invoice: a proration invoice
		if _, _, err := ts.app.billing.ChangeSubscription(acme, cleo, billing.Change{PlanID: biz.ID, Seats: seats, AddOns: biz.AddOns}, by); err != nil {
			t.Fatal(err)
		}
	} else if err != nil {
		t.Fatal(err)
	}
	// a pending change: the last add-on removed at the period end
	view, err := ts.app.billing.Subscription(acme, cleo)
	if err != nil {
		t.Fatal(err)
	}
	if sub := view.Sub; sub.Pending == nil && len(sub.AddOns) > 0 {
		if _, _, err := ts.app.billing.ChangeSubscription(acme, cleo, billing.Change{PlanID: sub.PlanID, Seats: sub.Seats, AddOns: sub.AddOns[:len(sub.AddOns)-1]}, by); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ts.app.billing.SetBillingDetails(acme, cleo, store.BillingDetails{Company: "Cleo Calls International Telecommunications Holding Ltd",
		VATNumber: "GB123456789", InvoiceEmails: []string{"accounts.payable.department@cleo-calls-international.example", "ceo@cleo.example"},
		Address1: "Unit 12, The Long Industrial Estate Road", City: "Newcastle upon Tyne", Zip: "NE1 4ST", Country: "GB"}, by); err != nil {
		t.Fatal(err)
	}
	for _, n := range []billing.NumberInput{{Number: "+493098765432", MonthlyFee: "9.90"}, {Number: "+33612345678", MonthlyFee: "4.50", SetupFee: "10.00"}} {
		if _, err := ts.app.billing.AddNumber(acme, n, by); err != nil {
			t.Fatal(err)
		}
		if _, err := ts.app.billing.AssignNumber(acme, n.Number, "cleo", by); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ts.app.billing.Subscription(acme, s.clients["empty"]); fault.Is(err, fault.NotFound) {
		if _, _, err := ts.app.billing.ChangeSubscription(acme, s.clients["empty"], billing.Change{PlanID: perMinute.ID, Seats: 1}, by); err != nil {
			t.Fatal(err)
		}
	}
}

// clientBillingPreviews are the layout test's previews of changes of
// cleo's subscription: more seats (lines and an amount due now), another
// plan (at once or at the period end), and a refused change (422).
func clientBillingPreviews(s *showcase) []layoutVisit {
	view, err := s.ts.app.billing.Subscription(s.ts.reseller("acme"), s.clients["cleo"])
	if err != nil {
		s.ts.t.Fatal(err)
	}
	more := billing.Change{PlanID: view.Sub.PlanID, Seats: view.Sub.Seats + 10, AddOns: view.Sub.AddOns}
	out := []layoutVisit{{who: "client:owner", path: changeQuery(more)},
		{who: "client:owner", path: billingChangeURL + "?plan=" + strconv.FormatUint(view.Sub.PlanID, 10) + "&seats=0", status: http.StatusUnprocessableEntity}}
	var plans []*store.Plan
	_ = s.ts.store.View(func(tx *store.Tx) (err error) {
		plans, err = store.CatalogList[*store.Plan](tx, s.ts.ids["acme"])
		return err
	})
	for _, p := range plans {
		if p.ID != view.Sub.PlanID && p.Status == store.CatalogActive && p.Kind == store.PlanSubscription {
			out = append(out, layoutVisit{who: "client:owner", path: changeQuery(billing.Change{PlanID: p.ID, Seats: view.Sub.Seats})})
			break
		}
	}
	return out
}

// clientInvoiceVisits opens each of cleo's invoices and its invoice lists.
func clientInvoiceVisits(s *showcase) []layoutVisit {
	list, _, err := s.ts.app.billing.Invoices(s.ts.ids["acme"], billing.InvoiceFilter{ClientID: s.clients["cleo"], Limit: 10})
	if err != nil || len(list) == 0 {
		s.ts.t.Fatalf("cleo's invoices: %v %v", list, err)
	}
	var out []layoutVisit
	for _, inv := range list {
		out = append(out, layoutVisit{who: "client:owner", path: fmt.Sprintf("%s/%d", billingInvoicesURL, inv.ID)})
	}
	return out
}

// clientInvoiceListVisits opens the invoice list, filtered, and with a
// filter it refuses (400).
func clientInvoiceListVisits(*showcase) []layoutVisit {
	return []layoutVisit{{who: "client:owner", path: billingInvoicesURL}, {who: "client:owner", path: billingInvoicesURL + "?" + url.Values{"status": {"unpaid"}}.Encode()},
		{who: "client:owner", path: billingInvoicesURL + "?status=void", status: http.StatusBadRequest}}
}
