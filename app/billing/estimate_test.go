package billing

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"portico/store"
)

// sameBill fails unless the estimate bills exactly what the invoice does.
func sameBill(t *testing.T, what string, e *Estimate, inv *store.Invoice) {
	t.Helper()
	if !slices.Equal(e.Lines, inv.Lines) || e.Subtotal != inv.Subtotal || e.Tax != inv.Tax || e.Total != inv.Total || e.TaxRate != inv.TaxRate {
		t.Errorf("%s: estimate %+v (subtotal %d tax %d total %d), invoice %+v (subtotal %d tax %d total %d)",
			what, e.Lines, e.Subtotal, e.Tax, e.Total, inv.Lines, inv.Subtotal, inv.Tax, inv.Total)
	}
}

// TestEstimateNext: the estimate of the next invoice is the invoice the
// run then issues — a pending downgrade applied, carried lines and tax
// included — dated at the next period's start in the reseller's zone; a
// subscription started after this period's run is estimated on this
// period's invoice, due now; a client without anything to bill gets an
// empty estimate, and another reseller's client is not found.
func TestEstimateNext(t *testing.T) {
	// 10 March 2026, 15:00 in New York
	f := newFixture(t, time.Date(2026, 3, 10, 19, 0, 0, 0, time.UTC))
	if _, err := f.svc.SetSellerDetails(f.r.ID, store.SellerDetails{Country: "US", TaxRates: map[string]int{"US": 825}}, staff); err != nil {
		t.Fatal(err)
	}
	ann := f.newClient("ann")
	if _, _, err := f.svc.ChangeSubscription(f.r, ann.ID, Change{PlanID: f.pro.ID, Seats: 6, AddOns: []uint64{f.addon.ID}}, staff); err != nil {
		t.Fatal(err)
	}

	// March is not invoiced yet: the estimate is March's invoice, by day, due now
	e, err := f.svc.EstimateNext(f.r, ann.ID)
	if err != nil {
		t.Fatal(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	if e.Period.Name != "2026-03" || !e.IssueAt.Equal(f.clock.Now()) || len(e.Lines) != 3 || e.TaxRate != 825 || e.Tax == 0 || e.Currency != "USD" {
		t.Fatalf("estimate before March's run: %+v", e)
	}
	if _, err := f.svc.RunPeriod(context.Background(), f.r, "2026-03", staff); err != nil {
		t.Fatal(err)
	}
	sameBill(t, "March", e, f.invoices(ann)[0])

	// a downgrade waits for April: the estimate of April bills Basic
	if _, _, err := f.svc.ChangeSubscription(f.r, ann.ID, Change{PlanID: f.basic.ID, Seats: 3}, staff); err != nil {
		t.Fatal(err)
	}
	e, err = f.svc.EstimateNext(f.r, ann.ID)
	if err != nil {
		t.Fatal(err)
	}
	april := time.Date(2026, 4, 1, 0, 0, 0, 0, ny)
	// Basic 10.00 + 1 extra seat 5.00, 8.25 % tax
	if e.Period.Name != "2026-04" || !e.IssueAt.Equal(april) || e.Subtotal != 15*u || e.Tax != 12400 || e.Total != 15*u+12400 {
		t.Fatalf("estimate of April: %+v", e)
	}
	f.clock.Advance(april.Add(time.Minute).Sub(f.clock.Now()))
	if _, err := f.svc.RunPeriod(context.Background(), f.r, "2026-04", staff); err != nil {
		t.Fatal(err)
	}
	sameBill(t, "April", e, f.invoices(ann)[0])

	// after April's run, the estimate moves on to May
	if e, err = f.svc.EstimateNext(f.r, ann.ID); err != nil || e.Period.Name != "2026-05" || e.Total != 15*u+12400 {
		t.Fatalf("estimate after April's run: %+v, %v", e, err)
	}

	// nothing to bill: an empty estimate of the next period
	bob := f.newClient("bob")
	if e, err = f.svc.EstimateNext(f.r, bob.ID); err != nil || e.Period.Name != "2026-05" || len(e.Lines) != 0 || e.Total != 0 {
		t.Fatalf("estimate without a subscription: %+v, %v", e, err)
	}

	// another reseller's client is not found; nothing was written
	var globex *store.Reseller
	if err := f.s.View(func(tx *store.Tx) (err error) { globex, err = tx.ResellerBySlug("globex"); return err }); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.EstimateNext(globex, ann.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another reseller's client: %v", err)
	}
	f.verify()
}
