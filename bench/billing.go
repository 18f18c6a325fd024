package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"portico/app"
	"portico/app/actor"
	"portico/app/auth"
	"portico/app/billing"
	"portico/app/clients"
	"portico/app/config"
	"portico/app/dates"
	"portico/app/mail"
	"portico/store"
	"portico/store/money"
)

// The client's Billing tab with 24 months of invoices: what `go run
// ./bench` and BenchmarkBillingHandler load, seeded through the billing
// service (the invoice run, mark-paid) so the store holds what 24 monthly
// runs leave behind.

const (
	billingPath = "/settings?tab=billing"
	// billingRoute is the route pattern the server's metrics count it
	// under (the settings group's "/").
	billingRoute = "/settings/"
	// billingMonths is how many monthly invoices the client has: the
	// invoice job's catch-up horizon (billing.MaxCatchUp), this month's
	// included.
	billingMonths = billing.MaxCatchUp
	// billingUnpaid is how many of the newest invoices are left open.
	billingUnpaid = 2
	billingEmail  = "finance@northwind.example"
	billingLatest = 5 // the invoices and transactions the tab lists
)

// billingSeed is what seedBilling made.
type billingSeed struct {
	clientID, userID uint64
	invoices         int
}

// seedBillingStore runs seedBilling on the store at path (no server has
// it open), without fsync: it is set-up. The client's owner signs in with
// password.
func seedBillingStore(path, password string) (*billingSeed, error) {
	cfg, err := config.Load(config.Source{Flags: map[string]string{"store.path": path}})
	if err != nil {
		return nil, err
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return nil, err
	}
	s, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		return nil, err
	}
	seed, err := seedBilling(cfg, s, hash)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return seed, err
}

// seedBilling gives the default reseller seller details with a tax rate,
// a catalogue (two plans, a calling package, two add-ons) and a client,
// northwind, whose owner (billingEmail, with passwordHash) may use the
// Billing tab: subscribed to Business with 5 seats and both add-ons since
// the start of the period billingMonths−1 months ago, invoiced for every
// period since by the invoice run, all paid but the newest billingUnpaid,
// with billing details, 50.00 of credit and two numbers assigned after
// the last run. It runs on a store no server has open.
func seedBilling(cfg *config.Config, s *store.Store, passwordHash string) (*billingSeed, error) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := app.NewServices(app.ServiceDeps{Config: cfg, Store: s, Mail: mail.NewQueue(s, nil, log), Log: log})
	by := actor.Actor{Name: "bench"}
	var r *store.Reseller
	if err := s.View(func(tx *store.Tx) (err error) { r, err = tx.ResellerBySlug(config.DefaultSlug); return err }); err != nil {
		return nil, err
	}
	r, err := svc.Billing.SetSellerDetails(r.ID, store.SellerDetails{LegalName: "Demo Telecom Inc.", VATNumber: "US12-3456789",
		Address1: "100 Market Street", City: "San Francisco", Zip: "94105", State: "CA", Country: "US",
		Footer: "Thank you for your business. Questions about this invoice: billing@demo.example", PaymentTermsDays: 14,
		TaxRates: map[string]int{"US": 825, "*": 0}}, by)
	if err != nil {
		return nil, fmt.Errorf("seller details: %w", err)
	}

	loc := store.LocationOf(r)
	current := billing.PeriodOf(time.Now(), loc)
	first := current.Start.AddDate(0, -(billingMonths - 1), 0)
	seed := &billingSeed{}
	err = s.Update(func(tx *store.Tx) error {
		pkg := &store.CallingPackage{ResellerID: r.ID, Name: "North America", Countries: []string{"US", "CA"}, FairUseMinutes: 1000, PerSeat: true}
		recording := &store.AddOn{ResellerID: r.ID, Name: "Call recording", MonthlyFee: 2 * money.Unit, PerSeat: true}
		analytics := &store.AddOn{ResellerID: r.ID, Name: "Call analytics", MonthlyFee: 15 * money.Unit}
		for _, x := range []*store.AddOn{recording, analytics} {
			if err := store.PutCatalog(tx, x); err != nil {
				return err
			}
		}
		if err := store.PutCatalog(tx, pkg); err != nil {
			return err
		}
		starter := &store.Plan{ResellerID: r.ID, Name: "Starter", Kind: store.PlanSubscription, MonthlyFee: 10 * money.Unit,
			IncludedSeats: 2, SeatFee: 5 * money.Unit, AddOns: []uint64{recording.ID}, Status: store.CatalogActive}
		business := &store.Plan{ResellerID: r.ID, Name: "Business", Kind: store.PlanSubscription, MonthlyFee: 25 * money.Unit,
			IncludedSeats: 3, SeatFee: 6 * money.Unit, Packages: []uint64{pkg.ID}, AddOns: []uint64{recording.ID, analytics.ID}, Status: store.CatalogActive}
		for _, p := range []*store.Plan{starter, business} {
			if err := store.PutCatalog(tx, p); err != nil {
				return err
			}
		}
		c := &store.Client{ResellerID: r.ID, Username: "northwind", FirstName: "Nora", LastName: "West", Company: "Northwind Trading Co.",
			Email: billingEmail, Country: "US", City: "Portland", Address1: "200 Harbor Drive", Zip: "97204", State: "OR"}
		u := &store.User{Email: billingEmail, Name: "Nora West", PasswordHash: passwordHash}
		if err := tx.CreateClient(c, u, by.Name); err != nil {
			return err
		}
		seed.clientID, seed.userID = c.ID, u.ID
		return tx.PutSubscription(&store.Subscription{ResellerID: r.ID, ClientID: c.ID, PlanID: business.ID, Seats: 5,
			AddOns: []uint64{recording.ID, analytics.ID}, Status: store.SubscriptionActive, StartedAt: first})
	})
	if err != nil {
		return nil, fmt.Errorf("catalogue and client: %w", err)
	}
	if _, err := svc.Billing.SetBillingDetails(r, seed.clientID, store.BillingDetails{Company: "Northwind Trading Co.",
		VATNumber: "", InvoiceEmails: []string{"ap@northwind.example", "finance@northwind.example"},
		Address1: "200 Harbor Drive", Address2: "Suite 400", City: "Portland", Zip: "97204", State: "OR", Country: "US"}, by); err != nil {
		return nil, fmt.Errorf("billing details: %w", err)
	}

	// the 24 monthly runs, oldest first, as the invoice job made them;
	// each month the invoice of billingUnpaid months before is paid, so
	// the ledger alternates issued and paid as a real history does
	var issued []*store.Invoice
	for i := range billingMonths {
		name := first.AddDate(0, i, 0).Format("2006-01")
		res, err := svc.Billing.RunPeriod(context.Background(), r, name, by)
		if err != nil {
			return nil, fmt.Errorf("invoice run %s: %w", name, err)
		}
		list, _, err := svc.Billing.Invoices(r.ID, billing.InvoiceFilter{ClientID: seed.clientID, Period: name, Limit: 1})
		if err != nil {
			return nil, err
		}
		if res.Created != 1 || len(list) != 1 {
			return nil, fmt.Errorf("invoice run %s: created %d, want 1", name, res.Created)
		}
		issued = append(issued, list[0])
		if i >= billingUnpaid {
			inv := issued[i-billingUnpaid]
			if _, err := svc.Billing.MarkPaid(r.ID, inv.ID, "Bank transfer "+inv.Number, "", by); err != nil {
				return nil, fmt.Errorf("mark %s paid: %w", inv.Number, err)
			}
		}
	}
	seed.invoices = len(issued)

	// credit, and two numbers the next invoice bills
	if _, err := svc.Clients.Recharge(r, seed.clientID, "50.00", "Top-up", "bench-seed", by); err != nil {
		return nil, fmt.Errorf("recharge: %w", err)
	}
	for _, n := range []billing.NumberInput{{Number: "+15035550142", MonthlyFee: "1.50", SetupFee: "5.00"},
		{Number: "+18005550199", MonthlyFee: "4.00"}} {
		if _, err := svc.Billing.AddNumber(r, n, by); err != nil {
			return nil, fmt.Errorf("number %s: %w", n.Number, err)
		}
		if _, err := svc.Billing.AssignNumber(r, n.Number, "northwind", by); err != nil {
			return nil, fmt.Errorf("assign %s: %w", n.Number, err)
		}
	}
	return seed, nil
}

// checkBillingPage checks that a Billing tab shows the seeded client: its
// plan, the latest invoices and transactions in full.
func checkBillingPage(body string) error {
	for _, want := range []string{"Business", `id="invoices"`, `id="transactions"`, "See all invoices", "North America"} {
		if !strings.Contains(body, want) {
			return fmt.Errorf("the Billing tab does not show %q", want)
		}
	}
	if n := strings.Count(body, `href="/settings/billing/invoices/`); n < billingLatest {
		return fmt.Errorf("the Billing tab links %d invoices, want at least %d", n, billingLatest)
	}
	return nil
}

// The ceiling's Billing tab: the fields views/settings/billing.html and
// its partials read, with the values the seeded client's tab shows, in
// memory. The types mirror app's (settings_billing.go), whose are
// unexported; where app's are exported (Form, Meter, SettingsPage,
// billing.SubscriptionView) they are app's.
type (
	ceilingBillingItem struct {
		Label       string
		Quantity    int64
		Unit, Total string
	}
	ceilingBillingChoice struct {
		ID       uint64
		Label    string
		Selected bool
	}
	ceilingBillingAddOn struct {
		ID               uint64
		Name, Price      string
		On, Ends, Starts bool
		Toggle           string
	}
	ceilingBillingPackage struct {
		Name, Countries, Scope, Allowance, Used string
		Over                                    bool
	}
	ceilingBillingPending struct {
		Plan   string
		Seats  int
		AddOns string
		At     string
		Cancel map[string]any
	}
	ceilingBillingNext struct {
		Date, Period            string
		Now                     bool
		Lines                   []ceilingBillingItem
		Subtotal, Tax           string
		HasTax                  bool
		TaxRate, TaxNote, Total string
	}
	ceilingBillingInvoice struct {
		ID                 uint64
		Number, Date, What string
		Total, Due, Status string
		Overdue, Unpaid    bool
	}
	ceilingBillingTransaction struct {
		ID        uint64
		At        time.Time
		What      string
		InvoiceID uint64
		Amount    string
		OwedAfter string
	}
	ceilingBillingMinutes struct {
		Month                        time.Time
		Calls, MinutesOut, MinutesIn int64
		Cost                         string
		Current                      bool
	}
	ceilingBillingData struct {
		Currency     string
		CanEdit      bool
		Sub          *billing.SubscriptionView
		Plan         string
		PerMinute    bool
		Period       string
		SeatsNote    string
		Pending      *ceilingBillingPending
		Plans        []ceilingBillingChoice
		AddOns       []ceilingBillingAddOn
		Target       billing.Change
		TargetAddOn  string
		ChangeForm   *app.Form
		Meter        app.Meter
		Packages     []ceilingBillingPackage
		AllowPremium bool
		Details      *app.Form
		Countries    []clients.Country
		Summary      []ceilingBillingItem
		Monthly      string
		UsageCalls   string
		UsageMins    int64
		UsageCost    string
		Next         *ceilingBillingNext
		Invoices     []ceilingBillingInvoice
		Transactions []ceilingBillingTransaction
		Minutes      []ceilingBillingMinutes
	}
)

// ceilingBillingPage is the envelope the real Billing tab renders for the
// seeded client's owner (seedBilling), with its figures.
func ceilingBillingPage() *app.Page {
	now := time.Now().UTC()
	month := func(back int) time.Time {
		return time.Date(now.Year(), now.Month()-time.Month(back), 1, 0, 0, 0, 0, time.UTC)
	}
	period := month(0)
	next := month(-1)
	const plan = "Business · 25.00 USD a month, 3 seats included, 6.00 USD a seat more"
	d := &ceilingBillingData{Currency: "USD", CanEdit: true,
		Sub:  &billing.SubscriptionView{Sub: &store.Subscription{PlanID: 2, Seats: 5, AddOns: []uint64{1, 2}}, SeatsUsed: 1},
		Plan: plan, Period: dates.Day(period) + " – " + dates.Day(next.Add(-time.Second)),
		Plans: []ceilingBillingChoice{{ID: 1, Label: "Starter · 10.00 USD a month, 2 seats included, 5.00 USD a seat more"},
			{ID: 2, Label: plan, Selected: true}},
		AddOns: []ceilingBillingAddOn{
			{ID: 1, Name: "Call recording", Price: "2.00 USD a seat a month", On: true, Toggle: "/settings/billing/change?add_on=2&plan=2&seats=5"},
			{ID: 2, Name: "Call analytics", Price: "15.00 USD a month", On: true, Toggle: "/settings/billing/change?add_on=1&plan=2&seats=5"}},
		Target: billing.Change{PlanID: 2, Seats: 5, AddOns: []uint64{1, 2}}, TargetAddOn: "1,2",
		ChangeForm: &app.Form{Values: map[string]string{"seats": "5"}, Errors: map[string]string{}},
		Meter:      app.Meter{Available: "50.00", Used: "0.00", Assigned: "50.00", Currency: "USD", Percent: 100, Level: "ok", State: "100\u00a0% left"},
		Packages: []ceilingBillingPackage{{Name: "North America", Countries: "Canada, United States", Scope: "Domestic and international",
			Allowance: "5,000 min a month (1,000 per seat)", Used: "0 of 5,000 min"}},
		Details: &app.Form{Values: map[string]string{"company": "Northwind Trading Co.", "vat_number": "",
			"invoice_emails": "ap@northwind.example, finance@northwind.example", "address1": "200 Harbor Drive", "address2": "Suite 400",
			"city": "Portland", "zip": "97204", "state": "OR", "country": "US"}, Errors: map[string]string{}},
		Countries: clients.Countries(),
		Summary: []ceilingBillingItem{{"Plan Business", 1, "25.00", "25.00"}, {"Extra seats (3 included)", 2, "6.00", "12.00"},
			{"Add-on Call recording (per seat)", 5, "2.00", "10.00"}, {"Add-on Call analytics", 1, "15.00", "15.00"},
			{"Local numbers", 1, "1.50", "1.50"}, {"Toll-free numbers", 1, "4.00", "4.00"}},
		Monthly: "67.50", UsageCalls: "0 calls", UsageCost: "0.00",
	}
	nm := next.Format(dates.MonthLayout)
	d.Next = &ceilingBillingNext{Date: dates.Day(next), Period: nm, Subtotal: "72.50", Tax: "5.98", HasTax: true, TaxRate: "8.25\u00a0%", Total: "78.48",
		Lines: []ceilingBillingItem{{"Plan Business, " + nm, 1, "25.00", "25.00"}, {"Extra seats (3 included in Business), " + nm, 2, "6.00", "12.00"},
			{"Add-on Call recording (per seat), " + nm, 5, "2.00", "10.00"}, {"Add-on Call analytics, " + nm, 1, "15.00", "15.00"},
			{"Number +15035550142 (local), " + nm, 1, "1.50", "1.50"}, {"Setup of number +15035550142", 1, "5.00", "5.00"},
			{"Number +18005550199 (toll-free), " + nm, 1, "4.00", "4.00"}}}
	year := now.Format("2006")
	for i := range billingLatest {
		id := uint64(billingMonths - i)
		status := store.InvoicePaid
		if i < billingUnpaid {
			status = store.InvoiceOpen
		}
		d.Invoices = append(d.Invoices, ceilingBillingInvoice{ID: id, Number: fmt.Sprintf("DEMO-%s-%06d", year, id), Date: dates.Day(now),
			What: month(i).Format(dates.MonthLayout), Total: "67.12", Due: "67.12", Status: status, Unpaid: status == store.InvoiceOpen})
	}
	// newest first: paid 22, issued 24, paid 21, issued 23, paid 20
	for i, m := range []struct {
		id   uint64
		paid bool
	}{{22, true}, {24, false}, {21, true}, {23, false}, {20, true}} {
		t := ceilingBillingTransaction{ID: uint64(100 - i), At: now, InvoiceID: m.id, Amount: "67.12", OwedAfter: "201.36",
			What: fmt.Sprintf("Invoice DEMO-%s-%06d issued", year, m.id)}
		if m.paid {
			t.Amount, t.OwedAfter, t.What = "-67.12", "134.24", fmt.Sprintf("Invoice DEMO-%s-%06d paid", year, m.id)
		}
		d.Transactions = append(d.Transactions, t)
	}
	tabs := []string{"profile", "Profile", "security", "Security", "billing", "Billing", "team", "Team", "permissions", "Permission profiles",
		"api-keys", "API keys", "activity", "Activity", "qualified-calls", "Qualified Calls", "blocked-callers", "Blocked Callers"}
	var links []app.TabLink
	for i := 0; i < len(tabs); i += 2 {
		links = append(links, app.TabLink{Key: tabs[i], Label: tabs[i+1], URL: "/settings?tab=" + tabs[i], Current: tabs[i] == "billing"})
	}
	return &app.Page{
		Brand: app.Brand{Name: "Demo Telecom", Initial: "D", CSSURL: "/brand.css?v=0123456789ab"},
		User: &store.User{ID: 2, ResellerID: 1, ClientID: 1, Email: billingEmail, Name: "Nora West", Role: store.RoleOwner,
			Status: store.UserActive},
		CSRF:  "c2lnbmVkLWNzcmYtdG9rZW4tb2YtNDMtY2hhcmFjdGVycw",
		Title: "Billing",
		Nav: []app.NavItem{{Label: "Dashboard", URL: "/dashboard"}, {Label: "Calls", URL: "/calls"},
			{Label: "Billing", URL: billingPath, Current: true}, {Label: "Settings", URL: "/settings"}},
		Home:      "/dashboard",
		RequestID: "0123456789abcdef",
		Data:      app.SettingsPage{Tabs: links, Tab: "billing", Data: d},
	}
}
