package billing

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"portico/app/actor"
	"portico/app/fault"
	"portico/app/textfield"
	"portico/store"
)

// InvoiceFilter narrows an invoice list.
type InvoiceFilter struct {
	// Status is open, paid, void, uncollectible, unpaid (open and
	// uncollectible) or "" / "all".
	Status   string
	ClientID uint64 // 0: every client (reseller lists only)
	Period   string // YYYY-MM of a period invoice, "" for any
	// Before lists invoices older than this id (the cursor; 0: newest).
	Before uint64
	Limit  int
}

// ValidStatusFilter reports whether f.Status is one a list accepts.
func ValidStatusFilter(status string) bool {
	switch status {
	case "", "all", "unpaid", store.InvoiceOpen, store.InvoicePaid, store.InvoiceVoid, store.InvoiceUncollectible:
		return true
	}
	return false
}

func (f InvoiceFilter) matches(inv *store.Invoice) bool {
	switch f.Status {
	case "", "all":
	case "unpaid":
		if !inv.Unpaid() {
			return false
		}
	default:
		if inv.Status != f.Status {
			return false
		}
	}
	if f.ClientID != 0 && inv.ClientID != f.ClientID {
		return false
	}
	return f.Period == "" || inv.Period == f.Period
}

// Invoices lists invoices newest first, at most f.Limit of them; more
// reports whether older ones match too.
func (s *Service) Invoices(rid uint64, f InvoiceFilter) (out []*store.Invoice, more bool, err error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	err = s.store.View(func(tx *store.Tx) error {
		collect := func(inv *store.Invoice) bool {
			if f.Before != 0 && inv.ID >= f.Before {
				return true
			}
			if !f.matches(inv) {
				return true
			}
			if len(out) == f.Limit {
				more = true
				return false
			}
			out = append(out, inv)
			return true
		}
		if f.ClientID != 0 {
			return tx.ClientInvoices(rid, f.ClientID, collect)
		}
		return tx.Invoices(rid, f.Before, collect)
	})
	return out, more, err
}

// Invoice returns one invoice of the reseller; with cid other than 0 it
// must be that client's (another client's is not found).
func (s *Service) Invoice(rid, cid, id uint64) (*store.Invoice, error) {
	var inv *store.Invoice
	err := s.store.View(func(tx *store.Tx) error {
		var err error
		inv, err = tx.Invoice(rid, id)
		return err
	})
	if err == nil && cid != 0 && inv.ClientID != cid {
		return nil, fmt.Errorf("billing: invoice %d of another client: %w", id, store.ErrNotFound)
	}
	return inv, err
}

// InvoiceLogo is the logo an invoice froze (nil when none).
func (s *Service) InvoiceLogo(inv *store.Invoice) []byte {
	var logo []byte
	_ = s.store.View(func(tx *store.Tx) error {
		logo = tx.InvoiceLogo(inv.ResellerID, inv.Brand.LogoSHA256)
		return nil
	})
	return logo
}

// VoidInvoice voids an open invoice with a reason; its number stays used.
func (s *Service) VoidInvoice(rid, id uint64, reason string, by actor.Actor) (*store.Invoice, error) {
	reason = strings.TrimSpace(reason)
	var errs fault.Fields
	switch {
	case reason == "":
		errs.Add("reason", "Say why the invoice is void.")
	case textfield.SingleLine(reason) != "":
		errs.Add("reason", textfield.SingleLineMessage)
	case utf8.RuneCountInString(reason) > 500:
		errs.Add("reason", "Use at most 500 characters.")
	}
	if len(errs) > 0 {
		return nil, errs
	}
	inv, _, err := s.setStatus(rid, id, store.InvoiceStatusChange{Status: store.InvoiceVoid, Note: reason, Actor: by.Name}, "invoice.void", by)
	return inv, err
}

// MarkPaid records an invoice paid by hand (a bank transfer): a ledger
// movement like any payment. The same idempotency key with the same
// reference returns the invoice as it is; with another reference it is a
// conflict.
func (s *Service) MarkPaid(rid, id uint64, reference, idempotencyKey string, by actor.Actor) (*store.Invoice, error) {
	inv, _, err := s.MarkPaidOnce(rid, id, reference, idempotencyKey, by)
	return inv, err
}

// MarkPaidOnce is MarkPaid that also reports whether the request was a
// replay of an earlier one with the same idempotency key (which changed
// nothing), as the API tells its caller.
func (s *Service) MarkPaidOnce(rid, id uint64, reference, idempotencyKey string, by actor.Actor) (*store.Invoice, bool, error) {
	reference = strings.TrimSpace(reference)
	var errs fault.Fields
	switch {
	case textfield.SingleLine(reference) != "":
		errs.Add("reference", textfield.SingleLineMessage)
	case utf8.RuneCountInString(reference) > 200:
		errs.Add("reference", "Use at most 200 characters.")
	}
	if len(errs) > 0 {
		return nil, false, errs
	}
	hash := ""
	if idempotencyKey != "" {
		sum := sha256.Sum256([]byte(fmt.Sprintf("mark-paid\x00%d\x00%s", id, reference)))
		hash = hex.EncodeToString(sum[:])
	}
	return s.setStatus(rid, id, store.InvoiceStatusChange{Status: store.InvoicePaid, Note: reference,
		IdempotencyKey: idempotencyKey, RequestHash: hash, Actor: by.Name}, "invoice.paid", by)
}

// MarkUncollectible gives up collecting an open invoice; the client still
// owes it and may still pay it.
func (s *Service) MarkUncollectible(rid, id uint64, by actor.Actor) (*store.Invoice, error) {
	inv, _, err := s.setStatus(rid, id, store.InvoiceStatusChange{Status: store.InvoiceUncollectible, Actor: by.Name}, "invoice.uncollectible", by)
	return inv, err
}

func (s *Service) setStatus(rid, id uint64, ch store.InvoiceStatusChange, action string, by actor.Actor) (*store.Invoice, bool, error) {
	var inv *store.Invoice
	var replayed bool
	err := s.store.Update(func(tx *store.Tx) error {
		var err error
		inv, replayed, err = tx.SetInvoiceStatus(rid, id, ch)
		if err != nil || replayed {
			return err
		}
		return tx.AddAudit(&store.AuditEvent{ResellerID: rid, ClientID: inv.ClientID, Actor: by.Name, Action: action, Target: inv.Number, IP: by.IP})
	})
	if errors.Is(err, store.ErrInvoiceState) {
		return nil, false, fault.Wrap(fault.Conflict, fmt.Sprintf("The invoice is %s; that change is not possible.", statusOf(s, rid, id)), err)
	}
	return inv, replayed, err
}

func statusOf(s *Service, rid, id uint64) string {
	inv, err := s.Invoice(rid, 0, id)
	if err != nil {
		return "in another status"
	}
	return inv.Status
}
