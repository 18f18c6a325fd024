package app

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"portico/app/actor"
	"portico/app/billing"
	"portico/store"
	"portico/store/money"
)

// billingSeed is acme's billing catalogue for the page tests: plans Basic
// (10.00 a month, 2 seats included, 5.00 a seat more) and Pro (30.00, 5
// included, 4.00), an archived Legacy, and two add-ons both plans offer.
type billingSeed struct {
	basic, pro, legacy *store.Plan
	recording, support *store.AddOn
}

var billingActor = actor.Actor{Name: "owner@acme.example", IP: "192.0.2.10"}

func seedCatalog(t testing.TB, ts *testServer) billingSeed {
	t.Helper()
	rid := ts.ids["acme"]
	u := int64(money.Unit)
	s := billingSeed{
		recording: &store.AddOn{ResellerID: rid, Name: "Call recording", MonthlyFee: 2 * u, PerSeat: true},
		support:   &store.AddOn{ResellerID: rid, Name: "Priority support with a named account manager", MonthlyFee: 25 * u},
		basic:     &store.Plan{ResellerID: rid, Name: "Basic", Kind: store.PlanSubscription, MonthlyFee: 10 * u, IncludedSeats: 2, SeatFee: 5 * u, Status: store.CatalogActive},
		pro:       &store.Plan{ResellerID: rid, Name: "Pro", Kind: store.PlanSubscription, MonthlyFee: 30 * u, IncludedSeats: 5, SeatFee: 4 * u, Status: store.CatalogActive},
		legacy:    &store.Plan{ResellerID: rid, Name: "Legacy", Kind: store.PlanSubscription, MonthlyFee: 5 * u, IncludedSeats: 1, Status: store.CatalogArchived},
	}
	err := ts.store.Update(func(tx *store.Tx) error {
		for _, a := range []*store.AddOn{s.recording, s.support} {
			if err := store.PutCatalog(tx, a); err != nil {
				return err
			}
		}
		for _, p := range []*store.Plan{s.basic, s.pro, s.legacy} {
			p.AddOns = []uint64{s.recording.ID, s.support.ID}
			if err := store.PutCatalog(tx, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// subscribe puts a client of acme on a plan through the service.
func (ts *testServer) subscribe(cid uint64, ch billing.Change) {
	ts.t.Helper()
	if _, _, err := ts.app.billing.ChangeSubscription(ts.reseller("acme"), cid, ch, billingActor); err != nil {
		ts.t.Fatal(err)
	}
}

// acmeInvoices lists acme's invoices, newest first.
func (ts *testServer) acmeInvoices(f billing.InvoiceFilter) []*store.Invoice {
	ts.t.Helper()
	f.Limit = 1000
	list, _, err := ts.app.billing.Invoices(ts.ids["acme"], f)
	if err != nil {
		ts.t.Fatal(err)
	}
	return list
}

func (ts *testServer) acmeInvoice(id uint64) *store.Invoice {
	ts.t.Helper()
	inv, err := ts.app.billing.Invoice(ts.ids["acme"], 0, id)
	if err != nil {
		ts.t.Fatal(err)
	}
	return inv
}

// newBillingClient creates a client of acme with one user.
func (ts *testServer) newBillingClient(username string) *store.Client {
	ts.t.Helper()
	cl := &store.Client{ResellerID: ts.ids["acme"], Username: username, FirstName: strings.ToUpper(username[:1]) + username[1:], LastName: "Billing",
		Email: username + "@billing.example", Country: "DE", Company: username + " GmbH"}
	err := ts.store.Update(func(tx *store.Tx) error {
		return tx.CreateClient(cl, &store.User{Email: username + "@billing.example", PasswordHash: "x"}, "seed")
	})
	if err != nil {
		ts.t.Fatal(err)
	}
	return cl
}

// follow opens the page a redirect points to.
func (b *browser) follow(r response) response {
	b.t.Helper()
	if r.status != http.StatusSeeOther {
		b.t.Fatalf("want a redirect, got %d\n%s", r.status, r.body)
	}
	return b.get(acmeHost, r.header.Get("Location"))
}

// TestResellerInvoicesOverview: "Run invoices" issues a month's invoices
// once (a second run counts them as existing); the list filters by
// status, client and month, with totals of the whole filtered list and a
// Clear link; bad filters are a 400 that says what is wrong; the page
// after a cursor lists older invoices only.
func TestResellerInvoicesOverview(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	seed := seedCatalog(t, ts)
	cleo, ann, bob := ts.cleo(), ts.newBillingClient("ann"), ts.newBillingClient("bob")
	ts.subscribe(cleo.ID, billing.Change{PlanID: seed.pro.ID, Seats: 5})
	ts.subscribe(ann.ID, billing.Change{PlanID: seed.basic.ID, Seats: 2})
	ts.subscribe(bob.ID, billing.Change{PlanID: seed.basic.ID, Seats: 3})
	owner := ts.acmeOwner()

	page := owner.follow(owner.post(acmeHost, resellerInvoicesURL, "/reseller/billing/invoices/run", url.Values{"period": {"2026-11"}}))
	if !strings.Contains(page.body, "Invoices for 2026-11: 3 invoices created, 0 existing") {
		t.Fatalf("first run's flash missing:\n%s", page.body)
	}
	page = owner.follow(owner.post(acmeHost, resellerInvoicesURL, "/reseller/billing/invoices/run", url.Values{"period": {"2026-11"}}))
	if !strings.Contains(page.body, "Invoices for 2026-11: 0 invoices created, 3 existing") {
		t.Fatalf("second run's flash missing:\n%s", page.body)
	}
	if r := owner.post(acmeHost, resellerInvoicesURL, "/reseller/billing/invoices/run", url.Values{"period": {"2026-12"}}); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, "has not begun") {
		t.Fatalf("a month to come: %d\n%s", r.status, r.body)
	}
	all := ts.acmeInvoices(billing.InvoiceFilter{})
	if len(all) != 3 {
		t.Fatalf("%d invoices, want 3", len(all))
	}
	byClient := map[uint64]*store.Invoice{}
	var sum int64
	for _, inv := range all {
		byClient[inv.ClientID] = inv
		sum += inv.Total
	}
	if _, err := ts.app.billing.MarkPaid(ts.ids["acme"], byClient[ann.ID].ID, "T-1", "", billingActor); err != nil {
		t.Fatal(err)
	}

	list := owner.get(acmeHost, resellerInvoicesURL)
	for _, inv := range all {
		if !strings.Contains(list.body, inv.Number) {
			t.Errorf("the list lacks %s", inv.Number)
		}
	}
	if want := "3 invoices</strong> · Total <strong>" + money.FormatNumber(sum, "USD") + "</strong> · Amount due <strong>" + money.FormatNumber(sum-byClient[ann.ID].Total, "USD"); !strings.Contains(list.body, want) {
		t.Errorf("totals: want %q in\n%s", want, list.body)
	}
	if strings.Contains(list.body, ">Clear<") {
		t.Error("an unfiltered list offers Clear")
	}
	for _, c := range []struct {
		query string
		want  []*store.Invoice
	}{
		{"status=paid", []*store.Invoice{byClient[ann.ID]}},
		{"status=unpaid", []*store.Invoice{byClient[cleo.ID], byClient[bob.ID]}},
		{"client=bob", []*store.Invoice{byClient[bob.ID]}},
		{"client=bob&status=paid", nil},
		{"period=2026-11&status=open", []*store.Invoice{byClient[cleo.ID], byClient[bob.ID]}},
		{"period=2026-10", nil},
	} {
		r := owner.get(acmeHost, resellerInvoicesURL+"?"+c.query)
		if r.status != http.StatusOK {
			t.Errorf("%s: %d", c.query, r.status)
			continue
		}
		for _, inv := range all {
			if got, want := strings.Contains(r.body, inv.Number), containsInvoice(c.want, inv); got != want {
				t.Errorf("%s: lists %s %v, want %v", c.query, inv.Number, got, want)
			}
		}
		if want := plural(len(c.want), "invoice") + "</strong> match"; !strings.Contains(r.body, want) {
			t.Errorf("%s: want %q", c.query, want)
		}
		if !strings.Contains(r.body, ">Clear<") {
			t.Errorf("%s: no Clear link", c.query)
		}
	}
	for query, message := range map[string]string{
		"period=11-2026": "A month such as 2026-11.",
		"client=nobody":  "No client has this username.",
		"status=pending": "Choose a status from the list.",
		"before=x":       "This page link is damaged.",
	} {
		r := owner.get(acmeHost, resellerInvoicesURL+"?"+query)
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, message) {
			t.Errorf("%s: %d, want 400 with %q", query, r.status, message)
		}
	}
	// the page after the newest invoice: the two older ones
	r := owner.get(acmeHost, resellerInvoicesURL+"?before="+strconv.FormatUint(all[0].ID, 10))
	if strings.Contains(r.body, all[0].Number) || !strings.Contains(r.body, all[1].Number) || !strings.Contains(r.body, all[2].Number) ||
		!strings.Contains(r.body, "First page") {
		t.Errorf("page after %s:\n%s", all[0].Number, r.body)
	}
	// the revenue figures: MRR of the three subscriptions (30 + 10 + 15)
	if !strings.Contains(list.body, `<p class="figure">55.00</p>`) {
		t.Errorf("MRR missing:\n%s", list.body)
	}

	// another reseller's staff sees none of it
	globex := ts.signedIn(globexHost, "owner@globex.example", "/reseller")
	if r := globex.get(globexHost, resellerInvoicesURL); strings.Contains(r.body, all[0].Number) {
		t.Error("globex lists acme's invoices")
	}
	if r := globex.get(globexHost, invoiceURL(all[0])); r.status != http.StatusNotFound {
		t.Errorf("globex opens acme's invoice: %d", r.status)
	}
}

func containsInvoice(list []*store.Invoice, inv *store.Invoice) bool {
	for _, x := range list {
		if x.ID == inv.ID {
			return true
		}
	}
	return false
}

// issueCleo subscribes cleo to Pro and issues her November invoice.
func issueCleo(t *testing.T, ts *testServer) *store.Invoice {
	t.Helper()
	seed := seedCatalog(t, ts)
	ts.subscribe(ts.cleo().ID, billing.Change{PlanID: seed.pro.ID, Seats: 5})
	if _, err := ts.app.billing.RunPeriod(context.Background(), ts.reseller("acme"), "2026-11", billingActor); err != nil {
		t.Fatal(err)
	}
	list := ts.acmeInvoices(billing.InvoiceFilter{ClientID: ts.cleo().ID})
	if len(list) != 1 {
		t.Fatalf("%d invoices for cleo", len(list))
	}
	return list[0]
}

// TestResellerVoidInvoice: voiding needs a reason (422 without, nothing
// changed); a void invoice keeps its number and the next one takes the
// next; a paid invoice cannot be voided (409, still paid).
func TestResellerVoidInvoice(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	inv := issueCleo(t, ts)
	owner := ts.acmeOwner()
	page := invoiceURL(inv)
	r := owner.post(acmeHost, page, page+"/void", url.Values{"reason": {"  "}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Say why the invoice is void.") {
		t.Fatalf("void without a reason: %d\n%s", r.status, r.body)
	}
	if got := ts.acmeInvoice(inv.ID); got.Status != store.InvoiceOpen {
		t.Fatalf("refused void changed the status to %s", got.Status)
	}
	r = owner.follow(owner.post(acmeHost, page, page+"/void", url.Values{"reason": {"Issued with the wrong seats"}}))
	if !strings.Contains(r.body, "Invoice "+inv.Number+" is void") || !strings.Contains(r.body, "Issued with the wrong seats") {
		t.Fatalf("after void:\n%s", r.body)
	}
	got := ts.acmeInvoice(inv.ID)
	if got.Status != store.InvoiceVoid || got.VoidReason != "Issued with the wrong seats" || got.Number != inv.Number || got.AmountDue != 0 {
		t.Fatalf("void invoice: %+v", got)
	}
	if strings.Contains(r.body, `action="`+page+`/paid"`) || strings.Contains(r.body, `action="`+page+`/void"`) {
		t.Error("a void invoice still offers mark paid or void")
	}
	// the next invoice takes the next number: the void one's stays used
	ann := ts.newBillingClient("ann")
	var basic uint64
	_ = ts.store.View(func(tx *store.Tx) error {
		plans, _ := store.CatalogList[*store.Plan](tx, ts.ids["acme"])
		basic = plans[0].ID
		return nil
	})
	ts.subscribe(ann.ID, billing.Change{PlanID: basic, Seats: 2})
	if _, err := ts.app.billing.RunPeriod(context.Background(), ts.reseller("acme"), "2026-11", billingActor); err != nil {
		t.Fatal(err)
	}
	next := ts.acmeInvoices(billing.InvoiceFilter{ClientID: ann.ID})[0]
	if next.Seq != inv.Seq+1 {
		t.Errorf("next invoice %s has seq %d, want %d", next.Number, next.Seq, inv.Seq+1)
	}

	// a paid invoice cannot be voided
	if _, err := ts.app.billing.MarkPaid(ts.ids["acme"], next.ID, "T-9", "", billingActor); err != nil {
		t.Fatal(err)
	}
	r = owner.post(acmeHost, invoiceURL(next), invoiceURL(next)+"/void", url.Values{"reason": {"too late"}})
	if r.status != http.StatusConflict || !strings.Contains(r.body, "The invoice is paid") {
		t.Fatalf("void a paid invoice: %d\n%s", r.status, r.body)
	}
	if got := ts.acmeInvoice(next.ID); got.Status != store.InvoicePaid {
		t.Errorf("refused void: status %s", got.Status)
	}
}

// TestResellerMarkPaidOnce: the mark-paid form carries a one-time key;
// sent twice (a double click, a resubmitted form) it records one payment
// and one ledger movement; a second form for a paid invoice is a 409.
func TestResellerMarkPaidOnce(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	inv := issueCleo(t, ts)
	owner := ts.acmeOwner()
	page := owner.get(acmeHost, invoiceURL(inv))
	m := keyPattern.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("no one-time key on the invoice page:\n%s", page.body)
	}
	csrf := owner.csrf(acmeHost, invoiceURL(inv))
	form := url.Values{"_csrf": {csrf}, "idempotency_key": {m[1]}, "reference": {"BANK-2026-1101"}}
	for i := range 2 {
		r := owner.do(http.MethodPost, acmeHost, invoiceURL(inv)+"/paid", form, nil)
		if r.status != http.StatusSeeOther {
			t.Fatalf("submit %d: %d\n%s", i+1, r.status, r.body)
		}
	}
	got := ts.acmeInvoice(inv.ID)
	if got.Status != store.InvoicePaid || got.Reference != "BANK-2026-1101" || got.AmountDue != 0 {
		t.Fatalf("paid invoice: %+v", got)
	}
	payments := 0
	err := ts.store.View(func(tx *store.Tx) error {
		list, err := tx.LedgerTxs(ts.ids["acme"])
		for _, l := range list {
			if l.Kind == store.KindPayment {
				payments++
			}
		}
		if tx.Balance(store.CollectedOf(ts.ids["acme"])) != inv.Total {
			t.Errorf("collected %d, want %d", tx.Balance(store.CollectedOf(ts.ids["acme"])), inv.Total)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if payments != 1 {
		t.Errorf("%d payment movements, want 1", payments)
	}
	if len(got.History) != 2 {
		t.Errorf("history %+v, want issued and paid", got.History)
	}
	// the same form with other words: refused, nothing recorded
	form.Set("reference", "OTHER")
	if r := owner.do(http.MethodPost, acmeHost, invoiceURL(inv)+"/paid", form, nil); r.status != http.StatusConflict ||
		!strings.Contains(r.body, "already used to record a payment") {
		t.Errorf("same key, other reference: %d\n%s", r.status, r.body)
	}
	// a fresh form for a paid invoice
	form.Set("idempotency_key", "another-one-time-key-0123456789")
	if r := owner.do(http.MethodPost, acmeHost, invoiceURL(inv)+"/paid", form, nil); r.status != http.StatusConflict ||
		!strings.Contains(r.body, "The invoice is paid") {
		t.Errorf("second form: %d\n%s", r.status, r.body)
	}
	if r := owner.do(http.MethodPost, acmeHost, invoiceURL(inv)+"/paid", url.Values{"_csrf": {csrf}, "reference": {"X"}}, nil); r.status != http.StatusBadRequest {
		t.Errorf("without a key: %d", r.status)
	}
	if got := ts.acmeInvoice(inv.ID); got.Reference != "BANK-2026-1101" || len(got.History) != 2 {
		t.Errorf("refused forms changed the invoice: %+v", got)
	}
	if !ts.hasAudit("invoice.paid", inv.Number) {
		t.Error("no audit event")
	}
}

// TestResellerMarkUncollectible: an open invoice can be given up on; it
// stays unpaid and can be paid later.
func TestResellerMarkUncollectible(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	inv := issueCleo(t, ts)
	owner := ts.acmeOwner()
	r := owner.follow(owner.post(acmeHost, invoiceURL(inv), invoiceURL(inv)+"/uncollectible", url.Values{}))
	if !strings.Contains(r.body, "marked uncollectible") || !strings.Contains(r.body, `action="`+invoiceURL(inv)+`/paid"`) {
		t.Errorf("after uncollectible:\n%s", r.body)
	}
	if got := ts.acmeInvoice(inv.ID); got.Status != store.InvoiceUncollectible || got.AmountDue != inv.Total {
		t.Errorf("uncollectible invoice: %+v", got)
	}
	if r := owner.post(acmeHost, invoiceURL(inv), invoiceURL(inv)+"/uncollectible", url.Values{}); r.status != http.StatusConflict {
		t.Errorf("twice: %d", r.status)
	}
}

// TestParsePercent: tax rates are typed as percentages with up to two
// decimals and read with integers only.
func TestParsePercent(t *testing.T) {
	for in, want := range map[string]int{"20": 2000, "7.5": 750, "19.25": 1925, "0": 0, "100": 10000, "7,5": 750, "20 %": 2000,
		" 8.00 ": 800, "0.01": 1, "101": 10100} {
		if got, ok := parsePercent(in); !ok || got != want {
			t.Errorf("parsePercent(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "abc", "7.555", "-1", "1e2", "20.", ".5", "1000", "7.5.1", "+5", "0x10", "٣"} {
		if got, ok := parsePercent(in); ok {
			t.Errorf("parsePercent(%q) = %d, want refused", in, got)
		}
	}
	for bp, want := range map[int]string{2000: "20", 750: "7.5", 1925: "19.25", 0: "0", 1: "0.01", 10000: "100"} {
		if got := basisPointsValue(bp); got != want {
			t.Errorf("basisPointsValue(%d) = %q, want %q", bp, got, want)
		}
	}
}

// sellerForm is a valid seller form with the tax table rows given as
// country, rate pairs.
func sellerForm(rows ...string) url.Values {
	v := url.Values{"legal_name": {"Acme Voice GmbH"}, "vat_number": {"de 123 456 789"}, "address1": {"Hauptstraße 1"},
		"zip": {"10115"}, "city": {"Berlin"}, "country": {"DE"}, "footer": {"IBAN DE00 1234"}, "payment_terms_days": {"30"},
		"invoice_prefix": {"av"}, "invoice_digits": {"5"}}
	for i := 0; i+1 < len(rows); i += 2 {
		v.Add("tax_country", rows[i])
		v.Add("tax_rate", rows[i+1])
	}
	return v
}

// TestSellerDetailsForm: every problem is listed at once with 422 and
// nothing is saved; a valid form saves the details and the rates typed
// as percentages in basis points, and the page shows the next number.
func TestSellerDetailsForm(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	owner := ts.acmeOwner()
	bad := sellerForm("FR", "20", "DE", "7.555", "FR", "5", "", "3", "AT", "101")
	bad.Set("vat_number", "123")
	bad.Set("payment_terms_days", "two weeks")
	r := owner.post(acmeHost, resellerSellerURL, resellerSellerURL, bad)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad form: %d\n%s", r.status, r.body)
	}
	body := html.UnescapeString(r.body)
	for _, want := range []string{"A VAT number starts with its two-letter country prefix", "A whole number of days",
		"The rate of Germany must be a percentage such as 20, 7.5 or 19.25", "France has two rows", "The rate 3 % has no country",
		"The rate of Austria must be between 0 % and 100 %", `value="7.555"`, "Nothing was saved"} {
		if !strings.Contains(body, want) {
			t.Errorf("the refused form lacks %q", want)
		}
	}
	if ts.reseller("acme").Seller.LegalName != "" {
		t.Fatal("a refused form saved")
	}

	r = owner.post(acmeHost, resellerSellerURL, resellerSellerURL, sellerForm("FR", "20", "*", "7.5", "DE", "19.25", "", ""))
	if r.status != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", r.status, r.body)
	}
	sd := ts.reseller("acme").Seller
	if want := map[string]int{"FR": 2000, "*": 750, "DE": 1925}; len(sd.TaxRates) != 3 || sd.TaxRates["FR"] != 2000 || sd.TaxRates["*"] != 750 || sd.TaxRates["DE"] != 1925 {
		t.Errorf("tax rates %v, want %v", sd.TaxRates, want)
	}
	if sd.LegalName != "Acme Voice GmbH" || sd.VATNumber != "DE123456789" || sd.PaymentTermsDays != 30 || sd.InvoicePrefix != "AV" || sd.InvoiceDigits != 5 {
		t.Errorf("seller details %+v", sd)
	}
	page := owner.follow(r)
	for _, want := range []string{"Seller details and tax saved", "AV-2026-00001", `value="19.25"`, `value="7.5"`, "EU reverse charge applies automatically"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the saved page lacks %q", want)
		}
	}
	// a row ticked Remove goes; the others stay
	form := sellerForm("DE", "19.25", "FR", "20", "*", "7.5")
	form.Add("tax_remove", "1")
	if r := owner.post(acmeHost, resellerSellerURL, resellerSellerURL, form); r.status != http.StatusSeeOther {
		t.Fatalf("remove a row: %d\n%s", r.status, r.body)
	}
	if got := ts.reseller("acme").Seller.TaxRates; len(got) != 2 || got["FR"] != 0 || got["DE"] != 1925 {
		t.Errorf("after removing France: %v", got)
	}
	// the invoice the next run issues carries the saved seller (the host
	// cache was refreshed)
	inv := issueCleo(t, ts)
	if inv.Seller.Name != "Acme Voice GmbH" || !strings.HasPrefix(inv.Number, "AV-2026-") {
		t.Errorf("invoice seller %+v, number %s", inv.Seller, inv.Number)
	}
	if !ts.hasAudit("billing.seller", "acme") {
		t.Error("no audit event")
	}
}

// TestClientSubscriptionPages: billing staff see the Billing section of
// a client's page, support staff do not; the preview (a GET) lists the
// lines and the amount due now and changes nothing; bad input is a 422
// with the fields; the confirmation changes the plan and issues the
// proration invoice the preview showed.
func TestClientSubscriptionPages(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	inv := issueCleo(t, ts) // cleo on Pro, 5 seats, November invoiced
	cleo := ts.cleo()
	var pro, basic, recording uint64
	_ = ts.store.View(func(tx *store.Tx) error {
		plans, _ := store.CatalogList[*store.Plan](tx, ts.ids["acme"])
		addOns, _ := store.CatalogList[*store.AddOn](tx, ts.ids["acme"])
		basic, pro, recording = plans[0].ID, plans[1].ID, addOns[0].ID
		return nil
	})
	owner := ts.acmeOwner()
	page := owner.get(acmeHost, clientURL(cleo))
	for _, want := range []string{`id="billing"`, "Pro", "1 used of 5 bought", inv.Number, `action="/reseller/clients/` + strconv.FormatUint(cleo.ID, 10) + `/subscription"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("client page lacks %q", want)
		}
	}
	if strings.Contains(page.body, "Legacy") {
		t.Error("the form offers an archived plan")
	}
	support := ts.signedIn(acmeHost, "support@acme.example", "/reseller")
	if r := support.get(acmeHost, clientURL(cleo)); r.status != http.StatusOK || strings.Contains(r.body, `id="billing"`) {
		t.Errorf("support's client page: %d, billing shown %v", r.status, strings.Contains(r.body, `id="billing"`))
	}

	sub := clientURL(cleo) + "/subscription"
	q := url.Values{"plan": {strconv.FormatUint(pro, 10)}, "seats": {"7"}, "add_on": {strconv.FormatUint(recording, 10)}}
	preview, err := ts.app.billing.PreviewChange(ts.reseller("acme"), cleo.ID, billing.Change{PlanID: pro, Seats: 7, AddOns: []uint64{recording}})
	if err != nil || preview.DueNow <= 0 {
		t.Fatalf("preview: %+v, %v", preview, err)
	}
	r := owner.get(acmeHost, sub+"?"+q.Encode())
	if r.status != http.StatusOK {
		t.Fatalf("preview page: %d\n%s", r.status, r.body)
	}
	due := money.Display{Exact: true, Places: 2}.Text(preview.DueNow, "USD")
	for _, want := range []string{"Due now: " + due + " USD", preview.Lines[0].Description, "Confirm and invoice " + due + " USD",
		`name="seats" value="7"`, `name="add_on" value="` + strconv.FormatUint(recording, 10) + `"`} {
		if !strings.Contains(html.UnescapeString(r.body), want) {
			t.Errorf("preview page lacks %q", want)
		}
	}
	if v, _ := ts.app.billing.Subscription(ts.reseller("acme"), cleo.ID); v.Sub.Seats != 5 {
		t.Fatalf("the preview changed the subscription: %d seats", v.Sub.Seats)
	}

	for query, want := range map[string]string{
		"plan=" + strconv.FormatUint(pro, 10) + "&seats=lots": "A whole number of seats",
		"plan=" + strconv.FormatUint(pro, 10) + "&seats=0":    "At least one seat.",
		"plan=&seats=2":    "Choose a plan.",
		"plan=999&seats=2": "There is no such plan.",
	} {
		r := owner.get(acmeHost, sub+"?"+query)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, want) {
			t.Errorf("%s: %d, want 422 with %q", query, r.status, want)
		}
	}

	// confirm: cleo's proration invoice is the preview's
	form := url.Values{"plan": {strconv.FormatUint(pro, 10)}, "seats": {"7"}, "add_on": {strconv.FormatUint(recording, 10)}}
	r = owner.post(acmeHost, sub+"?"+q.Encode(), sub, form)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != clientURL(cleo)+"#billing" {
		t.Fatalf("confirm: %d %s\n%s", r.status, r.header.Get("Location"), r.body)
	}
	page = owner.get(acmeHost, clientURL(cleo))
	list := ts.acmeInvoices(billing.InvoiceFilter{ClientID: cleo.ID})
	if len(list) != 2 || list[0].Kind != store.InvoiceProration || list[0].Total != preview.DueNow {
		t.Fatalf("invoices after the upgrade: %d, newest %+v", len(list), list[0])
	}
	if !strings.Contains(page.body, "cleo is on Pro with 7 seats.") || !strings.Contains(page.body, "Invoice "+list[0].Number) {
		t.Errorf("flash after the change:\n%s", page.body)
	}

	// a downgrade waits for the end of the month and says so
	form = url.Values{"plan": {strconv.FormatUint(basic, 10)}, "seats": {"2"}}
	r = owner.get(acmeHost, sub+"?"+form.Encode())
	if r.status != http.StatusOK || !strings.Contains(r.body, "Nothing due now") || !strings.Contains(r.body, "1 Dec 2026") {
		t.Errorf("downgrade preview: %d\n%s", r.status, r.body)
	}
	if r := owner.post(acmeHost, sub, sub, form); r.status != http.StatusSeeOther {
		t.Fatalf("downgrade: %d\n%s", r.status, r.body)
	}
	page = owner.get(acmeHost, clientURL(cleo))
	if !strings.Contains(page.body, "From 1 Dec 2026: Basic, 2 seats") {
		t.Errorf("pending change not shown:\n%s", page.body)
	}
	if r := owner.post(acmeHost, sub, sub, url.Values{"plan": {"x"}, "seats": {"2"}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("confirm a bad form: %d", r.status)
	}
}

// seedBillingShowcase gives the layout test's reseller billing to show,
// on the catalogue seedCatalogShowcase made: seller details with a tax
// table, subscriptions (one with a pending downgrade), November's
// invoices (one paid, one void) and a proration invoice.
func seedBillingShowcase(t *testing.T, ts *testServer, s *showcase) {
	t.Helper()
	rid := ts.ids["acme"]
	if _, err := ts.app.billing.SetSellerDetails(rid, store.SellerDetails{LegalName: "Acme Voice Telekommunikationsdienste GmbH & Co. KG",
		VATNumber: "DE123456789", Address1: "Friedrichstraße 123", City: "Berlin", Zip: "10117", Country: "DE",
		Footer: "IBAN DE89 3704 0044 0532 0130 00 · BIC COBADEFFXXX · Amtsgericht Charlottenburg HRB 123456", PaymentTermsDays: 14,
		TaxRates: map[string]int{"DE": 1900, "FR": 2000, "AT": 2000, "*": 750}}, billingActor); err != nil {
		t.Fatal(err)
	}
	ts.app.InvalidateTenants()
	business, starter := s.plan("Business"), s.plan("Starter")
	recording, fax := s.addOn("Call recording"), s.addOn("Fax")
	ts.subscribe(s.clients["cleo"], billing.Change{PlanID: business.ID, Seats: 252, AddOns: []uint64{recording.ID}})
	ts.subscribe(s.clients["oberhauser"], billing.Change{PlanID: starter.ID, Seats: 3})
	ts.subscribe(s.clients["low"], billing.Change{PlanID: starter.ID, Seats: 1})
	if _, err := ts.app.billing.RunPeriod(context.Background(), ts.reseller("acme"), "2026-11", billingActor); err != nil {
		t.Fatal(err)
	}
	for _, inv := range ts.acmeInvoices(billing.InvoiceFilter{}) {
		switch inv.ClientID {
		case s.clients["oberhauser"]:
			if _, err := ts.app.billing.MarkPaid(rid, inv.ID, "SEPA transfer 2026-11-02 ref. OBERHAUSER-LINDQVIST-INVOICE", "", billingActor); err != nil {
				t.Fatal(err)
			}
		case s.clients["low"]:
			if _, err := ts.app.billing.VoidInvoice(rid, inv.ID, "Issued before the client asked to cancel; agreed with Lena on the phone", billingActor); err != nil {
				t.Fatal(err)
			}
		}
	}
	ts.subscribe(s.clients["cleo"], billing.Change{PlanID: business.ID, Seats: 260, AddOns: []uint64{recording.ID, fax.ID}}) // a proration invoice
	ts.subscribe(s.clients["oberhauser"], billing.Change{PlanID: starter.ID, Seats: 2})                                      // pending
}

// plan is the showcase's plan whose name starts with prefix.
func (s *showcase) plan(prefix string) *store.Plan {
	var out *store.Plan
	_ = s.ts.store.View(func(tx *store.Tx) error {
		list, err := store.CatalogList[*store.Plan](tx, s.ts.ids["acme"])
		for _, p := range list {
			if strings.HasPrefix(p.Name, prefix) && out == nil {
				out = p
			}
		}
		return err
	})
	if out == nil {
		s.ts.t.Fatalf("no plan %s… in the showcase", prefix)
	}
	return out
}

// addOn is the showcase's add-on whose name starts with prefix.
func (s *showcase) addOn(prefix string) *store.AddOn {
	var out *store.AddOn
	_ = s.ts.store.View(func(tx *store.Tx) error {
		list, err := store.CatalogList[*store.AddOn](tx, s.ts.ids["acme"])
		for _, a := range list {
			if strings.HasPrefix(a.Name, prefix) && out == nil {
				out = a
			}
		}
		return err
	})
	if out == nil {
		s.ts.t.Fatalf("no add-on %s… in the showcase", prefix)
	}
	return out
}

// invoiceURL is the page of the newest invoice of the showcase's client.
func (s *showcase) invoiceURL(username string) string {
	list := s.ts.acmeInvoices(billing.InvoiceFilter{ClientID: s.clients[username]})
	if len(list) == 0 {
		s.ts.t.Fatalf("no invoice of %s", username)
	}
	return invoiceURL(list[0])
}

// subscriptionPreview is the preview of a change of cleo's subscription.
func (s *showcase) subscriptionPreview() string {
	q := url.Values{"plan": {strconv.FormatUint(s.plan("Business").ID, 10)}, "seats": {"270"},
		"add_on": {strconv.FormatUint(s.addOn("Call recording").ID, 10), strconv.FormatUint(s.addOn("Fax").ID, 10)}}
	return s.clientURL("cleo") + "/subscription?" + q.Encode()
}

// TestResellerInvoicePDF: the invoice page's PDF is the frozen invoice
// rendered, the same bytes each time, for billing staff of its reseller
// only.
func TestResellerInvoicePDF(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	inv := issueCleo(t, ts)
	owner := ts.acmeOwner()
	if page := owner.get(acmeHost, invoiceURL(inv)); !strings.Contains(page.body, `href="`+invoiceURL(inv)+`/pdf"`) {
		t.Error("the invoice page does not link its PDF")
	}
	first := owner.get(acmeHost, invoiceURL(inv)+"/pdf")
	if first.status != http.StatusOK || first.header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(first.body, "%PDF-") {
		t.Fatalf("PDF: %d %s %.20q", first.status, first.header.Get("Content-Type"), first.body)
	}
	if got := first.header.Get("Content-Disposition"); got != `inline; filename="`+inv.Number+`.pdf"` {
		t.Errorf("Content-Disposition %q", got)
	}
	if again := owner.get(acmeHost, invoiceURL(inv)+"/pdf"); again.body != first.body {
		t.Error("the same invoice rendered other bytes")
	}
	if r := ts.signedIn(acmeHost, "support@acme.example", "/reseller").get(acmeHost, invoiceURL(inv)+"/pdf"); r.status != http.StatusForbidden {
		t.Errorf("support staff: %d", r.status)
	}
	if r := ts.signedIn(globexHost, "owner@globex.example", "/reseller").get(globexHost, invoiceURL(inv)+"/pdf"); r.status != http.StatusNotFound {
		t.Errorf("another reseller: %d", r.status)
	}
}
