package billing

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"portico/app/actor"
	"portico/app/fault"
	"portico/app/testkit"
	"portico/store"
)

var staff = actor.Actor{Name: "staff@acme.example", IP: "127.0.0.1"}

type fixture struct {
	t     *testing.T
	s     *store.Store
	svc   *Service
	clock *testkit.Clock
	r     *store.Reseller
	basic *store.Plan
	pro   *store.Plan
	addon *store.AddOn
}

// newFixture: reseller acme (USD, New York) with plans Basic (10.00, 2
// seats included, 5.00 a seat) and Pro (30.00, 5 included, 4.00), an
// add-on (2.00 per seat) both allow; the clock at t0.
func newFixture(t *testing.T, t0 time.Time) *fixture {
	t.Helper()
	clock := testkit.NewClock(t0)
	s := testkit.OpenStore(t, clock)
	res, err := s.ReconcileResellers([]store.ResellerSpec{
		{Slug: "acme", Name: "Acme", Currency: "USD", OwnerEmail: "o@acme.example", Timezone: "America/New_York"},
		{Slug: "globex", Name: "Globex", Currency: "EUR", OwnerEmail: "o@globex.example"},
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, s: s, svc: New(s, nil, nil, nil), clock: clock}
	for _, r := range res.NeedOwner {
		if r.Slug == "acme" {
			f.r = r
		}
	}
	f.addon = &store.AddOn{ResellerID: f.r.ID, Name: "Recording", MonthlyFee: 2 * u, PerSeat: true}
	f.basic = &store.Plan{ResellerID: f.r.ID, Name: "Basic", Kind: store.PlanSubscription, MonthlyFee: 10 * u, IncludedSeats: 2, SeatFee: 5 * u, Status: store.CatalogActive}
	f.pro = &store.Plan{ResellerID: f.r.ID, Name: "Pro", Kind: store.PlanSubscription, MonthlyFee: 30 * u, IncludedSeats: 5, SeatFee: 4 * u, Status: store.CatalogActive}
	err = s.Update(func(tx *store.Tx) error {
		if err := store.PutCatalog(tx, f.addon); err != nil {
			return err
		}
		f.basic.AddOns, f.pro.AddOns = []uint64{f.addon.ID}, []uint64{f.addon.ID}
		if err := store.PutCatalog(tx, f.basic); err != nil {
			return err
		}
		return store.PutCatalog(tx, f.pro)
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) newClient(username string) *store.Client {
	f.t.Helper()
	c := &store.Client{ResellerID: f.r.ID, Username: username, FirstName: "A", LastName: "B", Email: username + "@example.com", Country: "US"}
	err := f.s.Update(func(tx *store.Tx) error {
		return tx.CreateClient(c, &store.User{Email: username + "@example.com", PasswordHash: "x"}, "seed")
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) verify() {
	f.t.Helper()
	problems, err := f.s.Verify()
	if err != nil {
		f.t.Fatal(err)
	}
	for _, p := range problems {
		f.t.Error("verify: " + p)
	}
}

func (f *fixture) invoices(c *store.Client) []*store.Invoice {
	f.t.Helper()
	out, _, err := f.svc.Invoices(f.r.ID, InvoiceFilter{ClientID: c.ID, Limit: 500})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

// TestSubscriptionLifecycle: a subscription started mid-month is billed
// by day on that month's invoice; the run is idempotent; an upgrade
// issues a proration invoice equal to its preview; a downgrade waits for
// the period end and applies on the next invoice; mark-paid and void move
// the ledger; verify stays clean throughout.
func TestSubscriptionLifecycle(t *testing.T) {
	// 10 March 2026, 15:00 in New York
	f := newFixture(t, time.Date(2026, 3, 10, 19, 0, 0, 0, time.UTC))
	c := f.newClient("ann")
	if _, _, err := f.svc.ChangeSubscription(f.r, c.ID, Change{PlanID: f.basic.ID, Seats: 3}, staff); err != nil {
		t.Fatal(err)
	}
	if got := f.invoices(c); len(got) != 0 {
		t.Fatalf("starting a subscription issued %d invoices", len(got))
	}
	res, err := f.svc.RunPeriod(context.Background(), f.r, "2026-03", staff)
	if err != nil || res.Created != 1 {
		t.Fatalf("run: %+v, %v", res, err)
	}
	march := f.invoices(c)[0]
	// 22 of 31 days: plan 10.00 → 7.10 (7.0967); one extra seat 5.00 → 3.55 (3.5483)
	if march.Number != "ACME-2026-000001" || march.Total != 71000+35500 || len(march.Lines) != 2 {
		t.Fatalf("March invoice %s total %d lines %+v", march.Number, march.Total, march.Lines)
	}
	if res, _ := f.svc.RunPeriod(context.Background(), f.r, "2026-03", staff); res.Created != 0 || res.Existing != 1 {
		t.Fatalf("second run: %+v", res)
	}
	if _, err := f.svc.RunPeriod(context.Background(), f.r, "2026-04", staff); !fault.Is(err, fault.Invalid) {
		t.Fatalf("a period not begun: %v", err)
	}

	// upgrade on 20 March: preview = invoice
	f.clock.Advance(10 * 24 * time.Hour)
	change := Change{PlanID: f.pro.ID, Seats: 3, AddOns: []uint64{f.addon.ID}}
	pv, err := f.svc.PreviewChange(f.r, c.ID, change)
	if err != nil {
		t.Fatal(err)
	}
	_, inv, err := f.svc.ChangeSubscription(f.r, c.ID, change, staff)
	if err != nil || inv == nil {
		t.Fatalf("upgrade: %v, %v", inv, err)
	}
	if inv.Kind != store.InvoiceProration || inv.Total != pv.DueNow || len(inv.Lines) != len(pv.Lines) || inv.Number != "ACME-2026-000002" {
		t.Fatalf("proration invoice %+v, preview %+v", inv, pv)
	}
	for i := range inv.Lines {
		if inv.Lines[i] != pv.Lines[i] {
			t.Errorf("line %d: invoice %+v, preview %+v", i, inv.Lines[i], pv.Lines[i])
		}
	}
	f.verify()

	// a downgrade waits for the period end
	view, inv, err := f.svc.ChangeSubscription(f.r, c.ID, Change{PlanID: f.basic.ID, Seats: 3}, staff)
	if err != nil || inv != nil {
		t.Fatalf("downgrade: %v, %v", inv, err)
	}
	if view.Plan.ID != f.pro.ID || view.Sub.Pending == nil || view.Sub.Pending.PlanID != f.basic.ID {
		t.Fatalf("after downgrade: plan %d pending %+v", view.Plan.ID, view.Sub.Pending)
	}
	// seats cannot go below the team
	if _, _, err := f.svc.ChangeSubscription(f.r, c.ID, Change{PlanID: f.pro.ID, Seats: 0}, staff); !fault.Fields.Has(fieldsOf(err), "seats") {
		t.Fatalf("0 seats: %v", err)
	}

	// April: the downgrade applies
	f.clock.Advance(15 * 24 * time.Hour)
	if res, err := f.svc.RunDue(context.Background()); err != nil || res.Created != 1 {
		t.Fatalf("April run: %+v %v", res, err)
	}
	april := f.invoices(c)[0]
	if april.Period != "2026-04" || april.Total != 10*u+5*u || april.Number != "ACME-2026-000003" {
		t.Fatalf("April invoice %s %s total %d: %+v", april.Number, april.Period, april.Total, april.Lines)
	}
	sub, _ := f.svc.Subscription(f.r, c.ID)
	if sub.Plan.ID != f.basic.ID || sub.Sub.Pending != nil {
		t.Fatalf("after April: plan %d pending %+v", sub.Plan.ID, sub.Sub.Pending)
	}

	// mark paid (idempotent) and void
	paid, err := f.svc.MarkPaid(f.r.ID, april.ID, "bank 42", "k1", staff)
	if err != nil || paid.Status != store.InvoicePaid || paid.AmountDue != 0 {
		t.Fatalf("mark paid: %+v %v", paid, err)
	}
	if again, err := f.svc.MarkPaid(f.r.ID, april.ID, "bank 42", "k1", staff); err != nil || again.Status != store.InvoicePaid {
		t.Fatalf("mark paid again: %v", err)
	}
	if _, err := f.svc.MarkPaid(f.r.ID, april.ID, "bank 43", "k1", staff); !fault.Is(err, fault.Conflict) {
		t.Fatalf("same key, other reference: %v", err)
	}
	if _, err := f.svc.VoidInvoice(f.r.ID, april.ID, "wrong", staff); !fault.Is(err, fault.Conflict) {
		t.Fatalf("void a paid invoice: %v", err)
	}
	if v, err := f.svc.VoidInvoice(f.r.ID, march.ID, "issued in error", staff); err != nil || v.Status != store.InvoiceVoid {
		t.Fatalf("void: %v", err)
	}
	f.verify()
	unpaid, _, _ := f.svc.Invoices(f.r.ID, InvoiceFilter{Status: "unpaid"})
	if len(unpaid) != 1 || unpaid[0].Kind != store.InvoiceProration {
		t.Fatalf("unpaid: %d", len(unpaid))
	}
}

func fieldsOf(err error) fault.Fields {
	var fs fault.Fields
	errors.As(err, &fs)
	return fs
}

// TestRunConcurrentAndCatchUp: two runs at once issue each (client,
// period) once with gap-free numbers; after three missed months one run
// issues every missed period.
func TestRunConcurrentAndCatchUp(t *testing.T) {
	f := newFixture(t, time.Date(2026, 1, 1, 6, 0, 0, 0, time.UTC))
	f.svc.batch = 7
	var clients []*store.Client
	for i := range 40 {
		c := f.newClient(fmt.Sprintf("c%02d", i))
		if _, _, err := f.svc.ChangeSubscription(f.r, c.ID, Change{PlanID: f.basic.ID, Seats: 2}, staff); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	var wg sync.WaitGroup
	results := make([]RunResult, 2)
	for i := range results {
		wg.Go(func() {
			var err error
			if results[i], err = f.svc.RunDue(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := results[0].Created + results[1].Created; got != 40 {
		t.Fatalf("two runs created %d invoices, want 40: %+v", got, results)
	}
	f.clock.Advance(24 * time.Hour * 31 * 3) // past three more period starts (Feb, Mar, Apr)
	res, err := f.svc.RunDue(context.Background())
	if err != nil || res.Created != 40*3 {
		t.Fatalf("catch-up: %+v %v", res, err)
	}
	for _, c := range clients {
		if n := len(f.invoices(c)); n != 4 {
			t.Errorf("client %s: %d invoices, want 4", c.Username, n)
		}
	}
	f.verify()
}

// TestChangeBeforeThePeriodInvoice: a change made before the period's
// invoice is issued is not prorated: that invoice bills the new
// configuration, so the difference is never charged twice.
func TestChangeBeforeThePeriodInvoice(t *testing.T) {
	f := newFixture(t, time.Date(2026, 3, 10, 19, 0, 0, 0, time.UTC))
	c := f.newClient("ann")
	if _, _, err := f.svc.ChangeSubscription(f.r, c.ID, Change{PlanID: f.basic.ID, Seats: 2}, staff); err != nil {
		t.Fatal(err)
	}
	_, inv, err := f.svc.ChangeSubscription(f.r, c.ID, Change{PlanID: f.pro.ID, Seats: 2}, staff)
	if err != nil || inv != nil {
		t.Fatalf("upgrade before the March invoice issued %v (%v)", inv, err)
	}
	if res, err := f.svc.RunDue(context.Background()); err != nil || res.Created != 1 {
		t.Fatalf("run: %+v %v", res, err)
	}
	// Pro for 22 of 31 days: 30.00 × 22/31 = 21.2903 → 21.29
	if got := f.invoices(c); len(got) != 1 || got[0].Total != 212900 {
		t.Fatalf("invoices: %d, total %d", len(got), got[0].Total)
	}
	f.verify()
}

// TestTaxUsesTheCountryTheInvoiceShows: a client without billing details
// is taxed for the country its invoice's buyer block shows (its contact
// country), not as the seller's domestic buyer.
func TestTaxUsesTheCountryTheInvoiceShows(t *testing.T) {
	f := newFixture(t, time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC))
	if _, err := f.svc.SetSellerDetails(f.r.ID, store.SellerDetails{Country: "DE", TaxRates: map[string]int{"DE": 1900, "US": 0}}, staff); err != nil {
		t.Fatal(err)
	}
	c := f.newClient("ann") // Country US, no billing details
	if _, _, err := f.svc.ChangeSubscription(f.r, c.ID, Change{PlanID: f.basic.ID, Seats: 1}, staff); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	inv := f.invoices(c)[0]
	if inv.Buyer.Country != "US" || inv.TaxRate != 0 || inv.Tax != 0 {
		t.Fatalf("buyer %s taxed at %d: %d", inv.Buyer.Country, inv.TaxRate, inv.Tax)
	}
}

// TestSeatsAndAddOnsChanges: on the same plan, added seats and add-ons
// are prorated at once; removed ones wait for the period end (nothing is
// invoiced, the pending change says when), and a pending removal is
// cancelled by asking for the current configuration again.
func TestSeatsAndAddOnsChanges(t *testing.T) {
	// 17 March 2026 in Tokyo (east of UTC): 15 of 31 days left
	f := newFixture(t, time.Date(2026, 3, 16, 20, 0, 0, 0, time.UTC))
	if err := f.s.Update(func(tx *store.Tx) error {
		r, err := tx.Reseller(f.r.ID)
		if err != nil {
			return err
		}
		r.Timezone = "Asia/Tokyo"
		f.r = r
		return tx.UpdateReseller(r)
	}); err != nil {
		t.Fatal(err)
	}
	c := f.newClient("ann")
	if _, _, err := f.svc.ChangeSubscription(f.r, c.ID, Change{PlanID: f.basic.ID, Seats: 4}, staff); err != nil {
		t.Fatal(err)
	}
	if res, err := f.svc.RunPeriod(context.Background(), f.r, "2026-03", staff); err != nil || res.Created != 1 {
		t.Fatalf("run: %+v %v", res, err)
	}
	// +2 seats and the per-seat add-on: 2 × 5.00 and 6 × 2.00 for 15/31 days
	_, inv, err := f.svc.ChangeSubscription(f.r, c.ID, Change{PlanID: f.basic.ID, Seats: 6, AddOns: []uint64{f.addon.ID}}, staff)
	if err != nil || inv == nil {
		t.Fatalf("add seats: %v %v", inv, err)
	}
	// 5.00 × 15/31 = 2.4193 → 2.42 per seat; 2.00 × 15/31 = 0.9677 → 0.97 per seat
	if inv.Total != 2*24200+6*9700 || len(inv.Lines) != 2 {
		t.Fatalf("seat proration total %d lines %+v", inv.Total, inv.Lines)
	}
	// removing seats and the add-on waits for April
	view, inv, err := f.svc.ChangeSubscription(f.r, c.ID, Change{PlanID: f.basic.ID, Seats: 3}, staff)
	if err != nil || inv != nil {
		t.Fatalf("remove seats: %v %v", inv, err)
	}
	april := time.Date(2026, 4, 1, 0, 0, 0, 0, mustLoc(t, "Asia/Tokyo"))
	if view.Sub.Seats != 6 || len(view.Sub.AddOns) != 1 || view.Sub.Pending == nil || view.Sub.Pending.Seats != 3 || !view.Sub.Pending.EffectiveAt.Equal(april) {
		t.Fatalf("after removal: seats %d add-ons %v pending %+v", view.Sub.Seats, view.Sub.AddOns, view.Sub.Pending)
	}
	// cancel: ask for what is in effect
	view, inv, err = f.svc.ChangeSubscription(f.r, c.ID, Change{PlanID: f.basic.ID, Seats: 6, AddOns: []uint64{f.addon.ID}}, staff)
	if err != nil || inv != nil || view.Sub.Pending != nil {
		t.Fatalf("cancel: pending %+v invoice %v err %v", view.Sub.Pending, inv, err)
	}
	f.verify()
}
