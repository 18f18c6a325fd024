package billing

import (
	"context"
	"errors"
	"testing"
	"time"

	"portico/store"
)

// TestTransactionsAndMovements: the receivable's movements are the
// invoices issued, paid and voided, with what the client owes after each,
// newest first and paged without gaps; the wallet's are the credit
// movements; another reseller's client is not found. MarkPaidOnce tells a
// replay from a first payment.
func TestTransactionsAndMovements(t *testing.T) {
	f := newFixture(t, time.Date(2026, 3, 10, 19, 0, 0, 0, time.UTC))
	c := f.newClient("ann")
	if _, _, err := f.svc.ChangeSubscription(f.r, c.ID, Change{PlanID: f.basic.ID, Seats: 2}, staff); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.RunPeriod(context.Background(), f.r, "2026-03", staff); err != nil {
		t.Fatal(err)
	}
	_, up, err := f.svc.ChangeSubscription(f.r, c.ID, Change{PlanID: f.pro.ID, Seats: 2}, staff)
	if err != nil || up == nil {
		t.Fatalf("upgrade: %v %v", up, err)
	}
	march := f.invoices(c)[1]
	if _, replayed, err := f.svc.MarkPaidOnce(f.r.ID, march.ID, "bank 7", "k", staff); err != nil || replayed {
		t.Fatalf("mark paid: replayed %v, %v", replayed, err)
	}
	if _, replayed, err := f.svc.MarkPaidOnce(f.r.ID, march.ID, "bank 7", "k", staff); err != nil || !replayed {
		t.Fatalf("mark paid again: replayed %v, %v", replayed, err)
	}
	if _, err := f.svc.VoidInvoice(f.r.ID, up.ID, "by mistake", staff); err != nil {
		t.Fatal(err)
	}
	err = f.s.Update(func(tx *store.Tx) error { // some prepaid credit, which is no invoice movement
		_, err := tx.PostLedger(&store.LedgerTx{ResellerID: f.r.ID, Kind: store.KindGrant, Actor: "staff",
			Legs: []store.Leg{{Account: store.PoolOf(f.r.ID), Amount: -5 * u}, {Account: store.WalletOf(f.r.ID, c.ID), Amount: 5 * u}}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	all, more, err := f.svc.Transactions(f.r.ID, c.ID, 0, 0)
	if err != nil || more {
		t.Fatal(more, err)
	}
	type row struct {
		kind          string
		invoice       uint64
		amount, after int64
	}
	want := []row{
		{store.KindVoid, up.ID, -up.Total, 0},
		{store.KindPayment, march.ID, -march.Total, up.Total},
		{store.KindInvoice, up.ID, up.Total, march.Total + up.Total},
		{store.KindInvoice, march.ID, march.Total, march.Total},
	}
	if len(all) != len(want) {
		t.Fatalf("%d transactions, want %d: %+v", len(all), len(want), all)
	}
	for i, m := range all {
		if got := (row{m.Kind, m.InvoiceID(), m.Amount, m.BalanceAfter}); got != want[i] {
			t.Errorf("transaction %d: %+v, want %+v", i, got, want[i])
		}
	}
	var paged []Movement
	for before := uint64(0); ; {
		page, more, err := f.svc.Transactions(f.r.ID, c.ID, before, 3)
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, page...)
		if !more {
			break
		}
		before = page[len(page)-1].ID
	}
	if len(paged) != len(all) {
		t.Fatalf("paged %d, whole %d", len(paged), len(all))
	}
	for i := range all {
		if paged[i] != all[i] {
			t.Errorf("page row %d: %+v, want %+v", i, paged[i], all[i])
		}
	}

	credit, _, err := f.svc.CreditMovements(f.r.ID, c.ID, 0, 0)
	if err != nil || len(credit) != 1 || credit[0].Kind != store.KindGrant || credit[0].Amount != 5*u || credit[0].BalanceAfter != 5*u {
		t.Fatalf("credit movements %+v, %v", credit, err)
	}
	var globex *store.Reseller
	_ = f.s.View(func(tx *store.Tx) error { globex, err = tx.ResellerBySlug("globex"); return err })
	if _, _, err := f.svc.Transactions(globex.ID, c.ID, 0, 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another reseller's client: %v", err)
	}
}
