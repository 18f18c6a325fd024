package store

import "testing"

// TestEachInvoiceFigures: the figures are those of the reseller's own
// invoices, as the full records have them, status changes included.
func TestEachInvoiceFigures(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	rs := seed(t, s)
	acme, globex := rs["acme"].ID, rs["globex"].ID
	ann, bob := newClient(t, s, acme, "ann"), newClient(t, s, globex, "bob")
	for _, inv := range []*Invoice{testInvoice(acme, ann.ID, "2026-03", 100), testInvoice(globex, bob.ID, "2026-03", 300), testInvoice(acme, ann.ID, "", 50)} {
		if err := s.Update(func(tx *Tx) error { return tx.IssueInvoice(inv, nil, "test") }); err != nil {
			t.Fatal(err)
		}
	}
	err := s.Update(func(tx *Tx) error {
		_, _, err := tx.SetInvoiceStatus(acme, 1, InvoiceStatusChange{Status: InvoicePaid, Note: "T-1", Actor: "test"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(func(tx *Tx) error {
		var got []*InvoiceFigures
		if err := tx.EachInvoiceFigures(acme, func(f *InvoiceFigures) bool { got = append(got, f); return true }); err != nil {
			return err
		}
		if len(got) != 2 {
			t.Fatalf("%d invoices of acme, want 2", len(got))
		}
		for _, f := range got {
			inv, err := tx.Invoice(acme, f.ID)
			if err != nil {
				return err
			}
			want := InvoiceFigures{ID: inv.ID, ClientID: inv.ClientID, Kind: inv.Kind, Period: inv.Period, Status: inv.Status, Currency: inv.Currency,
				IssuedAt: inv.IssuedAt, DueAt: inv.DueAt, PaidAt: inv.PaidAt, Total: inv.Total, AmountDue: inv.AmountDue}
			if !f.IssuedAt.Equal(want.IssuedAt) || !f.DueAt.Equal(want.DueAt) || !f.PaidAt.Equal(want.PaidAt) {
				t.Errorf("invoice %d: times %+v, want %+v", f.ID, f, want)
			}
			f.IssuedAt, f.DueAt, f.PaidAt = want.IssuedAt, want.DueAt, want.PaidAt
			if *f != want {
				t.Errorf("invoice %d: %+v, want %+v", f.ID, *f, want)
			}
			if f.Unpaid() != inv.Unpaid() {
				t.Errorf("invoice %d: unpaid %v", f.ID, f.Unpaid())
			}
		}
		if got[0].Status != InvoicePaid || got[0].PaidAt.IsZero() || got[1].Total != 50 {
			t.Errorf("figures %+v %+v", *got[0], *got[1])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
