package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"portico/app/actor"
	"portico/app/fault"
	"portico/store"
	"portico/store/money"
)

// issue freezes the seller, buyer and brand into inv, stores it with its
// number and ledger movement, and queues its mail: all in tx.
func (s *Service) issue(tx *store.Tx, r *store.Reseller, c *store.Client, inv *store.Invoice, by string) error {
	logo, err := logoIn(tx, r.ID)
	if err != nil {
		return err
	}
	return s.issueWith(tx, r, logo, c, inv, by)
}

// logoIn is the reseller's logo as it is in tx (nil when it has none).
func logoIn(tx *store.Tx, rid uint64) (*store.BrandAsset, error) {
	a, err := tx.BrandAsset(rid, store.AssetLogo)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return a, err
}

// issueWith is issue with the reseller's logo read already: an invoice
// run reads it once per transaction, not once per invoice.
func (s *Service) issueWith(tx *store.Tx, r *store.Reseller, logo *store.BrandAsset, c *store.Client, inv *store.Invoice, by string) error {
	inv.Seller = sellerParty(r)
	inv.Buyer = buyerParty(c)
	inv.Brand = store.InvoiceBrand{ProductName: brandName(r), PrimaryColor: r.Brand.PrimaryColor,
		AccentColor: r.Brand.AccentColor, Footer: r.Seller.Footer}
	var data []byte
	if logo != nil {
		// the store hashes the logo only when it does not keep these bytes
		// under this digest yet
		data, inv.Brand.LogoSHA256 = logo.Data, logo.SHA256
	}
	if err := tx.IssueInvoice(inv, data, by); err != nil {
		return err
	}
	if err := tx.AddAudit(&store.AuditEvent{ResellerID: r.ID, ClientID: c.ID, Actor: by, Action: "invoice.issue",
		Target: inv.Number}); err != nil {
		return err
	}
	return s.mailInvoice(tx, r, c, inv)
}

func brandName(r *store.Reseller) string {
	if r.Brand.ProductName != "" {
		return r.Brand.ProductName
	}
	return r.Name
}

func sellerParty(r *store.Reseller) store.Party {
	sd := r.Seller
	name := sd.LegalName
	if name == "" {
		name = r.Name
	}
	return store.Party{Name: name, VATNumber: sd.VATNumber, Address1: sd.Address1, Address2: sd.Address2,
		City: sd.City, Zip: sd.Zip, State: sd.State, Country: sd.Country}
}

func buyerParty(c *store.Client) store.Party {
	b := c.Billing
	p := store.Party{Name: c.Name(), Company: b.Company, VATNumber: b.VATNumber, Emails: invoiceEmails(c),
		Address1: b.Address1, Address2: b.Address2, City: b.City, Zip: b.Zip, State: b.State, Country: b.Country}
	if p.Company == "" {
		p.Company = c.Company
	}
	if b.Address1 == "" && b.City == "" { // no billing address yet: the client's own
		p.Address1, p.Address2, p.City, p.Zip, p.State = c.Address1, c.Address2, c.City, c.Zip, c.State
		if p.Country == "" {
			p.Country = c.Country
		}
	}
	return p
}

// taxedAs is the buyer tax is decided for: the client's billing details,
// in the country its invoices show (its own when the details name none).
func taxedAs(c *store.Client) store.BillingDetails {
	b := c.Billing
	if b.Country == "" {
		b.Country = buyerParty(c).Country
	}
	return b
}

// invoiceEmails are where a client's invoices go: its invoice emails, or
// the client's own email.
func invoiceEmails(c *store.Client) []string {
	if len(c.Billing.InvoiceEmails) > 0 {
		return c.Billing.InvoiceEmails
	}
	return []string{c.Email}
}

// mailInvoice queues the invoice's mail to each invoice email, with the
// PDF attached (rendered when the mail is sent).
func (s *Service) mailInvoice(tx *store.Tx, r *store.Reseller, c *store.Client, inv *store.Invoice) error {
	if s.mail == nil || s.letter == nil {
		return nil
	}
	link, err := s.letter.Link(tx, r, fmt.Sprintf("/settings/billing/invoices/%d", inv.ID))
	if err != nil {
		return err
	}
	due := inv.DueAt.In(store.LocationOf(r)).Format("2 January 2006")
	body := fmt.Sprintf("Hello,\n\nyour invoice %s from %s is attached.\n\nTotal: %s\nDue: %s\n\nSee it online: %s\n\n%s\n",
		inv.Number, s.letter.BrandName(r), money.Format(inv.Total, inv.Currency), due, link, s.letter.SenderName(r))
	for _, to := range invoiceEmails(c) {
		m := &store.MailMessage{ResellerID: r.ID, FromName: s.letter.SenderName(r), To: to,
			Subject: fmt.Sprintf("Invoice %s from %s", inv.Number, s.letter.BrandName(r)), Text: body}
		m.Attachments = []store.MailAttachment{{Name: inv.Number + ".pdf", ContentType: "application/pdf",
			Ref: InvoiceRef(r.ID, inv.ID)}}
		if err := s.mail.Enqueue(tx, m); err != nil {
			return err
		}
	}
	return nil
}

// InvoiceRef names an invoice's PDF for a mail attachment.
func InvoiceRef(rid, id uint64) string { return fmt.Sprintf("invoice:%d:%d", rid, id) }

// composePeriod builds the period invoice of client c for p (nil when
// there is nothing to bill), applying a pending change that took effect
// by the period's start. It writes nothing; apply does.
type periodDraft struct {
	invoice *store.Invoice
	sub     *store.Subscription // to save (pending applied, carried lines taken); nil: unchanged
	setup   []*store.PhoneNumber
}

func composePeriod(tx *store.Tx, r *store.Reseller, c *store.Client, p Period) (*periodDraft, error) {
	d := &periodDraft{}
	inv := &store.Invoice{ResellerID: r.ID, ClientID: c.ID, Kind: store.InvoicePeriod, Period: p.Name,
		PeriodStart: p.Start, PeriodEnd: p.End, Currency: r.Currency}
	sub, err := tx.Subscription(r.ID, c.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if sub != nil && sub.Status != store.SubscriptionCanceled {
		changed := false
		if pc := sub.Pending; pc != nil && !pc.EffectiveAt.After(p.Start) {
			sub.PlanID, sub.Seats, sub.AddOns, sub.Pending = pc.PlanID, pc.Seats, pc.AddOns, nil
			changed = true
		}
		if days := subscribedDays(sub, p); days > 0 {
			cfg, err := configOf(tx, r.ID, sub.PlanID, sub.Seats, sub.AddOns)
			if err != nil {
				return nil, err
			}
			lines, err := periodLines(cfg, p, days, r.Currency)
			if err != nil {
				return nil, err
			}
			inv.Lines = append(inv.Lines, lines...)
			if len(lines) > 0 && p.Name >= sub.BilledPeriod { // the prices a change in this period credits (not a catch-up of an older one)
				sub.Billed, sub.BilledPeriod, changed = billedPrices(cfg), p.Name, true
			}
			if len(sub.Carried) > 0 {
				inv.Lines = append(inv.Lines, sub.Carried...)
				sub.Carried, changed = nil, true
			}
		}
		if changed {
			d.sub = sub
		}
	}
	numbers, err := tx.ClientNumbers(r.ID, c.ID)
	if err != nil {
		return nil, err
	}
	lines, setup, err := numberLines(numbers, p)
	if err != nil {
		return nil, err
	}
	inv.Lines = append(inv.Lines, lines...)
	d.setup = setup
	if len(inv.Lines) == 0 {
		if d.sub == nil && len(setup) == 0 {
			return nil, nil
		}
		return d, nil // nothing to bill, but a pending change to apply
	}
	if err := finish(inv, TaxFor(r.Seller, taxedAs(c))); err != nil {
		return nil, err
	}
	if inv.Total < 0 { // credits larger than the period's charges: wait for a later period
		return nil, nil
	}
	d.invoice = inv
	return d, nil
}

// RunResult counts what an invoice run did.
type RunResult struct {
	Created  int `json:"created"`
	Existing int `json:"existing"`
	// Failed names clients whose invoice could not be issued (an amount
	// out of range); the run goes on with the others.
	Failed []string `json:"-"`
}

// RunPeriod issues the period invoice of every client of r for the
// period named (YYYY-MM), which must have begun in r's time zone. It is
// idempotent: a (client, period) pair invoiced before counts as existing
// and is not issued again, whether by an earlier run, one interrupted
// mid-way, or one running at the same time.
func (s *Service) RunPeriod(ctx context.Context, r *store.Reseller, name string, by actor.Actor) (RunResult, error) {
	loc := store.LocationOf(r)
	p, err := ParsePeriod(name, loc)
	if err != nil {
		return RunResult{}, fault.Fields{{Field: "period", Message: "A period is YYYY-MM."}}
	}
	if !p.Begun(s.store.Now()) {
		return RunResult{}, fault.Fields{{Field: "period", Message: fmt.Sprintf("The period %s has not begun in %s yet.", p.Name, loc)}}
	}
	return s.runPeriod(ctx, r, p, by.Name)
}

func (s *Service) runPeriod(ctx context.Context, r *store.Reseller, p Period, by string) (RunResult, error) {
	var res RunResult
	var ids []uint64
	err := s.store.View(func(tx *store.Tx) error {
		return tx.Clients(r.ID, func(c *store.Client) bool {
			switch {
			case c.Status == store.ClientClosed:
			case tx.PeriodInvoiced(r.ID, c.ID, p.Name): // a re-run writes nothing for these
				res.Existing++
			default:
				ids = append(ids, c.ID)
			}
			return true
		})
	})
	if err != nil {
		return res, err
	}
	for len(ids) > 0 {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		n := min(len(ids), s.batch)
		batch := ids[:n]
		ids = ids[n:]
		var br RunResult
		err := s.store.Update(func(tx *store.Tx) error {
			br = RunResult{}
			seller, err := sellerIn(tx, r.ID)
			if err != nil {
				return err
			}
			for _, cid := range batch {
				created, err := s.invoicePeriod(tx, seller, cid, p, by)
				if err != nil {
					return fmt.Errorf("client %d: %w", cid, err)
				}
				if created {
					br.Created++
				} else {
					br.Existing++
				}
			}
			return nil
		})
		if err != nil && len(batch) > 1 { // one client's problem must not hold up the rest
			br = RunResult{}
			for _, cid := range batch {
				var created bool
				e := s.store.Update(func(tx *store.Tx) error {
					seller, err := sellerIn(tx, r.ID)
					if err != nil {
						return err
					}
					created, err = s.invoicePeriod(tx, seller, cid, p, by)
					return err
				})
				switch {
				case e != nil:
					s.log.Error("invoice run: client not invoiced", "reseller", r.Slug, "client", cid, "period", p.Name, "err", e)
					br.Failed = append(br.Failed, fmt.Sprint(cid))
				case created:
					br.Created++
				default:
					br.Existing++
				}
			}
		} else if err != nil {
			s.log.Error("invoice run: client not invoiced", "reseller", r.Slug, "client", batch[0], "period", p.Name, "err", err)
			br.Failed = append(br.Failed, fmt.Sprint(batch[0]))
		}
		if br.Created > 0 {
			s.wakeMail() // the batch's invoice mails are committed
		}
		res.Created += br.Created
		res.Existing += br.Existing
		res.Failed = append(res.Failed, br.Failed...)
		s.log.Debug("invoice run: batch committed", "reseller", r.Slug, "period", p.Name, "created", br.Created,
			"existing", br.Existing, "failed", len(br.Failed), "left", len(ids))
	}
	return res, nil
}

// seller is the reseller as one transaction of an invoice run sees it:
// its seller details, brand and tax rates, and its logo, read once for
// the whole batch (they cannot change within the transaction).
type seller struct {
	r    *store.Reseller
	logo *store.BrandAsset
}

func sellerIn(tx *store.Tx, rid uint64) (*seller, error) {
	r, err := tx.Reseller(rid) // as it is now, not as the run began
	if err != nil {
		return nil, err
	}
	logo, err := logoIn(tx, rid)
	if err != nil {
		return nil, err
	}
	return &seller{r: r, logo: logo}, nil
}

// invoicePeriod issues client cid's invoice of p in tx unless it exists;
// created reports whether one was issued. A client with nothing to bill
// counts as existing.
func (s *Service) invoicePeriod(tx *store.Tx, sl *seller, cid uint64, p Period, by string) (created bool, err error) {
	r := sl.r
	if tx.PeriodInvoiced(r.ID, cid, p.Name) { // by a run at the same time, since the client list was read
		return false, nil
	}
	c, err := tx.Client(r.ID, cid)
	if err != nil {
		return false, err
	}
	d, err := composePeriod(tx, r, c, p)
	if err != nil || d == nil {
		return false, err
	}
	if d.sub != nil {
		if err := tx.PutSubscription(d.sub); err != nil {
			return false, err
		}
	}
	if d.invoice == nil {
		return false, nil
	}
	for _, n := range d.setup {
		n.SetupInvoiced = true
		if err := tx.PutNumber(n, false); err != nil {
			return false, err
		}
	}
	if err := s.issueWith(tx, r, sl.logo, c, d.invoice, by); err != nil {
		return false, err
	}
	return true, nil
}

// JobName is the actor of the scheduled invoice run.
const JobName = "job:invoices"

// RunDue issues, for every active reseller, the period invoices of every
// period that has begun in its time zone and is not invoiced yet, from
// the oldest period a client's subscription or numbers need (catching up
// after downtime) to the current one.
func (s *Service) RunDue(ctx context.Context) (RunResult, error) {
	var total RunResult
	var resellers []*store.Reseller
	if err := s.store.View(func(tx *store.Tx) error {
		var err error
		resellers, err = tx.Resellers()
		return err
	}); err != nil {
		return total, err
	}
	for _, r := range resellers {
		if !r.Active() {
			continue
		}
		first, err := s.firstDuePeriod(r)
		if err != nil {
			return total, err
		}
		if first == nil {
			continue
		}
		current := PeriodOf(s.store.Now(), store.LocationOf(r))
		for p := *first; !p.Start.After(current.Start); p = p.Next() {
			res, err := s.runPeriod(ctx, r, p, JobName)
			if err != nil {
				return total, err
			}
			total.Created += res.Created
			total.Existing += res.Existing
			total.Failed = append(total.Failed, res.Failed...)
		}
	}
	return total, nil
}

// firstDuePeriod is the oldest period any client of r may still need an
// invoice for: that of the earliest subscription start or number
// assignment, but no earlier than the period after the newest invoiced
// one... bounded to MaxCatchUp periods back.
func (s *Service) firstDuePeriod(r *store.Reseller) (*Period, error) {
	loc := store.LocationOf(r)
	now := s.store.Now()
	var first *Period
	consider := func(t time.Time) {
		if t.IsZero() {
			return
		}
		p := PeriodOf(t, loc)
		if first == nil || p.Start.Before(first.Start) {
			first = &p
		}
	}
	err := s.store.View(func(tx *store.Tx) error {
		if err := tx.Subscriptions(r.ID, func(sub *store.Subscription) bool {
			if sub.Status != store.SubscriptionCanceled {
				consider(s.resumeFrom(tx, r, sub.ClientID, sub.StartedAt))
			}
			return true
		}); err != nil {
			return err
		}
		return tx.Numbers(r.ID, "", func(n *store.PhoneNumber) bool {
			if n.Status == store.NumberAssigned {
				consider(s.resumeFrom(tx, r, n.ClientID, n.AssignedAt))
			}
			return true
		})
	})
	if err != nil || first == nil {
		return nil, err
	}
	oldest := PeriodOf(now, loc)
	for range MaxCatchUp - 1 {
		y, m, _ := oldest.Start.Date()
		oldest = periodFrom(y, m-1, loc)
	}
	if first.Start.Before(oldest.Start) {
		first = &oldest
	}
	return first, nil
}

// resumeFrom is when client cid's invoicing may still be due: from since,
// or from the period after its latest period invoice when that is later.
func (s *Service) resumeFrom(tx *store.Tx, r *store.Reseller, cid uint64, since time.Time) time.Time {
	latest := tx.LatestPeriodInvoiced(r.ID, cid)
	if latest == "" {
		return since
	}
	p, err := ParsePeriod(latest, store.LocationOf(r))
	if err != nil || p.End.Before(since) {
		return since
	}
	return p.End
}

// MaxCatchUp is how many periods back (the current one included) a run
// still issues missed invoices.
const MaxCatchUp = 24
