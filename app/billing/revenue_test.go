package billing

import (
	"context"
	"fmt"
	"testing"
	"time"

	"portico/app/testkit"
	"portico/store"
)

// TestRevenue: MRR is the monthly price of the subscriptions in force
// (a paused one and a closed client's left out); invoiced counts this
// period's invoices but void ones; collected counts what was paid this
// period, whenever the invoice was issued; overdue is the amount due on
// unpaid invoices (uncollectible ones too) past their due date.
func TestRevenue(t *testing.T) {
	// 10 March 2026, 15:00 in New York
	f := newFixture(t, time.Date(2026, 3, 10, 19, 0, 0, 0, time.UTC))
	ann, bob, carl, dora := f.newClient("ann"), f.newClient("bob"), f.newClient("carl"), f.newClient("dora")
	for _, s := range []struct {
		c  *store.Client
		ch Change
	}{
		{ann, Change{PlanID: f.basic.ID, Seats: 3, AddOns: []uint64{f.addon.ID}}}, // 10 + 1 × 5 + 3 × 2 = 21
		{bob, Change{PlanID: f.pro.ID, Seats: 5}},                                 // 30
		{carl, Change{PlanID: f.pro.ID, Seats: 6}},                                // canceled below
		{dora, Change{PlanID: f.pro.ID, Seats: 7}},                                // closed below
	} {
		if _, _, err := f.svc.ChangeSubscription(f.r, s.c.ID, s.ch, staff); err != nil {
			t.Fatal(err)
		}
	}
	err := f.s.Update(func(tx *store.Tx) error {
		sub, err := tx.Subscription(f.r.ID, carl.ID)
		if err != nil {
			return err
		}
		sub.Status = store.SubscriptionCanceled
		if err := tx.PutSubscription(sub); err != nil {
			return err
		}
		_, err = tx.SetClientBillingStatus(f.r.ID, dora.ID, store.ClientClosed, "test", "closed")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := f.svc.RunPeriod(context.Background(), f.r, "2026-03", staff); err != nil || res.Created != 2 {
		t.Fatalf("run March: %+v, %v", res, err)
	}
	annMar, bobMar := f.invoices(ann)[0], f.invoices(bob)[0]
	if _, err := f.svc.MarkPaid(f.r.ID, bobMar.ID, "BANK-1", "k1", staff); err != nil {
		t.Fatal(err)
	}
	want := Revenue{Currency: "USD", MRR: 51 * u, Subscriptions: 2, Invoiced: annMar.Total + bobMar.Total, InvoicedCount: 2,
		Collected: bobMar.Total, CollectedCount: 1}
	f.checkRevenue("March", want)

	// 2 April, 11:00 in New York: ann's March invoice is past due.
	f.clock.Advance(time.Date(2026, 4, 2, 15, 0, 0, 0, time.UTC).Sub(f.clock.Now()))
	if res, err := f.svc.RunPeriod(context.Background(), f.r, "2026-04", staff); err != nil || res.Created != 2 {
		t.Fatalf("run April: %+v, %v", res, err)
	}
	annApr, bobApr := f.invoices(ann)[0], f.invoices(bob)[0]
	if annApr.Period != "2026-04" || bobApr.Period != "2026-04" {
		t.Fatalf("April invoices: %s, %s", annApr.Period, bobApr.Period)
	}
	if _, err := f.svc.VoidInvoice(f.r.ID, annApr.ID, "wrong seats", staff); err != nil {
		t.Fatal(err)
	}
	want = Revenue{Currency: "USD", MRR: 51 * u, Subscriptions: 2, Invoiced: bobApr.Total, InvoicedCount: 1,
		Overdue: annMar.Total, OverdueCount: 1}
	f.checkRevenue("April, ann's March invoice overdue", want)

	if _, err := f.svc.MarkUncollectible(f.r.ID, annMar.ID, staff); err != nil {
		t.Fatal(err)
	}
	f.checkRevenue("April, ann's March invoice uncollectible", want)

	if _, err := f.svc.MarkPaid(f.r.ID, annMar.ID, "BANK-2", "k2", staff); err != nil {
		t.Fatal(err)
	}
	want.Overdue, want.OverdueCount = 0, 0
	want.Collected, want.CollectedCount = annMar.Total, 1
	f.checkRevenue("April, ann's March invoice paid", want)
	f.verify()
}

func (f *fixture) checkRevenue(when string, want Revenue) {
	f.t.Helper()
	got, err := f.svc.Revenue(f.r)
	if err != nil {
		f.t.Fatalf("%s: %v", when, err)
	}
	period := PeriodOf(f.clock.Now(), store.LocationOf(f.r))
	if got.Period.Name != period.Name || !got.Period.Start.Equal(period.Start) || !got.Period.End.Equal(period.End) {
		f.t.Errorf("%s: period %+v, want %+v", when, got.Period, period)
	}
	got.Period = Period{}
	if *got != want {
		f.t.Errorf("%s:\n got %+v\nwant %+v", when, *got, want)
	}
}

// TestInvoiceTotals: the totals are of every invoice the filter selects,
// not of one page of them.
func TestInvoiceTotals(t *testing.T) {
	f := newFixture(t, time.Date(2026, 3, 10, 19, 0, 0, 0, time.UTC))
	for _, name := range []string{"ann", "bob", "carl"} {
		c := f.newClient(name)
		if _, _, err := f.svc.ChangeSubscription(f.r, c.ID, Change{PlanID: f.basic.ID, Seats: 4}, staff); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.RunPeriod(context.Background(), f.r, "2026-03", staff); err != nil {
		t.Fatal(err)
	}
	all, _, err := f.svc.Invoices(f.r.ID, InvoiceFilter{})
	if err != nil || len(all) != 3 {
		t.Fatalf("invoices: %d, %v", len(all), err)
	}
	if _, err := f.svc.MarkPaid(f.r.ID, all[0].ID, "T-1", "", staff); err != nil {
		t.Fatal(err)
	}
	sum := all[0].Total + all[1].Total + all[2].Total
	for _, c := range []struct {
		f    InvoiceFilter
		want InvoiceTotals
	}{
		{InvoiceFilter{Limit: 1}, InvoiceTotals{Count: 3, Total: sum, AmountDue: sum - all[0].Total}},
		{InvoiceFilter{Status: "unpaid", Before: all[0].ID, Limit: 1}, InvoiceTotals{Count: 2, Total: all[1].Total + all[2].Total, AmountDue: all[1].Total + all[2].Total}},
		{InvoiceFilter{Status: store.InvoicePaid}, InvoiceTotals{Count: 1, Total: all[0].Total}},
		{InvoiceFilter{ClientID: all[2].ClientID, Period: "2026-03"}, InvoiceTotals{Count: 1, Total: all[2].Total, AmountDue: all[2].Total}},
		{InvoiceFilter{Period: "2026-02"}, InvoiceTotals{}},
	} {
		got, err := f.svc.InvoiceTotals(f.r.ID, c.f)
		if err != nil || got != c.want {
			t.Errorf("%+v: got %+v, %v; want %+v", c.f, got, err, c.want)
		}
		// the overview's one walk finds the same
		if _, got, err := f.svc.InvoiceOverview(f.r, c.f); err != nil || got != c.want {
			t.Errorf("overview %+v: got %+v, %v; want %+v", c.f, got, err, c.want)
		}
	}
}

// BenchmarkRevenue measures the invoices overview's figures for a
// reseller with 2,000 clients invoiced for 13 months (26,000 invoices):
// InvoiceOverview reads every invoice once.
func BenchmarkRevenue(b *testing.B) {
	clock := testkit.NewClock(time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC))
	s := testkit.OpenStore(b, clock)
	res, err := s.ReconcileResellers([]store.ResellerSpec{{Slug: "acme", Name: "Acme", Currency: "USD", OwnerEmail: "o@acme.example"}})
	if err != nil {
		b.Fatal(err)
	}
	r := res.NeedOwner[0]
	svc := New(s, nil, nil, nil)
	plan := &store.Plan{ResellerID: r.ID, Name: "Basic", Kind: store.PlanSubscription, MonthlyFee: 10 * u, IncludedSeats: 2, SeatFee: 5 * u, Status: store.CatalogActive}
	err = s.Update(func(tx *store.Tx) error {
		if err := store.PutCatalog(tx, plan); err != nil {
			return err
		}
		for i := range 2000 {
			name := fmt.Sprintf("c%04d", i)
			c := &store.Client{ResellerID: r.ID, Username: name, FirstName: "A", LastName: "B", Email: name + "@example.com", Country: "US"}
			if err := tx.CreateClient(c, &store.User{Email: name + "@example.com", PasswordHash: "x"}, "seed"); err != nil {
				return err
			}
			if err := tx.PutSubscription(&store.Subscription{ResellerID: r.ID, ClientID: c.ID, PlanID: plan.ID, Seats: 3,
				Status: store.SubscriptionActive, StartedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if run, err := svc.RunDue(context.Background()); err != nil || run.Created != 26_000 {
		b.Fatalf("run: %+v, %v", run, err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := svc.InvoiceOverview(r, InvoiceFilter{Status: "unpaid"}); err != nil {
			b.Fatal(err)
		}
	}
}
