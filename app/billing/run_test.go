package billing

import (
	"context"
	"fmt"
	"testing"
	"time"

	"portico/app/fault"
	"portico/app/testkit"
	"portico/store"
)

// zoneFixture: one reseller "zone" in tz with the Basic plan (10.00 a
// month, 2 seats included, 5.00 a seat) and n clients subscribed with 2
// seats since start; the clock at t0.
func zoneFixture(t *testing.T, tz string, t0, start time.Time, n int) *fixture {
	t.Helper()
	clock := testkit.NewClock(t0)
	s := testkit.OpenStore(t, clock)
	res, err := s.ReconcileResellers([]store.ResellerSpec{{Slug: "zone", Name: "Zone", Currency: "USD", OwnerEmail: "o@zone.example", Timezone: tz}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, s: s, svc: New(s, nil, nil, nil), clock: clock, r: res.NeedOwner[0]}
	f.basic = &store.Plan{ResellerID: f.r.ID, Name: "Basic", Kind: store.PlanSubscription, MonthlyFee: 10 * u, IncludedSeats: 2, SeatFee: 5 * u, Status: store.CatalogActive}
	err = s.Update(func(tx *store.Tx) error {
		if err := store.PutCatalog(tx, f.basic); err != nil {
			return err
		}
		for i := range n {
			name := fmt.Sprintf("c%03d", i)
			c := &store.Client{ResellerID: f.r.ID, Username: name, FirstName: "A", LastName: "B", Email: name + "@example.com", Country: "US"}
			if err := tx.CreateClient(c, &store.User{Email: name + "@example.com", PasswordHash: "x"}, "seed"); err != nil {
				return err
			}
			if err := tx.PutSubscription(&store.Subscription{ResellerID: f.r.ID, ClientID: c.ID, PlanID: f.basic.ID, Seats: 2,
				Status: store.SubscriptionActive, StartedAt: start}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// periodInvoices are the reseller's period invoices of period.
func (f *fixture) periodInvoices(period string) []*store.Invoice {
	f.t.Helper()
	var out []*store.Invoice
	err := f.s.View(func(tx *store.Tx) error {
		return tx.Invoices(f.r.ID, 0, func(inv *store.Invoice) bool {
			if inv.Kind == store.InvoicePeriod && inv.Period == period {
				out = append(out, inv)
			}
			return true
		})
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

// TestHourlyRunsAcrossDST: hourly runs in UTC over the night of 1 November
// 2026, when New York's November begins (00:00 EDT = 04:00 UTC) and two
// hours later the clocks go back: no run before 04:00 UTC issues a
// November invoice, the run at 04:00 issues all of them, and none of the
// eleven runs after it issues anything again. November's 30 days and one
// hour are one whole month: the full fee.
func TestHourlyRunsAcrossDST(t *testing.T) {
	t.Parallel()
	const clients = 4
	f := zoneFixture(t, "America/New_York", time.Date(2026, 10, 31, 20, 0, 0, 0, time.UTC),
		time.Date(2026, 10, 1, 4, 0, 0, 0, time.UTC), clients) // since 1 October, 00:00 EDT
	if res, err := f.svc.RunDue(context.Background()); err != nil || res.Created != clients {
		t.Fatalf("October: %+v %v", res, err)
	}
	for hour := 20; hour <= 20+16; hour++ { // 31 October 20:00 UTC to 1 November 12:00 UTC
		now := f.clock.Now()
		res, err := f.svc.RunDue(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		if now.Equal(time.Date(2026, 11, 1, 4, 0, 0, 0, time.UTC)) {
			want = clients
		}
		if res.Created != want || len(res.Failed) > 0 {
			t.Fatalf("run at %s: %+v, want %d created", now.Format(time.RFC3339), res, want)
		}
		f.clock.Advance(time.Hour)
	}
	nov := f.periodInvoices("2026-11")
	if len(nov) != clients {
		t.Fatalf("%d November invoices, want %d", len(nov), clients)
	}
	for _, inv := range nov {
		if !inv.PeriodStart.Equal(time.Date(2026, 11, 1, 4, 0, 0, 0, time.UTC)) || !inv.PeriodEnd.Equal(time.Date(2026, 12, 1, 5, 0, 0, 0, time.UTC)) {
			t.Errorf("%s covers %s to %s", inv.Number, inv.PeriodStart.UTC(), inv.PeriodEnd.UTC())
		}
		if inv.Total != 10*u || !inv.IssuedAt.Equal(time.Date(2026, 11, 1, 4, 0, 0, 0, time.UTC)) {
			t.Errorf("%s: total %d issued %s", inv.Number, inv.Total, inv.IssuedAt.UTC())
		}
	}
	f.verify()
}

// TestRunEastOfUTC: a Tokyo reseller's May begins on 30 April at 15:00
// UTC, while it is still April in UTC: a run an hour before issues
// nothing and refuses May by hand, a run at that moment issues May.
func TestRunEastOfUTC(t *testing.T) {
	t.Parallel()
	const clients = 3
	f := zoneFixture(t, "Asia/Tokyo", time.Date(2026, 4, 30, 14, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 31, 15, 0, 0, 0, time.UTC), clients) // since 1 April, 00:00 JST
	if res, err := f.svc.RunDue(context.Background()); err != nil || res.Created != clients {
		t.Fatalf("April: %+v %v", res, err)
	}
	if _, err := f.svc.RunPeriod(context.Background(), f.r, "2026-05", staff); !fault.Is(err, fault.Invalid) {
		t.Fatalf("May at 23:00 JST: %v", err)
	}
	f.clock.Advance(time.Hour) // 30 April 15:00 UTC = 1 May 00:00 JST
	res, err := f.svc.RunDue(context.Background())
	if err != nil || res.Created != clients || res.Existing != 0 { // April is behind it: not looked at again
		t.Fatalf("May: %+v %v", res, err)
	}
	may := f.periodInvoices("2026-05")
	if len(may) != clients || !may[0].PeriodStart.Equal(f.clock.Now()) || may[0].Number != "ZONE-2026-000006" {
		t.Fatalf("May invoices: %d, first %+v", len(may), may[0])
	}
	if res, err := f.svc.RunPeriod(context.Background(), f.r, "2026-05", staff); err != nil || res.Existing != clients || res.Created != 0 {
		t.Fatalf("May by hand after the run: %+v %v", res, err)
	}
	f.verify()
}

// TestCatchUpBound: a client subscribed 30 months ago and never invoiced
// gets the invoices of the last MaxCatchUp periods, the current one
// included, and no older ones.
func TestCatchUpBound(t *testing.T) {
	t.Parallel()
	f := zoneFixture(t, "", time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC), time.Date(2023, 12, 1, 0, 0, 0, 0, time.UTC), 1)
	res, err := f.svc.RunDue(context.Background())
	if err != nil || res.Created != MaxCatchUp {
		t.Fatalf("catch-up: %+v %v, want %d created", res, err, MaxCatchUp)
	}
	if got := f.periodInvoices("2024-07"); len(got) != 1 {
		t.Fatalf("the oldest period caught up (2024-07): %d invoices", len(got))
	}
	if got := f.periodInvoices("2024-06"); len(got) != 0 {
		t.Fatalf("a period older than the bound was invoiced")
	}
	if res, err := f.svc.RunDue(context.Background()); err != nil || res.Created != 0 {
		t.Fatalf("second run: %+v %v", res, err)
	}
	f.verify()
}
