package store

import (
	"bytes"
	"time"
)

// InvoiceFigures are the fields of an invoice that sums and filters over
// many invoices read (the invoices overview's totals and revenue): read
// without the lines, parties and history, which make most of a record.
type InvoiceFigures struct {
	ID        uint64    `json:"id"`
	ClientID  uint64    `json:"client_id"`
	Kind      string    `json:"kind"`
	Period    string    `json:"period"`
	Status    string    `json:"status"`
	Currency  string    `json:"currency"`
	IssuedAt  time.Time `json:"issued_at"`
	DueAt     time.Time `json:"due_at"`
	PaidAt    time.Time `json:"paid_at"`
	Total     int64     `json:"total"`
	AmountDue int64     `json:"amount_due"`
}

// Unpaid reports whether the invoice still waits for money, as
// Invoice.Unpaid.
func (f *InvoiceFigures) Unpaid() bool {
	return f.Status == InvoiceOpen || f.Status == InvoiceUncollectible
}

// EachInvoiceFigures calls fn with the figures of every invoice of the
// reseller, in id order; fn returning false stops the walk.
func (tx *Tx) EachInvoiceFigures(rid uint64, fn func(*InvoiceFigures) bool) error {
	prefix := u64(rid)
	c := tx.bucket(bucketInvoices).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var f InvoiceFigures
		if err := unmarshal(v, &f); err != nil {
			return err
		}
		if !fn(&f) {
			return nil
		}
	}
	return nil
}
