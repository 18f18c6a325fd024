package store

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

func testInvoice(rid, cid uint64, period string, amounts ...int64) *Invoice {
	inv := &Invoice{ResellerID: rid, ClientID: cid, Kind: InvoicePeriod, Period: period}
	if period == "" {
		inv.Kind = InvoiceProration
	}
	for _, a := range amounts {
		inv.Lines = append(inv.Lines, InvoiceLine{Kind: "plan", Description: "x", Quantity: 1, UnitPrice: a, Amount: a})
		inv.Subtotal += a
	}
	inv.Total = inv.Subtotal
	return inv
}

// TestIssueInvoiceNumbersAndPeriodKey: numbers are gap-free per reseller
// across kinds and resellers do not share a sequence; a second invoice for
// a (client, period) is refused and takes no number; concurrent issuers
// never share or skip a number.
func TestIssueInvoiceNumbersAndPeriodKey(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	rs := seed(t, s)
	acme, globex := rs["acme"].ID, rs["globex"].ID
	ann, bob := newClient(t, s, acme, "ann"), newClient(t, s, globex, "bob")
	issue := func(inv *Invoice) error {
		return s.Update(func(tx *Tx) error { return tx.IssueInvoice(inv, nil, "test") })
	}
	first := testInvoice(acme, ann.ID, "2026-03", 100)
	if err := issue(first); err != nil {
		t.Fatal(err)
	}
	if err := issue(testInvoice(acme, ann.ID, "2026-03", 100)); !errors.Is(err, ErrInvoiceExists) {
		t.Fatalf("second March invoice: %v", err)
	}
	if err := issue(testInvoice(globex, bob.ID, "2026-03", 100)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if err := issue(testInvoice(acme, ann.ID, "", 50)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	seqs := map[uint64]bool{}
	err := s.View(func(tx *Tx) error {
		return tx.ClientInvoices(acme, ann.ID, func(inv *Invoice) bool {
			seqs[inv.Seq] = true
			if !strings.HasPrefix(inv.Number, "ACME-") {
				t.Errorf("number %s", inv.Number)
			}
			return true
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= 21; seq++ {
		if !seqs[seq] {
			t.Errorf("sequence %d missing", seq)
		}
	}
	if len(seqs) != 21 {
		t.Errorf("%d sequences, want 21", len(seqs))
	}
	verifyClean(t, s)
	// a bad total is refused before anything is written
	bad := testInvoice(acme, ann.ID, "2026-04", 100)
	bad.Total = 99
	if err := issue(bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad total: %v", err)
	}
	verifyClean(t, s)
}

// TestVerifyReportsBrokenInvoices: verify finds a hand-edited total, a
// paid invoice without its payment and a number taken out of sequence.
func TestVerifyReportsBrokenInvoices(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		corrupt func(tx *Tx, inv *Invoice) error
		want    string
	}{
		{"total edited", func(tx *Tx, inv *Invoice) error {
			inv.Total++
			return put(tx.bucket(bucketInvoices), tenantKey(inv.ResellerID, inv.ID), inv)
		}, "is not total"},
		{"paid without payment", func(tx *Tx, inv *Invoice) error {
			inv.Status, inv.AmountDue = InvoicePaid, 0
			return put(tx.bucket(bucketInvoices), tenantKey(inv.ResellerID, inv.ID), inv)
		}, "no payment"},
		{"counter skipped", func(tx *Tx, inv *Invoice) error {
			return tx.bucket(bucketInvoiceCounters).Put(u64(inv.ResellerID), u64(5))
		}, "gap-free"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, rid, ann := openWithAnn(t)
			inv := testInvoice(rid, ann.ID, "2026-03", 100)
			if err := s.Update(func(tx *Tx) error { return tx.IssueInvoice(inv, nil, "test") }); err != nil {
				t.Fatal(err)
			}
			verifyClean(t, s)
			if err := s.Update(func(tx *Tx) error { return tc.corrupt(tx, inv) }); err != nil {
				t.Fatal(err)
			}
			problems, err := s.Verify()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(strings.Join(problems, "\n"), tc.want) {
				t.Errorf("verify: %q, want a problem with %q", problems, tc.want)
			}
		})
	}
}
