package billing

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"portico/app/actor"
	"portico/app/fault"
	"portico/store"
	"portico/store/money"
)

// MaxSeats caps a subscription's seats.
const MaxSeats = 10_000

// SubscriptionView is a client's subscription with what it refers to, as
// pages and the API show it.
type SubscriptionView struct {
	Sub       *store.Subscription
	Plan      *store.Plan
	AddOns    []*store.AddOn
	SeatsUsed int
	Period    Period
	// PendingPlan and PendingAddOns resolve Sub.Pending (nil without one).
	PendingPlan   *store.Plan
	PendingAddOns []*store.AddOn
}

// Change is a requested subscription: the plan, seats and add-ons the
// client wants.
type Change struct {
	PlanID uint64
	Seats  int
	AddOns []uint64
	// DueNow, when set, is the amount due now that the person confirming
	// was shown (a preview's, or 0 for a Cancel): if the change would
	// charge another amount when it is made, nothing changes and
	// ChangeSubscription returns ErrDueMoved.
	DueNow *int64
}

// ErrDueMoved: the amount due now is no longer the one the confirmation
// carried (a day passed, prices or the subscription changed).
var ErrDueMoved error = &fault.Error{Kind: fault.Conflict, Message: "The amount due now changed since the preview; nothing was changed."}

// Preview is what a change would do: the proration invoice's lines and
// the amount due now (tax included), and when the change takes effect.
type Preview struct {
	Lines       []store.InvoiceLine
	Subtotal    int64
	Tax         int64
	DueNow      int64
	EffectiveAt time.Time
	// Deferred is the part of the change that waits for the period end
	// (nil when everything applies now).
	Deferred *store.PendingChange
	Currency string
}

// seatsUsed counts the client's users who hold a seat: every user who is
// not disabled (an invitation holds its seat).
func seatsUsed(tx *store.Tx, rid, cid uint64) (int, error) {
	users, err := tx.ClientUsers(rid, cid)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, u := range users {
		if u.Status != store.UserDisabled {
			n++
		}
	}
	return n, nil
}

func loadAddOns(tx *store.Tx, rid uint64, ids []uint64) ([]*store.AddOn, error) {
	out := make([]*store.AddOn, 0, len(ids))
	for _, id := range ids {
		a, err := store.Catalog[*store.AddOn](tx, rid, id)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// configOf resolves a subscription's plan and add-ons.
func configOf(tx *store.Tx, rid uint64, planID uint64, seats int, addOns []uint64) (Config, error) {
	p, err := store.Catalog[*store.Plan](tx, rid, planID)
	if err != nil {
		return Config{}, err
	}
	as, err := loadAddOns(tx, rid, addOns)
	if err != nil {
		return Config{}, err
	}
	return Config{Plan: p, Seats: seats, AddOns: as}, nil
}

// Subscription returns the client's subscription, or a fault.NotFound
// when it has none.
func (s *Service) Subscription(r *store.Reseller, cid uint64) (*SubscriptionView, error) {
	var v *SubscriptionView
	err := s.store.View(func(tx *store.Tx) error {
		var err error
		v, err = subscriptionView(tx, r, cid)
		return err
	})
	return v, err
}

func subscriptionView(tx *store.Tx, r *store.Reseller, cid uint64) (*SubscriptionView, error) {
	if _, err := tx.Client(r.ID, cid); err != nil {
		return nil, err
	}
	sub, err := tx.Subscription(r.ID, cid)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fault.New(fault.NotFound, "The client has no subscription.")
	}
	if err != nil {
		return nil, err
	}
	cfg, err := configOf(tx, r.ID, sub.PlanID, sub.Seats, sub.AddOns)
	if err != nil {
		return nil, err
	}
	used, err := seatsUsed(tx, r.ID, cid)
	if err != nil {
		return nil, err
	}
	v := &SubscriptionView{Sub: sub, Plan: cfg.Plan, AddOns: cfg.AddOns, SeatsUsed: used, Period: PeriodOf(tx.Now(), store.LocationOf(r))}
	if sub.Pending != nil {
		pc, err := configOf(tx, r.ID, sub.Pending.PlanID, sub.Pending.Seats, sub.Pending.AddOns)
		if err != nil {
			return nil, err
		}
		v.PendingPlan, v.PendingAddOns = pc.Plan, pc.AddOns
	}
	return v, nil
}

// plan is what a change decides: the configuration that applies now, the
// one (if any) that waits for the period end, and the proration invoice.
type plan struct {
	sub      *store.Subscription // as it will be saved
	now      Config              // in effect after the change
	invoice  *store.Invoice      // proration invoice to issue (nil: none)
	carried  []store.InvoiceLine // lines for the next period invoice
	preview  Preview
	starting bool
}

// decide validates a change against the catalogue and the client's team,
// and works out what it does, without writing. The rules: a new
// subscription starts now (its first period is billed by day by the
// period invoice, or carried to the next one when this period's invoice
// is out). A change of plan applies at once when the new configuration
// costs more a month (an upgrade: prorated now) and at the period end
// otherwise. On the same plan, added seats and add-ons apply now
// (prorated), removed ones at the period end.
func decide(tx *store.Tx, r *store.Reseller, cid uint64, ch Change) (*plan, error) {
	r, err := tx.Reseller(r.ID) // the seller's tax settings as they are now
	if err != nil {
		return nil, err
	}
	c, err := tx.Client(r.ID, cid)
	if err != nil {
		return nil, err
	}
	used, err := seatsUsed(tx, r.ID, cid)
	if err != nil {
		return nil, err
	}
	var errs fault.Fields
	newPlan, err := store.Catalog[*store.Plan](tx, r.ID, ch.PlanID)
	if errors.Is(err, store.ErrNotFound) {
		errs.Add("plan", "There is no such plan.")
	} else if err != nil {
		return nil, err
	}
	old, err := tx.Subscription(r.ID, cid)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if old != nil && old.Status == store.SubscriptionCanceled {
		old = nil
	}
	if newPlan != nil && newPlan.Status != store.CatalogActive && (old == nil || old.PlanID != newPlan.ID) {
		errs.Add("plan", "This plan is archived and takes no new subscribers.")
	}
	switch {
	case ch.Seats < 1:
		errs.Add("seats", "At least one seat.")
	case ch.Seats > MaxSeats:
		errs.Add("seats", fmt.Sprintf("At most %d seats.", MaxSeats))
	case ch.Seats < used:
		errs.Add("seats", fmt.Sprintf("The team has %d users; seats cannot be fewer. Disable users first.", used))
	}
	addOnIDs := slices.Compact(slices.Sorted(slices.Values(ch.AddOns)))
	if len(addOnIDs) > maxCatalogRefs { // more than any plan offers: one message, not one per id
		errs.Add("add_ons", fmt.Sprintf("At most %d add-ons.", maxCatalogRefs))
		addOnIDs = nil
	}
	for _, id := range addOnIDs {
		if _, err := store.Catalog[*store.AddOn](tx, r.ID, id); errors.Is(err, store.ErrNotFound) {
			errs.Add("add_ons", fmt.Sprintf("There is no add-on %d.", id))
		} else if err != nil {
			return nil, err
		} else if newPlan != nil && !slices.Contains(newPlan.AddOns, id) {
			errs.Add("add_ons", fmt.Sprintf("The plan %s does not offer add-on %d.", newPlan.Name, id))
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	loc := store.LocationOf(r)
	now := tx.Now()
	period := PeriodOf(now, loc)
	requested, err := configOf(tx, r.ID, ch.PlanID, ch.Seats, addOnIDs)
	if err != nil {
		return nil, err
	}
	p := &plan{preview: Preview{Currency: r.Currency, EffectiveAt: now}}
	if old == nil { // a new subscription: nothing is issued now
		p.starting = true
		p.sub = &store.Subscription{ResellerID: r.ID, ClientID: cid, PlanID: ch.PlanID, Seats: ch.Seats,
			AddOns: addOnIDs, Status: store.SubscriptionActive, StartedAt: now}
		p.now = requested
		if _, err := tx.PeriodInvoice(r.ID, cid, period.Name); err == nil {
			// this period is invoiced already: its remaining days go on the next one
			if p.carried, err = periodLines(requested, period, period.DaysFrom(now), r.Currency); err != nil {
				return nil, money.ErrOverflow
			}
			p.sub.Billed, p.sub.BilledPeriod = billedPrices(requested), period.Name
		}
		p.preview.Lines = p.carried
		return p, nil
	}
	current, err := configOf(tx, r.ID, old.PlanID, old.Seats, old.AddOns)
	if err != nil {
		return nil, err
	}
	sub := *old
	sub.Pending = nil
	immediate := current
	var deferred bool
	if ch.PlanID != old.PlanID {
		curM, err := current.Monthly()
		if err != nil {
			return nil, err
		}
		reqM, err := requested.Monthly()
		if err != nil {
			return nil, err
		}
		if reqM > curM {
			immediate = requested
		} else {
			deferred = true
		}
	} else {
		immediate.Seats = max(old.Seats, ch.Seats)
		immediate.AddOns = slices.Clone(requested.AddOns)
		var ids []uint64
		for _, a := range current.AddOns {
			if !slices.Contains(addOnIDs, a.ID) {
				immediate.AddOns = append(immediate.AddOns, a) // removed: kept until the period end
			}
		}
		for _, a := range immediate.AddOns {
			ids = append(ids, a.ID)
		}
		deferred = ch.Seats < old.Seats || len(ids) != len(addOnIDs)
	}
	sub.PlanID, sub.Seats = immediate.Plan.ID, immediate.Seats
	sub.AddOns = nil
	for _, a := range immediate.AddOns {
		sub.AddOns = append(sub.AddOns, a.ID)
	}
	if deferred {
		sub.Pending = &store.PendingChange{PlanID: ch.PlanID, Seats: ch.Seats, AddOns: addOnIDs, EffectiveAt: period.End}
		p.preview.Deferred = sub.Pending
		p.preview.EffectiveAt = period.End
	}
	p.sub, p.now = &sub, immediate
	if _, err := tx.PeriodInvoice(r.ID, cid, period.Name); errors.Is(err, store.ErrNotFound) {
		return p, nil // this period's invoice is still to come: it bills the configuration then in effect
	} else if err != nil {
		return nil, err
	}
	var billed map[string]int64 // what this period's invoices charged for each part
	if old.BilledPeriod == period.Name {
		billed = old.Billed
	}
	lines, err := changeLinesBilled(current, immediate, period, period.DaysFrom(now), r.Currency, billed)
	if err != nil {
		return nil, err
	}
	// from now on a part is billed at the price it was charged at now; an
	// unchanged part keeps the price its period invoice charged
	sub.Billed, sub.BilledPeriod = billedPrices(immediate), period.Name
	for _, n := range immediate.components() {
		if v, ok := billed[n.key]; ok && slices.ContainsFunc(current.components(), func(o component) bool {
			return o.key == n.key && o.unitPrice == n.unitPrice && o.quantity == n.quantity
		}) {
			sub.Billed[n.key] = v
		}
	}
	if len(lines) == 0 {
		return p, nil
	}
	inv := &store.Invoice{ResellerID: r.ID, ClientID: cid, Kind: store.InvoiceProration, Currency: r.Currency,
		PeriodStart: period.Start, PeriodEnd: period.End, Lines: lines}
	if err := finish(inv, TaxFor(r.Seller, taxedAs(c))); err != nil {
		return nil, err
	}
	p.preview.Lines, p.preview.Subtotal, p.preview.Tax = lines, inv.Subtotal, inv.Tax
	if inv.Total > 0 {
		p.invoice = inv
		p.preview.DueNow = inv.Total
	} else if inv.Subtotal != 0 { // a credit: it reduces the next period invoice
		p.carried = lines
	}
	return p, nil
}

// PreviewChange says what ChangeSubscription would do, changing nothing.
func (s *Service) PreviewChange(r *store.Reseller, cid uint64, ch Change) (*Preview, error) {
	var out *Preview
	err := s.store.View(func(tx *store.Tx) error {
		p, err := decide(tx, r, cid, ch)
		if err != nil {
			return err
		}
		out = &p.preview
		return nil
	})
	return out, overflowToField(err)
}

// ChangeSubscription starts or changes the client's subscription, issuing
// the proration invoice of an upgrade in the same transaction, and
// returns the subscription as it is now and the invoice (nil when none).
func (s *Service) ChangeSubscription(r *store.Reseller, cid uint64, ch Change, by actor.Actor) (*SubscriptionView, *store.Invoice, error) {
	var view *SubscriptionView
	var issued *store.Invoice
	err := s.store.Update(func(tx *store.Tx) error {
		p, err := decide(tx, r, cid, ch)
		if err != nil {
			return err
		}
		if ch.DueNow != nil && p.preview.DueNow != *ch.DueNow { // checked where the change is made: no race with a price change
			return ErrDueMoved
		}
		p.sub.Carried = append(p.sub.Carried, p.carried...)
		if err := tx.PutSubscription(p.sub); err != nil {
			return err
		}
		if p.invoice != nil {
			c, err := tx.Client(r.ID, cid)
			if err != nil {
				return err
			}
			if err := s.issue(tx, r, c, p.invoice, by.Name); err != nil {
				return err
			}
			issued = p.invoice
		}
		action := "subscription.change"
		if p.starting {
			action = "subscription.start"
		}
		if err := tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, ClientID: cid, Actor: by.Name, Action: action,
			Target: fmt.Sprintf("plan %d, %d seats", ch.PlanID, ch.Seats), IP: by.IP}); err != nil {
			return err
		}
		view, err = subscriptionView(tx, r, cid)
		return err
	})
	if err != nil {
		return nil, nil, overflowToField(err)
	}
	if issued != nil {
		s.wakeMail() // the proration invoice's mail
	}
	return view, issued, nil
}

// overflowToField turns an amount past what the store holds into a
// refusal the caller can show.
func overflowToField(err error) error {
	if errors.Is(err, money.ErrOverflow) {
		return fault.Fields{{Field: "plan", Message: "The amounts of this change are too large."}}
	}
	return err
}
