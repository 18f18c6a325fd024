package billing

import (
	"time"

	"portico/store"
	"portico/store/money"
)

// Revenue is a reseller's billing at a glance, in its currency (minor
// units), for the current period of its time zone.
type Revenue struct {
	Currency string
	Period   Period
	// MRR is the monthly price, before tax, of the subscriptions the
	// invoice run bills (every one not canceled, of a client not closed):
	// each one's plan, extra seats and add-ons for a whole month
	// (Config.Monthly).
	MRR           int64
	Subscriptions int
	// Invoiced is the total of the invoices issued this period, void ones
	// left out.
	Invoiced      int64
	InvoicedCount int
	// Collected is what was paid this period on the reseller's invoices.
	Collected      int64
	CollectedCount int
	// Overdue is the amount due on unpaid invoices (open or
	// uncollectible) whose due date has passed.
	Overdue      int64
	OverdueCount int
}

// Revenue sums the reseller's subscriptions and invoices. Every sum is
// checked; an amount past what the store holds is money.ErrOverflow.
// Invoices in another currency than the reseller's (issued before a
// change of currency) are left out of the sums.
func (s *Service) Revenue(r *store.Reseller) (*Revenue, error) {
	rev, _, err := s.InvoiceOverview(r, InvoiceFilter{})
	return rev, err
}

// InvoiceTotals are the sums of the invoices a filter selects.
type InvoiceTotals struct {
	Count     int
	Total     int64
	AmountDue int64
}

// InvoiceTotals counts and sums every invoice f selects (its Before and
// Limit are ignored: the totals are of the whole filtered list).
func (s *Service) InvoiceTotals(rid uint64, f InvoiceFilter) (InvoiceTotals, error) {
	var out InvoiceTotals
	err := s.store.View(func(tx *store.Tx) error {
		var err error
		out, err = invoiceTotals(tx, rid, f)
		return err
	})
	if err != nil {
		return InvoiceTotals{}, err
	}
	return out, nil
}

// InvoiceOverview is what the invoices overview shows above its list, in
// one read of the reseller's invoices: the revenue (as Revenue) and the
// totals of the invoices f selects (as InvoiceTotals).
func (s *Service) InvoiceOverview(r *store.Reseller, f InvoiceFilter) (*Revenue, InvoiceTotals, error) {
	rev := &Revenue{Currency: r.Currency}
	var totals InvoiceTotals
	err := s.store.View(func(tx *store.Tx) error {
		now := tx.Now()
		rev.Period = PeriodOf(now, store.LocationOf(r))
		if err := mrr(tx, r, rev); err != nil {
			return err
		}
		var err error
		walkErr := tx.EachInvoiceFigures(r.ID, func(inv *store.InvoiceFigures) bool {
			if err = addTotals(&totals, f, inv); err == nil {
				err = addRevenue(rev, inv, now)
			}
			return err == nil
		})
		if walkErr != nil {
			return walkErr
		}
		return err
	})
	if err != nil {
		return nil, InvoiceTotals{}, err
	}
	return rev, totals, nil
}

// mrr adds up the monthly price of the subscriptions the invoice run
// bills.
func mrr(tx *store.Tx, r *store.Reseller, rev *Revenue) error {
	var subs []*store.Subscription
	if err := tx.Subscriptions(r.ID, func(sub *store.Subscription) bool {
		if sub.Status != store.SubscriptionCanceled {
			subs = append(subs, sub)
		}
		return true
	}); err != nil {
		return err
	}
	for _, sub := range subs {
		c, err := tx.Client(r.ID, sub.ClientID)
		if err != nil {
			return err
		}
		if c.Status == store.ClientClosed {
			continue
		}
		cfg, err := configOf(tx, r.ID, sub.PlanID, sub.Seats, sub.AddOns)
		if err != nil {
			return err
		}
		monthly, err := cfg.Monthly()
		if err != nil {
			return err
		}
		if rev.MRR, err = money.Add(rev.MRR, monthly); err != nil {
			return err
		}
		rev.Subscriptions++
	}
	return nil
}

// addRevenue counts one invoice into this period's figures.
func addRevenue(rev *Revenue, inv *store.InvoiceFigures, now time.Time) error {
	if inv.Currency != rev.Currency {
		return nil
	}
	in := func(t time.Time) bool { return !t.Before(rev.Period.Start) && t.Before(rev.Period.End) }
	var err error
	if inv.Status != store.InvoiceVoid && in(inv.IssuedAt) {
		if rev.Invoiced, err = money.Add(rev.Invoiced, inv.Total); err != nil {
			return err
		}
		rev.InvoicedCount++
	}
	if inv.Status == store.InvoicePaid && in(inv.PaidAt) {
		paid, err := money.Sub(inv.Total, inv.AmountDue)
		if err != nil {
			return err
		}
		if rev.Collected, err = money.Add(rev.Collected, paid); err != nil {
			return err
		}
		rev.CollectedCount++
	}
	if inv.Unpaid() && inv.DueAt.Before(now) {
		if rev.Overdue, err = money.Add(rev.Overdue, inv.AmountDue); err != nil {
			return err
		}
		rev.OverdueCount++
	}
	return nil
}

// addTotals counts one invoice into the totals when f selects it.
func addTotals(t *InvoiceTotals, f InvoiceFilter, inv *store.InvoiceFigures) error {
	if !f.matches(&store.Invoice{Status: inv.Status, ClientID: inv.ClientID, Period: inv.Period}) {
		return nil
	}
	total, err := money.Add(t.Total, inv.Total)
	if err != nil {
		return err
	}
	due, err := money.Add(t.AmountDue, inv.AmountDue)
	if err != nil {
		return err
	}
	t.Count, t.Total, t.AmountDue = t.Count+1, total, due
	return nil
}

// invoiceTotals sums the invoices f selects, through the client's index
// when f names a client.
func invoiceTotals(tx *store.Tx, rid uint64, f InvoiceFilter) (InvoiceTotals, error) {
	var out InvoiceTotals
	var err error
	add := func(inv *store.InvoiceFigures) bool {
		err = addTotals(&out, f, inv)
		return err == nil
	}
	var walkErr error
	if f.ClientID != 0 {
		walkErr = tx.ClientInvoices(rid, f.ClientID, func(inv *store.Invoice) bool {
			return add(&store.InvoiceFigures{ID: inv.ID, ClientID: inv.ClientID, Kind: inv.Kind, Period: inv.Period, Status: inv.Status,
				Currency: inv.Currency, IssuedAt: inv.IssuedAt, DueAt: inv.DueAt, PaidAt: inv.PaidAt, Total: inv.Total, AmountDue: inv.AmountDue})
		})
	} else {
		walkErr = tx.EachInvoiceFigures(rid, add)
	}
	if walkErr != nil {
		return InvoiceTotals{}, walkErr
	}
	return out, err
}
