package app

import (
	"context"
	"strings"
	"testing"

	"portico/app/actor"
	"portico/app/billing"
	"portico/store"
)

// TestInvoiceMailedWithPDF: an issued invoice is mailed, through the real
// SMTP sender, to each of the client's invoice emails with its PDF
// attached (rendered when sent) and a link on the reseller's canonical
// host; nothing else is mailed.
func TestInvoiceMailedWithPDF(t *testing.T) {
	t.Parallel()
	in, smtp := withSMTP(t)
	ts := newServerWith(t, false, "test.portico", twoResellers(), smtp)
	rid := ts.ids["acme"]
	var r *store.Reseller
	var cl *store.Client
	plan := &store.Plan{ResellerID: rid, Name: "Basic", Kind: store.PlanSubscription, MonthlyFee: 10 * 10_000, IncludedSeats: 1, Status: store.CatalogActive}
	err := ts.store.Update(func(tx *store.Tx) error {
		var err error
		if r, err = tx.Reseller(rid); err != nil {
			return err
		}
		if cl, err = tx.ClientByUsername(rid, "cleo"); err != nil {
			return err
		}
		return store.PutCatalog(tx, plan)
	})
	if err != nil {
		t.Fatal(err)
	}
	svc := ts.services.Billing
	by := actor.Actor{Name: "test"}
	if _, err := svc.SetBillingDetails(r, cl.ID, store.BillingDetails{Country: "US", InvoiceEmails: []string{"ap@cleo.example", "cfo@cleo.example"}}, by); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.ChangeSubscription(r, cl.ID, billing.Change{PlanID: plan.ID, Seats: 1}, by); err != nil {
		t.Fatal(err)
	}
	period := billing.PeriodOf(ts.clock.Now(), store.LocationOf(r)).Name
	if res, err := svc.RunPeriod(context.Background(), r, period, by); err != nil || res.Created != 1 {
		t.Fatalf("run: %+v %v", res, err)
	}
	got := map[string]bool{}
	for range 2 {
		m := in.next()
		if len(m.To) != 1 {
			t.Fatalf("recipients %v", m.To)
		}
		got[m.To[0]] = true
		if !strings.Contains(m.Subject, "Invoice ACME-") || !strings.Contains(m.Body, "application/pdf") ||
			!strings.Contains(m.Body, ".pdf") || !strings.Contains(m.Body, "http://"+acmeDomain) {
			t.Errorf("invoice mail to %s: %q\n%.2000s", m.To[0], m.Subject, m.Body)
		}
	}
	if !got["ap@cleo.example"] || !got["cfo@cleo.example"] {
		t.Errorf("mailed to %v", got)
	}
}
