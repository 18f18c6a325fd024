package billing

import (
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
	out := &Revenue{Currency: r.Currency}
	err := s.store.View(func(tx *store.Tx) error {
		now := tx.Now()
		out.Period = PeriodOf(now, store.LocationOf(r))
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
			if out.MRR, err = money.Add(out.MRR, monthly); err != nil {
				return err
			}
			out.Subscriptions++
		}
		var err error
		walkErr := tx.Invoices(r.ID, 0, func(inv *store.Invoice) bool {
			if inv.Currency != r.Currency {
				return true
			}
			if inv.Status != store.InvoiceVoid && !inv.IssuedAt.Before(out.Period.Start) && inv.IssuedAt.Before(out.Period.End) {
				if out.Invoiced, err = money.Add(out.Invoiced, inv.Total); err != nil {
					return false
				}
				out.InvoicedCount++
			}
			if inv.Status == store.InvoicePaid && !inv.PaidAt.Before(out.Period.Start) && inv.PaidAt.Before(out.Period.End) {
				var paid int64
				if paid, err = money.Sub(inv.Total, inv.AmountDue); err != nil {
					return false
				}
				if out.Collected, err = money.Add(out.Collected, paid); err != nil {
					return false
				}
				out.CollectedCount++
			}
			if inv.Unpaid() && inv.DueAt.Before(now) {
				if out.Overdue, err = money.Add(out.Overdue, inv.AmountDue); err != nil {
					return false
				}
				out.OverdueCount++
			}
			return true
		})
		if walkErr != nil {
			return walkErr
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
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
	var sumErr error
	err := s.store.View(func(tx *store.Tx) error {
		add := func(inv *store.Invoice) bool {
			if !f.matches(inv) {
				return true
			}
			if out.Total, sumErr = money.Add(out.Total, inv.Total); sumErr != nil {
				return false
			}
			if out.AmountDue, sumErr = money.Add(out.AmountDue, inv.AmountDue); sumErr != nil {
				return false
			}
			out.Count++
			return true
		}
		if f.ClientID != 0 {
			return tx.ClientInvoices(rid, f.ClientID, add)
		}
		return tx.Invoices(rid, 0, add)
	})
	if err == nil {
		err = sumErr
	}
	if err != nil {
		return InvoiceTotals{}, err
	}
	return out, nil
}
