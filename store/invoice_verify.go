package store

import (
	"bytes"
	"strconv"
	"strings"

	"portico/store/money"
)

// verifyInvoices checks, per reseller: invoice numbers are gap-free from 1
// to the counter and increase with issue order; each invoice's totals are
// the checked sum of its lines plus tax; each period invoice is the one
// its (client, period) key names; each invoice is indexed; a paid invoice
// has its payment in the ledger; and each client's receivable equals what
// its unpaid invoices still ask.
func (tx *Tx) verifyInvoices(add addFunc) error {
	type seen struct {
		seqs  map[uint64]string
		count uint64
		last  uint64 // seq of the previous invoice in id (issue) order
	}
	per := map[uint64]*seen{}
	owed := map[AccountKey]int64{}
	paid := map[uint64]map[string]bool{} // rid → references with a payment
	if err := tx.bucket(bucketLedger).ForEach(func(k, v []byte) error {
		var t LedgerTx
		if err := unmarshal(v, &t); err != nil {
			return err
		}
		for _, l := range t.Legs {
			if l.Account.Kind == AccountReceivable && tx.bucket(bucketReceivableLedger).Get(clientLedgerKey(t.ResellerID, l.Account.ClientID, t.ID)) == nil {
				add("ledger transaction %d/%d: missing from client %d's receivable index", t.ResellerID, t.ID, l.Account.ClientID)
			}
		}
		if t.Kind == KindPayment {
			if paid[t.ResellerID] == nil {
				paid[t.ResellerID] = map[string]bool{}
			}
			paid[t.ResellerID][t.Reference] = true
		}
		return nil
	}); err != nil {
		return err
	}
	periods, clientIdx, numbers := tx.bucket(bucketInvoicePeriods), tx.bucket(bucketClientInvoices), tx.bucket(bucketInvoiceNumbers)
	err := tx.bucket(bucketInvoices).ForEach(func(k, v []byte) error {
		var inv Invoice
		if err := unmarshal(v, &inv); err != nil {
			return err
		}
		rid := readU64(k[:8])
		s := per[rid]
		if s == nil {
			s = &seen{seqs: map[uint64]string{}}
			per[rid] = s
		}
		name := inv.Number
		if prev, dup := s.seqs[inv.Seq]; dup {
			add("invoice %s: sequence %d is also %s", name, inv.Seq, prev)
		}
		s.seqs[inv.Seq] = name
		s.count++
		if inv.Seq <= s.last {
			add("invoice %s: sequence %d is not above the previous invoice's %d", name, inv.Seq, s.last)
		}
		s.last = inv.Seq
		if !strings.HasSuffix(name, strconv.FormatUint(inv.Seq, 10)) {
			add("invoice %s: number does not end in its sequence %d", name, inv.Seq)
		}
		if err := inv.CheckTotals(); err != nil {
			add("invoice %s: %v", name, err)
		}
		if inv.Kind == InvoicePeriod {
			id := periods.Get(invoicePeriodKey(rid, inv.ClientID, inv.Period))
			if id == nil || readU64(id) != inv.ID {
				add("invoice %s: the period index of client %d, %s does not name it", name, inv.ClientID, inv.Period)
			}
		}
		if clientIdx.Get(append(tenantKey(rid, inv.ClientID), u64(inv.ID)...)) == nil {
			add("invoice %s: missing from its client's index", name)
		}
		if id := numbers.Get(tenantStringKey(rid, inv.Number)); id == nil || readU64(id) != inv.ID {
			add("invoice %s: the number index does not name it", name)
		}
		if inv.Status == InvoicePaid && inv.Kind != InvoiceReceipt && !paid[rid][invoiceRef(inv.ID)] {
			add("invoice %s: paid, but the ledger has no payment for it", name)
		}
		if inv.Unpaid() {
			a := ReceivableOf(rid, inv.ClientID)
			sum, err := money.Add(owed[a], inv.AmountDue)
			if err != nil {
				add("invoice %s: unpaid amounts of client %d overflow", name, inv.ClientID)
			}
			owed[a] = sum
		}
		return nil
	})
	if err != nil {
		return err
	}
	for rid, s := range per {
		counter := tx.LastInvoiceSeq(rid)
		if s.count != counter {
			add("reseller %d: %d invoices, but the counter is at %d (numbers must be gap-free)", rid, s.count, counter)
		}
		for seq := uint64(1); seq <= counter && seq <= s.count+1; seq++ {
			if _, ok := s.seqs[seq]; !ok {
				add("reseller %d: invoice sequence %d is missing", rid, seq)
			}
		}
	}
	// every client receivable must equal its unpaid invoices
	c := tx.bucket(bucketAccounts).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) <= 16 || !bytes.Equal(k[16:], []byte(AccountReceivable)) {
			continue
		}
		a := accountKeyFrom(k)
		if got, want := readBalance(v), owed[a]; got != want {
			add("client %d/%d: receivable %d, but its unpaid invoices ask %d", a.ResellerID, a.ClientID, got, want)
		}
		delete(owed, a)
	}
	for a, want := range owed {
		if want != 0 {
			add("client %d/%d: unpaid invoices ask %d, but it has no receivable", a.ResellerID, a.ClientID, want)
		}
	}
	// the period index names only invoices that exist
	return periods.ForEach(func(k, v []byte) error {
		if _, err := tx.Invoice(readU64(k[:8]), readU64(v)); err != nil {
			add("period index %d/%d %s: no invoice %d", readU64(k[:8]), readU64(k[8:16]), k[16:], readU64(v))
		}
		return nil
	})
}
