package billing

import (
	"time"

	"portico/store"
)

// Estimate is what a client's next period invoice will bill if nothing
// changes before it is issued: the lines the invoice run would compose
// now, with tax. The client's Billing page shows it beside the date.
type Estimate struct {
	Period Period
	// IssueAt is when the invoice run issues it: the period's start, or
	// now when the period has begun and its invoice is still to come (a
	// subscription started after this period's run).
	IssueAt  time.Time
	Lines    []store.InvoiceLine // none: nothing to bill
	Subtotal int64
	Tax      int64
	TaxRate  int // basis points
	TaxNote  string
	Total    int64
	Currency string
}

// EstimateNext composes client cid's next period invoice without writing
// anything: this period's when it is still to be issued and has something
// to bill, otherwise the next period's (a pending change that takes effect
// by then applied, carried lines and number setup fees included), taxed
// with the seller's settings and the client's billing details as they are
// now. A client of another reseller is store.ErrNotFound.
func (s *Service) EstimateNext(r *store.Reseller, cid uint64) (*Estimate, error) {
	var out *Estimate
	err := s.store.View(func(tx *store.Tx) error {
		r, err := tx.Reseller(r.ID) // the seller's tax settings as they are now
		if err != nil {
			return err
		}
		c, err := tx.Client(r.ID, cid) // tenant scope
		if err != nil {
			return err
		}
		now := tx.Now()
		current := PeriodOf(now, store.LocationOf(r))
		var d *periodDraft
		p := current
		if !tx.PeriodInvoiced(r.ID, cid, current.Name) { // the period's key, as the invoice run reads it: no invoice decoded
			if d, err = composePeriod(tx, r, c, current); err != nil {
				return err
			}
		}
		if d == nil || d.invoice == nil {
			p = current.Next()
			if d, err = composePeriod(tx, r, c, p); err != nil {
				return err
			}
		}
		out = &Estimate{Period: p, IssueAt: p.Start, Currency: r.Currency}
		if now.After(p.Start) {
			out.IssueAt = now
		}
		if d != nil && d.invoice != nil {
			inv := d.invoice
			out.Lines, out.Subtotal, out.Tax, out.TaxRate, out.TaxNote, out.Total = inv.Lines, inv.Subtotal, inv.Tax, inv.TaxRate, inv.TaxNote, inv.Total
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
